package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

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
	if m.Markup != nil {
		fmt.Fprintln(d.w, chat.TextView(m.Markup))
	}
	return d.next, nil
}

func (d *dryRunSender) Edit(_ context.Context, chatID string, id int, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "--- dry-run edit of message %d in chat %s\n%s\n", id, chatID, strings.TrimRight(text, "\n"))
	return nil
}

func opt(label string, v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(label, v)
}

var _ delivery.Sender = (*dryRunSender)(nil)
