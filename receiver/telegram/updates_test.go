package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func TestUpdatesCallbacksAndCommands(t *testing.T) {
	srv := telegramtest.NewServer(t, token)
	c := newClient(t, srv.URL)
	ctx := context.Background()
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("✅ Ack", "d1:ack:abc")))
	id, err := c.Send(ctx, telegram.Message{ChatID: "-100123", Text: "down", Markup: &kb})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := srv.Markup("-100123", id); !strings.Contains(m, `"callback_data":"d1:ack:abc"`) {
		t.Fatalf("markup of the sent message: got %q, want the ack button", m)
	}
	qid := srv.AddCallback(telegramtest.Press{From: telegramtest.User{ID: 7, Username: "alice_ops"}, ChatID: "-100123", MessageID: id, Data: "d1:ack:abc"})
	srv.AddCommand(telegramtest.User{ID: 8}, "-100123", 0, "/status@"+telegramtest.BotUsername)
	ups, err := c.GetUpdates(ctx, 0, 0)
	if err != nil || len(ups) != 2 {
		t.Fatalf("GetUpdates: got %d updates, %v, want 2", len(ups), err)
	}
	cb := ups[0].Callback
	if cb == nil || cb.ID != qid || cb.Data != "d1:ack:abc" || cb.ChatID != -100123 || cb.MessageID != id || cb.From.Username != "alice_ops" {
		t.Fatalf("callback: got %+v, want query %s on message %d from alice_ops", cb, qid, id)
	}
	if m := ups[1].Message; m == nil || m.Text != "/status@"+telegramtest.BotUsername || m.From.ID != 8 {
		t.Fatalf("command: got %+v", m)
	}
	// Confirmed by the next offset: nothing left.
	if ups, err := c.GetUpdates(ctx, ups[1].ID+1, 0); err != nil || len(ups) != 0 {
		t.Fatalf("after confirming: got %d updates, %v, want none", len(ups), err)
	}
	if err := c.AnswerCallbackQuery(ctx, qid, "Acknowledged."); err != nil {
		t.Fatalf("AnswerCallbackQuery: %v", err)
	}
	if err := c.AnswerCallbackQuery(ctx, qid, "again"); err == nil {
		t.Errorf("second answer of one query: got nil error, want 400")
	}
	if err := c.AnswerCallbackQuery(ctx, "forged", "x"); err == nil {
		t.Errorf("answer of an unknown query: got nil error, want 400")
	}
	if got := srv.Answers(); len(got) != 1 || got[0].Text != "Acknowledged." {
		t.Errorf("answers: got %+v, want one", got)
	}
	if err := c.EditMarkup(ctx, "-100123", id, "down · acked", nil); err != nil {
		t.Fatalf("EditMarkup: %v", err)
	}
	if m := srv.Markup("-100123", id); m != "" {
		t.Errorf("markup after an edit with an empty keyboard: got %q, want none", m)
	}
	if err := c.SetMyCommands(ctx, []tgbotapi.BotCommand{{Command: "status", Description: "what is down"}}); err != nil {
		t.Fatalf("SetMyCommands: %v", err)
	}
	if got := srv.Commands(); len(got) != 1 || got[0] != "status" {
		t.Errorf("commands: got %v, want [status]", got)
	}
}

func TestGetUpdatesLongPollAndConflict(t *testing.T) {
	srv := telegramtest.NewServer(t, token)
	c := newClient(t, srv.URL)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetUpdates(ctx, 0, 4*time.Second)
		done <- err
	}()
	// Wait for the first poll to be waiting, then poll again: the first is
	// terminated with 409.
	for srv.Polls() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan []telegram.Update, 1)
	go func() {
		ups, _ := c.GetUpdates(ctx, 0, 4*time.Second)
		second <- ups
	}()
	err := <-done
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 409 {
		t.Fatalf("first poll: got %v, want a 409 conflict", err)
	}
	if srv.Conflicts() != 1 {
		t.Errorf("conflicts: got %d, want 1", srv.Conflicts())
	}
	srv.AddCommand(telegramtest.User{ID: 8}, "-100123", 0, "/help")
	if ups := <-second; len(ups) != 1 || ups[0].Message == nil {
		t.Fatalf("long poll: got %+v, want the command added while waiting", ups)
	}
}
