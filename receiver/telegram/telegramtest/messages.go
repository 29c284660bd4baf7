package telegramtest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

func (s *Server) sendMessage(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.injected(); e != nil {
		return nil, e
	}
	chat := p["chat_id"]
	if e := s.checkChat(chat); e != nil {
		return nil, e
	}
	t, e := parseText(p["text"], p["parse_mode"])
	if e != nil {
		return nil, e
	}
	threadID, ok := intParam(p["message_thread_id"])
	if !ok {
		return nil, badRequest("invalid message thread identifier specified")
	}
	thread, e := s.topic(chat, int(threadID))
	if e != nil {
		return nil, e
	}
	replyTo, allowNoReply, e := replyParams(p)
	if e != nil {
		return nil, e
	}
	markup, e := normMarkup(p["reply_markup"])
	if e != nil {
		return nil, e
	}
	if _, exists := s.content[msgKey{chat, replyTo}]; replyTo != 0 && !exists && !allowNoReply {
		return nil, badRequest("message to be replied not found")
	}
	now := time.Now()
	if e := s.flood(chat, now); e != nil {
		return nil, e
	}
	s.nextID[chat]++
	id := s.nextID[chat]
	s.content[msgKey{chat, id}] = content{plain: t.plain, entities: t.entities, markup: markup}
	s.sent = append(s.sent, Sent{
		ChatID: chat, ThreadID: thread, MessageID: id, ReplyTo: replyTo, Text: t.raw,
		Silent: boolParam(p["disable_notification"]), ParseMode: t.parseMode, Plain: t.plain,
		NoPreview: noPreview(p), Markup: markup, At: now,
	})
	s.notify()
	m := messageResult(chat, id, thread, t, now)
	if s.forums[chat] != nil {
		m["chat"].(map[string]any)["is_forum"] = true
	}
	return m, nil
}

// generalTopic is the thread id of a forum's General topic.
const generalTopic = 1

// topic applies message_thread_id as the Bot API does and returns the topic
// the message goes to; s.mu is held. In a forum only its topics exist, and
// the General topic is reached without a thread id: an explicit 1 is "not
// found" like an unknown topic. A private chat without topics answers the
// same; other chats without topics ignore the thread id.
func (s *Server) topic(chat string, thread int) (int, *apiError) {
	if thread == 0 {
		return 0, nil
	}
	topics, forum := s.forums[chat]
	switch {
	case forum && (thread == generalTopic || !topics[thread]):
		return 0, badRequest("message thread not found")
	case forum:
		return thread, nil
	case chatObject(chat)["type"] == "private":
		return 0, badRequest("message thread not found")
	}
	return 0, nil
}

// replyParams reads reply_parameters (Bot API 7.0) or the older
// reply_to_message_id and allow_sending_without_reply.
func replyParams(p map[string]string) (id int, allowNoReply bool, e *apiError) {
	if raw := p["reply_parameters"]; raw != "" {
		var rp struct {
			MessageID                int  `json:"message_id"`
			AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
		}
		if err := json.Unmarshal([]byte(raw), &rp); err != nil {
			return 0, false, badRequest("can't parse reply parameters JSON object")
		}
		return rp.MessageID, rp.AllowSendingWithoutReply, nil
	}
	n, ok := intParam(p["reply_to_message_id"])
	if !ok {
		return 0, false, badRequest("invalid reply_to_message_id")
	}
	return int(n), boolParam(p["allow_sending_without_reply"]), nil
}

func noPreview(p map[string]string) bool {
	if raw := p["link_preview_options"]; raw != "" {
		var o struct {
			IsDisabled bool `json:"is_disabled"`
		}
		_ = json.Unmarshal([]byte(raw), &o)
		return o.IsDisabled
	}
	return boolParam(p["disable_web_page_preview"])
}

func (s *Server) editMessageText(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.injected(); e != nil {
		return nil, e
	}
	if p["inline_message_id"] != "" {
		return nil, badRequest("inline messages are not supported by the fake")
	}
	chat := p["chat_id"]
	if e := s.checkChat(chat); e != nil {
		return nil, e
	}
	id, ok := intParam(p["message_id"])
	if !ok || id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	t, e := parseText(p["text"], p["parse_mode"])
	if e != nil {
		return nil, e
	}
	markup, e := normMarkup(p["reply_markup"])
	if e != nil {
		return nil, e
	}
	key := msgKey{chat, int(id)}
	old, exists := s.content[key]
	if !exists {
		return nil, badRequest("message to edit not found")
	}
	if p["reply_markup"] == "" {
		markup = "" // editMessageText without reply_markup removes the keyboard
	}
	if old.plain == t.plain && equalEntities(old.entities, t.entities) && old.markup == markup {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	now := time.Now()
	if e := s.flood(chat, now); e != nil {
		return nil, e
	}
	s.content[key] = content{plain: t.plain, entities: t.entities, markup: markup}
	s.edits = append(s.edits, Edited{ChatID: chat, MessageID: int(id), Markup: markup, Text: t.raw, ParseMode: t.parseMode, Plain: t.plain, At: now})
	s.notify()
	return messageResult(chat, int(id), 0, t, now), nil
}

func equalEntities(a, b []Entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// messageResult is the Message object Telegram returns.
func messageResult(chat string, id, thread int, t text, now time.Time) map[string]any {
	m := map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": 1, "is_bot": true, "first_name": "Downtime Test", "username": BotUsername},
		"chat":       chatObject(chat),
		"date":       now.Unix(),
		"text":       t.plain,
	}
	if thread != 0 {
		m["message_thread_id"] = thread
		m["is_topic_message"] = true
	}
	var ents []map[string]any
	for _, e := range t.entities {
		ents = append(ents, map[string]any{"type": e.Type, "offset": e.Offset, "length": e.Length})
	}
	if len(ents) > 0 {
		m["entities"] = ents
	}
	return m
}

func chatObject(chat string) map[string]any {
	if name, ok := strings.CutPrefix(chat, "@"); ok {
		return map[string]any{"id": -1001000000001, "type": "channel", "username": name, "title": name}
	}
	id, _ := strconv.ParseInt(chat, 10, 64)
	switch {
	case id > 0:
		return map[string]any{"id": id, "type": "private", "first_name": "User"}
	case strings.HasPrefix(chat, "-100"):
		return map[string]any{"id": id, "type": "supergroup", "title": "Group " + chat}
	default:
		return map[string]any{"id": id, "type": "group", "title": "Group " + chat}
	}
}
