package telegramtest

import (
	"encoding/json"
	"strconv"
	"time"
)

// Update is a message the bot "received", for getUpdates.
type Update struct {
	ChatID   int64
	ChatType string // private, group, supergroup, channel; default from the id's sign
	Title    string // group title, or the user's first name for private chats
	Username string
	ThreadID int    // forum topic id; the chat is then a forum
	Topic    string // forum topic name, sent as reply_to_message.forum_topic_created
	Text     string
}

// AddUpdate queues updates for getUpdates, as if users wrote to the bot.
func (s *Server) AddUpdate(updates ...Update) {
	for _, u := range updates {
		raw, err := json.Marshal(updateObject(u))
		if err != nil {
			panic(err) // maps of plain values always marshal
		}
		s.AddRawUpdate(raw)
	}
}

// AddRawUpdate queues one Update object in Bot API JSON; its update_id is
// assigned by the fake.
func (s *Server) AddRawUpdate(raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		panic("telegramtest: AddRawUpdate: " + err.Error())
	}
	s.updateID++
	obj["update_id"] = json.RawMessage(strconv.Itoa(s.updateID))
	raw, _ = json.Marshal(obj)
	s.updates = append(s.updates, raw)
}

func updateObject(u Update) map[string]any {
	typ := u.ChatType
	if typ == "" {
		typ = "private"
		if u.ChatID < 0 {
			typ = "supergroup"
		}
	}
	chat := map[string]any{"id": u.ChatID, "type": typ}
	if typ == "private" {
		chat["first_name"] = u.Title
	} else if u.Title != "" {
		chat["title"] = u.Title
	}
	if u.Username != "" {
		chat["username"] = u.Username
	}
	msg := map[string]any{"message_id": 100, "date": time.Now().Unix(), "chat": chat, "text": u.Text}
	if u.ThreadID != 0 {
		chat["is_forum"] = true
		msg["message_thread_id"] = u.ThreadID
		msg["is_topic_message"] = true
		msg["reply_to_message"] = map[string]any{
			"message_id": u.ThreadID, "date": time.Now().Unix(), "chat": chat,
			"message_thread_id": u.ThreadID, "is_topic_message": true,
			"forum_topic_created": map[string]any{"name": u.Topic, "icon_color": 7322096},
		}
	}
	kind := "message"
	if typ == "channel" {
		kind = "channel_post"
	}
	return map[string]any{kind: msg}
}

// getUpdates returns pending updates; offset confirms earlier ones.
func (s *Server) getUpdates(p map[string]string) (any, *apiError) {
	offset, ok1 := intParam(p["offset"])
	limit, ok2 := intParam(p["limit"])
	if !ok1 || !ok2 {
		return nil, badRequest("invalid offset or limit")
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset > 0 {
		kept := s.updates[:0]
		for _, raw := range s.updates {
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(raw, &id)
			if id.UpdateID >= offset {
				kept = append(kept, raw)
			}
		}
		s.updates = kept
	}
	out := append([]json.RawMessage{}, s.updates[:min(int(limit), len(s.updates))]...)
	return out, nil
}
