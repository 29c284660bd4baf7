package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

// dryRunSender prints messages instead of sending them (--dry-run).
type dryRunSender struct {
	mu   sync.Mutex
	w    io.Writer
	next int
}

func (d *dryRunSender) Send(_ context.Context, m telegram.Message) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	fmt.Fprintf(d.w, "--- dry-run message %d to chat %s%s%s%s\n%s\n", d.next, m.ChatID, opt(" thread ", m.ThreadID),
		opt(" reply-to ", m.ReplyTo), map[bool]string{true: " (silent)"}[m.Silent], strings.TrimRight(m.Text, "\n"))
	d.printMarkup(m.Markup)
	return d.next, nil
}

// printMarkup draws the buttons, then the callback data of each, so that a
// press can be simulated (deploy/demo.sh posts one to /telegram/updates).
func (d *dryRunSender) printMarkup(m *tgbotapi.InlineKeyboardMarkup) {
	if m == nil {
		return
	}
	fmt.Fprintln(d.w, chat.TextView(m))
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil {
				fmt.Fprintf(d.w, "    callback_data %s = %s\n", b.Text, *b.CallbackData)
			}
		}
	}
}

func (d *dryRunSender) Edit(_ context.Context, chatID string, id int, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "--- dry-run edit of message %d in chat %s\n%s\n", id, chatID, strings.TrimRight(text, "\n"))
	return nil
}

// The chat API in --dry-run: answers and edits after a press (posted to
// /telegram/updates with chat.updates: webhook) are printed; nothing is
// polled, so GetUpdates is never called.

func (d *dryRunSender) GetMe(context.Context) (string, error) { return "dry_run_bot", nil }

func (d *dryRunSender) GetUpdates(context.Context, int, time.Duration) ([]telegram.Update, error) {
	return nil, nil
}

func (d *dryRunSender) SetMyCommands(context.Context, []tgbotapi.BotCommand) error { return nil }

// The webhook calls are never made in --dry-run either (no poller runs).
func (d *dryRunSender) SetWebhook(context.Context, string, string) error { return nil }
func (d *dryRunSender) DeleteWebhook(context.Context) error              { return nil }
func (d *dryRunSender) GetWebhookInfo(context.Context) (telegram.WebhookInfo, error) {
	return telegram.WebhookInfo{}, nil
}

func (d *dryRunSender) AnswerCallbackQuery(_ context.Context, id, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "--- dry-run answer to button press %s: %s\n", id, text)
	return nil
}

func (d *dryRunSender) EditMarkup(_ context.Context, chatID string, id int, text string, m *tgbotapi.InlineKeyboardMarkup) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "--- dry-run edit of message %d in chat %s\n%s\n", id, chatID, strings.TrimRight(text, "\n"))
	d.printMarkup(m)
	return nil
}

func (d *dryRunSender) EditReplyMarkup(_ context.Context, chatID string, id int, m *tgbotapi.InlineKeyboardMarkup) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "--- dry-run new buttons of message %d in chat %s\n", id, chatID)
	d.printMarkup(m)
	return nil
}

func opt(label string, v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(label, v)
}

var (
	_ delivery.Sender = (*dryRunSender)(nil)
	_ chatAPI         = (*dryRunSender)(nil)
)
