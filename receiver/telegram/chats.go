package telegram

import (
	"context"
	"encoding/json"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Chat is a chat, or a forum topic in a chat, that the bot has seen.
type Chat struct {
	ID       int64
	Type     string // private, group, supergroup, channel
	Title    string // group title, or the user's name for private chats
	Username string
	ThreadID int    // forum topic id (message_thread_id); 0 for the chat itself
	Topic    string // forum topic name when known
}

// update holds the parts of a getUpdates entry that name a chat. The
// library's types predate forum topics, so they are decoded here.
type update struct {
	Message           *tgMessage `json:"message"`
	EditedMessage     *tgMessage `json:"edited_message"`
	ChannelPost       *tgMessage `json:"channel_post"`
	EditedChannelPost *tgMessage `json:"edited_channel_post"`
	MyChatMember      *struct {
		Chat tgChat `json:"chat"`
	} `json:"my_chat_member"`
}

type tgMessage struct {
	Chat              tgChat     `json:"chat"`
	MessageThreadID   int        `json:"message_thread_id"`
	IsTopicMessage    bool       `json:"is_topic_message"`
	ForumTopicCreated *topicName `json:"forum_topic_created"`
	ForumTopicEdited  *topicName `json:"forum_topic_edited"`
	ReplyToMessage    *tgMessage `json:"reply_to_message"`
}

type topicName struct {
	Name string `json:"name"`
}

type tgChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// Chats lists the chats and forum topics in the bot's pending updates
// (getUpdates), in the order first seen. It does not confirm the updates,
// so it can be run again. It fails (409) while the bot has a webhook set.
func (c *Client) Chats(ctx context.Context) ([]Chat, error) {
	res, err := c.call(ctx, "getUpdates", tgbotapi.Params{"limit": "100", "timeout": "0"})
	if err != nil {
		return nil, err
	}
	var updates []update
	if err := json.Unmarshal(res, &updates); err != nil {
		return nil, &Error{Method: "getUpdates", Retry: true, Reason: ReasonServerError, Description: "cannot decode result: " + err.Error()}
	}
	var l chatList
	for _, u := range updates {
		for _, m := range []*tgMessage{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost} {
			if m != nil {
				l.addMessage(m)
			}
		}
		if u.MyChatMember != nil {
			l.add(u.MyChatMember.Chat, 0, "")
		}
	}
	return l.chats, nil
}

type chatList struct {
	chats []Chat
	index map[[2]int64]int
}

func (l *chatList) addMessage(m *tgMessage) {
	l.add(m.Chat, 0, "")
	if m.MessageThreadID == 0 || !m.IsTopicMessage && m.ForumTopicCreated == nil {
		return // a reply thread in a plain group, not a forum topic
	}
	// A topic's name is in its service message, which messages in the topic
	// quote as reply_to_message.
	var name string
	for _, t := range []*tgMessage{m, m.ReplyToMessage} {
		if t == nil {
			continue
		}
		if t.ForumTopicEdited != nil && t.ForumTopicEdited.Name != "" {
			name = t.ForumTopicEdited.Name
			break
		}
		if t.ForumTopicCreated != nil && name == "" {
			name = t.ForumTopicCreated.Name
		}
	}
	l.add(m.Chat, m.MessageThreadID, name)
}

func (l *chatList) add(c tgChat, thread int, topic string) {
	if l.index == nil {
		l.index = map[[2]int64]int{}
	}
	key := [2]int64{c.ID, int64(thread)}
	if i, ok := l.index[key]; ok {
		if topic != "" {
			l.chats[i].Topic = topic // later updates carry renames
		}
		return
	}
	title := c.Title
	if title == "" {
		title = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	l.index[key] = len(l.chats)
	l.chats = append(l.chats, Chat{ID: c.ID, Type: c.Type, Title: title, Username: c.Username, ThreadID: thread, Topic: topic})
}
