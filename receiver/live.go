package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/reconcile"
	"github.com/downtime-detector/downtime/receiver/behind"
	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/webhook"
)

// live holds the current configuration for concurrent readers. The
// webhook handler and the delivery worker use it as their router,
// renderer, authenticator and sender: every call loads the configuration
// once, so a reload takes effect for the next request or send.
type live struct {
	p      atomic.Pointer[current]
	now    func() time.Time
	logger *slog.Logger
}

var (
	_ webhook.Router   = (*live)(nil)
	_ webhook.Renderer = (*live)(nil)
	_ delivery.Sender  = (*live)(nil)
)

func newLive(c *current, now func() time.Time, logger *slog.Logger) *live {
	l := &live{now: now, logger: logger}
	l.p.Store(c)
	return l
}

func (l *live) load() *current   { return l.p.Load() }
func (l *live) store(c *current) { l.p.Store(c) }

// Route picks the route of an alert in the current configuration.
func (l *live) Route(name, receiver string, labels map[string]string) (config.Route, error) {
	return l.load().cfg.Route(name, receiver, labels)
}

// Auth is the current webhook authentication.
func (l *live) Auth() config.WebhookAuth { return l.load().cfg.WebhookAuth }

// Render renders with the current templates. When a user template fails
// on some alert, the built-in templates (fallback) render it: a message
// with the default look beats none, and failing the webhook would make
// Alertmanager retry a broken template forever.
func (l *live) Render(d render.Data) ([]render.Message, error) {
	c := l.load()
	msgs, err := c.rnd.Render(d)
	if err == nil || c.builtin == nil {
		return msgs, err
	}
	l.logger.Error("template failed, using the built-in one", "kind", d.Kind, "err", err)
	return c.builtin.Render(d)
}

// EditText renders the resolved edit of a firing message (delivery's
// Options.EditText).
func (l *live) EditText(job store.Job, alerts []template.Alert) (string, error) {
	msgs, err := l.Render(render.Data{Kind: render.ResolvedEdit, Route: job.Route, Alerts: alerts, Now: l.now()})
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "", errors.New("resolved_edit rendered no message")
	}
	return msgs[0].Text, nil
}

// Send sends through the current configuration's Telegram client, so a
// bot token changed by a reload applies to the next send, queued jobs
// included.
func (l *live) Send(ctx context.Context, m telegram.Message) (int, error) {
	return l.load().sender.Send(ctx, m)
}

// Edit edits through the current configuration's Telegram client.
func (l *live) Edit(ctx context.Context, chatID string, id int, text string) error {
	return l.load().sender.Edit(ctx, chatID, id, text)
}

// liveAM is the Alertmanager client of the configuration in force, for the
// buttons, the /silences command, the reconciler and the parent lists: a
// reload that changes the alertmanager section applies to their next call.
// Without a URL its calls fail with alertmanager.ErrNotConfigured (Alerts
// lists none, Snapshots none).
type liveAM struct{ lv *live }

var (
	_ chat.Silencer    = liveAM{}
	_ behind.Lister    = liveAM{}
	_ reconcile.Source = liveAM{}
)

func (a liveAM) client() *alertmanager.Client { return a.lv.load().am }

// Enabled reports whether an Alertmanager URL is configured now.
func (a liveAM) Enabled() bool { return a.client() != nil }

// URLs are the configured peers without credentials (none without a URL).
func (a liveAM) URLs() []string {
	if c := a.client(); c != nil {
		return c.URLs()
	}
	return nil
}

func (a liveAM) CreateSilence(ctx context.Context, r alertmanager.SilenceRequest) (alertmanager.Created, error) {
	if c := a.client(); c != nil {
		return c.CreateSilence(ctx, r)
	}
	return alertmanager.Created{}, alertmanager.ErrNotConfigured
}

func (a liveAM) ExpireSilence(ctx context.Context, id string) error {
	if c := a.client(); c != nil {
		return c.ExpireSilence(ctx, id)
	}
	return alertmanager.ErrNotConfigured
}

func (a liveAM) ListSilences(ctx context.Context) ([]alertmanager.Silence, error) {
	if c := a.client(); c != nil {
		return c.ListSilences(ctx)
	}
	return nil, alertmanager.ErrNotConfigured
}

// Alerts lists none without a URL: a down parent's message then keeps the
// count from its annotation.
func (a liveAM) Alerts(ctx context.Context, filter []string) ([]alertmanager.Alert, error) {
	if c := a.client(); c != nil {
		return c.Alerts(ctx, filter)
	}
	return nil, nil
}

func (a liveAM) Snapshots(ctx context.Context, filter []string) []alertmanager.Snapshot {
	if c := a.client(); c != nil {
		return c.Snapshots(ctx, filter)
	}
	return nil
}
