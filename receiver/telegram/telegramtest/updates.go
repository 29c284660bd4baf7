package telegramtest

import (
	"context"
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
	s.notify() // wake a long poll
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

// getUpdates returns pending updates; offset confirms earlier ones. With
// a timeout it waits (long polling) until an update arrives. As in the Bot
// API, a newer getUpdates terminates one still waiting with 409 "Conflict:
// terminated by other getUpdates request" (two receivers polling one bot).
// allowed_updates filters the kinds returned.
func (s *Server) getUpdates(ctx context.Context, p map[string]string) (any, *apiError) {
	offset, ok1 := intParam(p["offset"])
	limit, ok2 := intParam(p["limit"])
	timeout, ok3 := intParam(p["timeout"])
	if !ok1 || !ok2 || !ok3 {
		return nil, badRequest("invalid offset, limit or timeout")
	}
	var allowed []string
	if raw := p["allowed_updates"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &allowed); err != nil {
			return nil, badRequest("can't parse allowed_updates JSON array")
		}
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	if e := s.webhookConflict(s.webhookSets); e != nil {
		s.mu.Unlock()
		return nil, e
	}
	sets := s.webhookSets
	s.pollGen++
	gen := s.pollGen
	if gen > 1 {
		s.notify() // wake an older poll: it is terminated
	}
	s.mu.Unlock()
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		s.mu.Lock()
		if s.pollGen != gen {
			s.conflicts++
			s.mu.Unlock()
			return nil, &apiError{code: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if e := s.webhookConflict(sets); e != nil {
			s.mu.Unlock()
			return nil, e
		}
		s.confirm(offset)
		out := s.pending(allowed, int(limit))
		changed := s.changed
		s.mu.Unlock()
		wait := time.Until(deadline)
		if len(out) > 0 || wait <= 0 {
			return out, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, &apiError{code: 499, desc: "client closed the request"}
		case <-s.closing:
			t.Stop()
			return []json.RawMessage{}, nil
		}
		t.Stop()
	}
}

// confirm drops updates below offset; s.mu is held.
func (s *Server) confirm(offset int64) {
	if offset <= 0 {
		return
	}
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

// pending returns up to limit updates of the allowed kinds (all when
// allowed is empty); s.mu is held.
func (s *Server) pending(allowed []string, limit int) []json.RawMessage {
	out := []json.RawMessage{}
	for _, raw := range s.updates {
		if len(out) == limit {
			break
		}
		if len(allowed) > 0 {
			var obj map[string]json.RawMessage
			_ = json.Unmarshal(raw, &obj)
			ok := false
			for _, k := range allowed {
				if _, has := obj[k]; has {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		out = append(out, raw)
	}
	return out
}

// PendingUpdates is how many updates are not yet confirmed by an offset.
func (s *Server) PendingUpdates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}
