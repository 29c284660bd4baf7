package chat

import (
	"errors"
	"strings"
	"testing"
)

func TestAuthorize(t *testing.T) {
	alice := User{ID: 111, Username: "Alice_ops"}
	bob := User{ID: 222, Username: "bob_the_builder"}
	noName := User{ID: 333}
	list, err := ParseAllowedUsers("routes[0].allowed_users", []string{"@alice_ops", "333"})
	if err != nil {
		t.Fatal(err)
	}
	const chat = -1001234567890
	for _, tc := range []struct {
		name    string
		p       Press
		allowed AllowedUsers
		want    error
	}{
		{"anyone in the chat", Press{User: bob, ChatID: chat}, AllowedUsers{}, nil},
		{"allowed by username, any case", Press{User: alice, ChatID: chat}, list, nil},
		{"allowed by id", Press{User: noName, ChatID: chat}, list, nil},
		{"not on the list", Press{User: bob, ChatID: chat}, list, ErrNotAllowed},
		{"username spoof by id does not match", Press{User: User{ID: 444, Username: "x333x"}, ChatID: chat}, list, ErrNotAllowed},
		{"other chat", Press{User: alice, ChatID: -100999}, list, ErrOtherChat},
		{"other chat, open route", Press{User: bob, ChatID: 42}, AllowedUsers{}, ErrOtherChat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Authorize(tc.p, chat, tc.allowed); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	for _, e := range []error{ErrNotAllowed, ErrOtherChat} {
		if len(e.Error()) > 200 {
			t.Errorf("%q longer than an answerCallbackQuery toast", e)
		}
	}
}

func TestParseAllowedUsersRejects(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"alice_ops", "-100123"}, `routes[0].allowed_users[1]: user id -100123 must be positive`},
		{[]string{"al"}, `routes[0].allowed_users[0]: "al" is neither a user id nor a username`},
		{[]string{"@ali ce"}, `routes[0].allowed_users[0]: "@ali ce" is neither`},
		{[]string{""}, `routes[0].allowed_users[0]: "" is neither`},
	} {
		if _, err := ParseAllowedUsers("routes[0].allowed_users", tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestUserNames(t *testing.T) {
	for _, tc := range []struct {
		u                  User
		createdBy, display string
	}{
		{User{ID: 1, Username: "alice_ops"}, "@alice_ops (Telegram)", "@alice_ops"},
		{User{ID: 123456}, "Telegram user 123456", "123456"},
	} {
		if got := tc.u.CreatedBy(); got != tc.createdBy {
			t.Errorf("CreatedBy = %q, want %q", got, tc.createdBy)
		}
		if got := tc.u.Display(); got != tc.display {
			t.Errorf("Display = %q, want %q", got, tc.display)
		}
	}
}

func TestMessageLink(t *testing.T) {
	for _, tc := range []struct {
		chat int64
		user string
		id   int
		want string
	}{
		{-1001234567890, "", 45, "https://t.me/c/1234567890/45"},
		{-1001234567890, "ops_room", 45, "https://t.me/ops_room/45"},
		{-4567, "", 7, "chat -4567 message 7"},
		{98765, "", 7, "chat 98765 message 7"},
	} {
		if got := MessageLink(tc.chat, tc.user, tc.id); got != tc.want {
			t.Errorf("MessageLink(%d, %q, %d) = %q, want %q", tc.chat, tc.user, tc.id, got, tc.want)
		}
	}
	if got := SilenceComment(User{ID: 5, Username: "alice_ops"}, "https://t.me/c/1/2"); got != "Silenced from Telegram by @alice_ops: https://t.me/c/1/2" {
		t.Errorf("comment %q", got)
	}
}
