package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/reconcile"
	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/ha"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/webhook"
)

// Long polling: how long one getUpdates waits, and the backoff bounds
// after an error (409 included).
const (
	pollTimeout = 25 * time.Second
	minBackoff  = time.Second
	maxBackoff  = time.Minute
	// pressTimeout bounds handling one update (Alertmanager and Telegram
	// calls); it is detached from the receiver's context so that a press
	// in flight at shutdown is finished and answered.
	pressTimeout = 30 * time.Second
)

// poller reads updates with getUpdates long polling. The offset is stored
// before an update is handled: after a crash in between, that one press is
// lost (the user presses again) rather than carried out twice.
type poller struct {
	a      *actions
	clock  clock.Clock
	logger *slog.Logger

	bot         string // our username, for /cmd@bot in groups
	commandsSet bool
	conflict    bool // a 409 was logged and has not cleared yet
}

func (p *poller) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		api := p.a.api()
		if api == nil {
			return // --dry-run
		}
		if err := p.poll(ctx, api); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.failed(err, backoff)
			p.sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// poll does one getUpdates round and handles what it returns.
func (p *poller) poll(ctx context.Context, api chatAPI) error {
	if p.bot == "" {
		bot, err := api.GetMe(ctx)
		if err != nil {
			return err
		}
		p.bot = bot
	}
	if !p.commandsSet {
		// Retried every round until it works: Telegram being down at start
		// must not block anything else.
		if err := api.SetMyCommands(ctx, chat.Commands()); err != nil {
			p.logger.Debug("setMyCommands failed; will retry", "err", err)
		} else {
			p.commandsSet = true
		}
	}
	offset, err := p.a.st.UpdatesOffset()
	if err != nil {
		return err
	}
	ups, err := api.GetUpdates(ctx, offset, pollTimeout)
	if err != nil {
		return err
	}
	if p.conflict {
		p.logger.Info("getUpdates works again")
		p.conflict = false
	}
	for _, u := range ups {
		p.a.deliver(ctx, api, u, p.bot)
	}
	return nil
}

// failed logs a polling error; a 409 (another receiver polls the same bot,
// or a webhook is set) once until it clears.
func (p *poller) failed(err error, backoff time.Duration) {
	var te *telegram.Error
	if errors.As(err, &te) && te.Code == http.StatusConflict {
		if !p.conflict {
			p.logger.Warn("another getUpdates poller or a webhook uses this bot token; buttons and commands "+
				"are handled by the other one until it stops (retrying with backoff)", "err", err)
			p.conflict = true
		}
		return
	}
	p.logger.Warn("reading Telegram updates failed; retrying", "in", backoff, "err", err)
}

func (p *poller) sleep(ctx context.Context, d time.Duration) {
	t := p.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C():
	}
}

// deliver handles one update at most once: the offset moves past it first,
// and an update below the stored offset (a webhook retry) is skipped.
func (a *actions) deliver(ctx context.Context, api chatAPI, u telegram.Update, bot string) {
	offset, err := a.st.UpdatesOffset()
	if err != nil {
		a.logger.Error("reading the updates offset", "err", err)
		return
	}
	if u.ID < offset {
		return
	}
	if err := a.st.SetUpdatesOffset(u.ID + 1); err != nil {
		a.logger.Error("storing the updates offset; not handling the update", "update", u.ID, "err", err)
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pressTimeout)
	defer cancel()
	a.handle(hctx, api, u, bot)
}

// updatesHandler is the Telegram webhook mode: Telegram POSTs each update
// with the secret_token given to setWebhook in the
// X-Telegram-Bot-Api-Secret-Token header.
func (a *actions) updatesHandler(bot func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := string(a.cfg().Chat.WebhookSecretToken)
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			a.logger.Warn("Telegram update refused: wrong or missing secret token", "remote", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		u, err := telegram.ParseUpdate(raw)
		if err != nil {
			http.Error(w, "not an Update object", http.StatusBadRequest)
			return
		}
		if api := a.api(); api != nil {
			a.deliver(r.Context(), api, u, bot())
		}
		w.WriteHeader(http.StatusOK)
	})
}

// holder is the reconciler's view of the store: the alerts held as firing,
// and their recovery queued like a resolved webhook's.
type holder struct {
	st   chatStore
	hook *webhook.Handler
}

func (h holder) Firing(context.Context) ([]reconcile.Held, error) {
	held, err := h.st.FiringAlerts()
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Held, 0, len(held))
	for _, x := range held {
		var a template.Alert
		_ = json.Unmarshal(x.State.Alert, &a)
		out = append(out, reconcile.Held{Route: x.Ref.Route, Fingerprint: x.Ref.Fingerprint, Labels: a.Labels,
			StartsAt: x.Ref.StartsAt})
	}
	return out, nil
}

func (h holder) Resolve(_ context.Context, ds []reconcile.Decision) error {
	byRoute := map[string][]template.Alert{}
	var routes []string
	for _, d := range ds {
		st, _, err := h.st.FiringMessage(storeRef(d.Held))
		if err != nil {
			return err
		}
		var a template.Alert
		if len(st.Alert) == 0 || json.Unmarshal(st.Alert, &a) != nil {
			a = template.Alert{Fingerprint: d.Fingerprint, Labels: d.Labels, StartsAt: d.StartsAt}
		}
		a.Status, a.EndsAt = "resolved", d.EndsAt
		if _, seen := byRoute[d.Route]; !seen {
			routes = append(routes, d.Route)
		}
		byRoute[d.Route] = append(byRoute[d.Route], a)
	}
	var errs []error
	for _, r := range routes {
		if _, err := h.hook.Resolve(r, byRoute[r]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func storeRef(h reconcile.Held) store.AlertRef {
	return store.AlertRef{Route: h.Route, Fingerprint: h.Fingerprint, StartsAt: h.StartsAt}
}

// newAlertmanager is the Alertmanager client, nil without a URL.
func newAlertmanager(cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) (*alertmanager.Client, error) {
	if !cfg.Alertmanager.Enabled() {
		return nil, nil
	}
	return alertmanager.New(cfg.Alertmanager.Client(), logger, reg)
}

// startChat starts reading updates (long polling unless the config says
// webhook or off, never in --dry-run) and, with an Alertmanager, the
// reconciler. Neither blocks the start: both retry while Telegram or
// Alertmanager are down.
//
// Polling runs under the "poller" lease: with several receivers on one
// PostgreSQL only one of them calls getUpdates (Telegram answers a second
// poller 409), and another takes over when it dies.
func startChat(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, p *poller, lease *ha.Leader,
	am *alertmanager.Client, h holder, reg prometheus.Registerer, opts *options) {
	if cfg.Chat.UpdatesMode() == config.UpdatesPoll && !opts.dryRun {
		wg.Go(func() { lease.Run(ctx, p.run) })
	}
	if am == nil {
		return
	}
	loop := reconcile.NewLoop(am, h, reg, opts.logger)
	loop.Interval, loop.Now = cfg.Alertmanager.Interval(), opts.now
	if opts.reconcile != nil {
		loop.Options = *opts.reconcile
	}
	// The state is kept in the store, so that an alert last seen silenced
	// before a restart is still reported at its first miss after it.
	loop.Load = func() (reconcile.State, error) {
		raw, err := h.st.ReconcileState()
		if err != nil || raw == nil {
			return nil, err
		}
		var st reconcile.State
		return st, json.Unmarshal(raw, &st)
	}
	loop.Save = func(st reconcile.State) error {
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return h.st.SetReconcileState(raw)
	}
	wg.Go(func() { _ = loop.Run(ctx) })
}
