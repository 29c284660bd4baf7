package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/webhook"
)

// The adapters below read the current configuration on every call (see
// current): a reload takes effect for the next request or send.

// router adapts config.Config.Route to webhook.Router.
type router struct{ live *live }

func (r router) Route(path, receiver string, labels template.KV) (webhook.Destination, error) {
	rt, err := r.live.load().cfg.Route(path, receiver, labels)
	if errors.Is(err, config.ErrUnknownRoute) || errors.Is(err, config.ErrNoRoute) {
		return webhook.Destination{}, fmt.Errorf("%w: %w", webhook.ErrUnknownRoute, err)
	}
	if err != nil {
		return webhook.Destination{}, err
	}
	return webhook.Destination{
		Route: rt.Name, ChatID: rt.ChatID, ThreadID: rt.ThreadID,
		Reminders: webhook.Schedule{After: rt.Reminders.Durations(), Final: rt.Reminders.Final},
		Silent:    rt.Silent, SilentReminders: rt.Reminders.Silent,
	}, nil
}

// renderer adapts render.Renderer to webhook.Renderer and delivery's EditText.
// When a user template fails on some alert, the built-in templates
// (fallback) render it: a message with the default look beats none, and
// failing the webhook would make Alertmanager retry a broken template forever.
type renderer struct {
	live   *live
	now    func() time.Time
	logger *slog.Logger
}

func (r renderer) render(d render.Data) ([]render.Message, error) {
	c := r.live.load()
	msgs, err := c.rnd.Render(d)
	if err == nil || c.builtin == nil {
		return msgs, err
	}
	r.logger.Error("template failed, using the built-in one", "kind", d.Kind, "err", err)
	return c.builtin.Render(d)
}

func kindOf(g webhook.Group) render.Kind {
	switch g.Kind {
	case store.KindReminder:
		if g.Final {
			return render.FinalReminder
		}
		return render.Reminder
	case store.KindResolved:
		return render.Resolved
	case store.KindEdit:
		return render.ResolvedEdit
	}
	return render.Firing
}

func (r renderer) Render(g webhook.Group) ([]webhook.Part, error) {
	d := render.Data{Kind: kindOf(g), Route: g.Dest.Route, Alerts: g.Alerts, Now: g.Now,
		Reminder: g.Reminder, Reminders: len(g.Dest.Reminders.After)}
	if g.Data != nil {
		d.Receiver, d.ExternalURL = g.Data.Receiver, g.Data.ExternalURL
	}
	msgs, err := r.render(d)
	if err != nil {
		return nil, err
	}
	parts := make([]webhook.Part, len(msgs))
	for i, m := range msgs {
		parts[i] = webhook.Part{Text: m.Text, Alerts: m.Alerts}
	}
	return parts, nil
}

func (r renderer) EditText(job store.Job, alerts []template.Alert) (string, error) {
	msgs, err := r.render(render.Data{Kind: render.ResolvedEdit, Route: job.Route, Alerts: alerts, Now: r.now()})
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "", errors.New("resolved_edit rendered no message")
	}
	return msgs[0].Text, nil
}

// auth adapts config.WebhookAuth to webhook.Authenticator.
type auth struct{ live *live }

func (a auth) get() config.WebhookAuth         { return a.live.load().cfg.WebhookAuth }
func (a auth) Enabled() bool                   { return a.get().Enabled() }
func (a auth) Authorized(r *http.Request) bool { return a.get().Authorized(r) }
func (a auth) Challenges() []string {
	wa := a.get()
	var c []string
	if wa.BasicAuth != nil {
		c = append(c, `Basic realm="downtime_receiver"`)
	}
	if wa.BearerToken != "" || wa.BearerTokenFile != "" {
		c = append(c, `Bearer realm="downtime_receiver"`)
	}
	if z := wa.Authorization; z != nil {
		typ := z.Type
		if typ == "" {
			typ = "Bearer"
		}
		c = append(c, typ+` realm="downtime_receiver"`)
	}
	return c
}

// sender sends through the current configuration's Telegram client, so a
// bot token changed by a reload applies to the next send, queued jobs
// included.
type sender struct{ live *live }

func (s sender) Send(ctx context.Context, m telegram.Message) (int, error) {
	return s.live.load().sender.Send(ctx, m)
}

func (s sender) Edit(ctx context.Context, chatID string, id int, text string) error {
	return s.live.load().sender.Edit(ctx, chatID, id, text)
}

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
