package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/internal/reload"
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

// poller gets the updates the way chat.updates says, under the "poller"
// lease (only one receiver of a group does it): "poll" reads them with
// getUpdates long polling, "webhook" calls setWebhook (chat.webhook_url)
// so that Telegram POSTs them to /telegram/updates, "off" does neither.
// A reload that changes the mode, the webhook URL or secret, or the bot
// token restarts it (changed), so that a switch stops the poller and starts
// the other way at once.
//
// The offset is stored before an update is handled: after a crash in
// between, that one press is lost (the user presses again) rather than
// carried out twice.
type poller struct {
	a      *actions
	clock  clock.Clock
	logger *slog.Logger
	kick   chan struct{} // capacity 1: the updates settings changed

	bot         atomic.Pointer[string] // our username, for /cmd@bot in groups; read by the webhook handler
	commandsSet bool
	conflict    bool   // a 409 was logged and has not cleared yet
	webhookSet  string // the URL this process gave setWebhook ("" none): a webhook it may delete
}

func newPoller(a *actions, logger *slog.Logger) *poller {
	// The poller's backoff runs on the real clock: tests that move
	// opts.clock count the worker's and the pruner's timers.
	return &poller{a: a, clock: clock.Real(), logger: logger, kick: make(chan struct{}, 1)}
}

// botName is our username ("" until getMe worked).
func (p *poller) botName() string {
	if b := p.bot.Load(); b != nil {
		return *b
	}
	return ""
}

// botNameFor is our username for the webhook handler: learnt with getMe
// when not known yet (webhook mode without webhook_url, or a receiver that
// does not hold the poller lease), "" while Telegram does not answer (a
// command addressed as /status@bot is then ignored).
func (p *poller) botNameFor(ctx context.Context, api chatAPI) string {
	if b := p.botName(); b != "" {
		return b
	}
	b, err := api.GetMe(ctx)
	if err != nil {
		p.logger.Debug("getMe failed; commands addressed to the bot by name are ignored meanwhile", "err", err)
		return ""
	}
	p.bot.Store(&b)
	return b
}

// changed is the reload hook: it restarts the running mode when the
// settings it uses changed.
func (p *poller) changed(prev, next *config.Config) {
	a, b := prev.Chat, next.Chat
	if a.UpdatesMode() != b.UpdatesMode() || a.WebhookURL != b.WebhookURL ||
		a.WebhookSecretToken != b.WebhookSecretToken || prev.Telegram.Token() != next.Telegram.Token() {
		reload.Coalesce(p.kick)
	}
}

// run does what the current chat.updates says until ctx is done (the
// lease lost, or shutdown), starting again after each change.
func (p *poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		chat := p.a.cfg().Chat
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.runMode(mctx, chat)
		}()
		select {
		case <-ctx.Done():
		case <-p.kick:
			p.logger.Info("Telegram updates settings changed", "chat_updates", p.a.cfg().Chat.UpdatesMode())
		}
		cancel()
		<-done
	}
}

func (p *poller) runMode(ctx context.Context, c config.Chat) {
	switch c.UpdatesMode() {
	case config.UpdatesPoll:
		p.pollLoop(ctx, c)
	case config.UpdatesWebhook:
		p.webhookLoop(ctx, c)
	case config.UpdatesOff:
		p.offLoop(ctx, c)
	}
	<-ctx.Done()
}

// offLoop deletes our webhook, if one is set, and stops: Telegram would
// otherwise keep POSTing updates that /telegram/updates now refuses.
func (p *poller) offLoop(ctx context.Context, c config.Chat) {
	backoff := minBackoff
	checked := false
	for ctx.Err() == nil && !checked {
		api := p.a.api()
		if api == nil {
			return // no Telegram client
		}
		if err := p.dropOurWebhook(ctx, api, c, &checked); err != nil && ctx.Err() == nil {
			p.logger.Warn("checking the Telegram webhook failed; retrying", "in", backoff, "err", err)
			p.sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// pollLoop polls until ctx is done. A webhook this receiver set (the one
// it set before a switch, or chat.webhook_url) is deleted first: Telegram
// refuses getUpdates (409) while a webhook is set. Someone else's webhook
// is left alone and reported by the 409 warning.
func (p *poller) pollLoop(ctx context.Context, c config.Chat) {
	backoff := minBackoff
	checked := false
	for ctx.Err() == nil {
		api := p.a.api()
		if api == nil {
			return // no Telegram client
		}
		err := p.dropOurWebhook(ctx, api, c, &checked)
		if err == nil {
			err = p.poll(ctx, api)
		}
		if err != nil {
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

// dropOurWebhook deletes the bot's webhook when it is ours, once per
// polling start (*checked).
func (p *poller) dropOurWebhook(ctx context.Context, api chatAPI, c config.Chat, checked *bool) error {
	if *checked {
		return nil
	}
	info, err := api.GetWebhookInfo(ctx)
	var te *telegram.Error
	if errors.As(err, &te) && !te.Retry {
		// A Bot API front end without getWebhookInfo must not stop polling.
		p.logger.Warn("getWebhookInfo refused; not checking for a webhook", "err", err)
		*checked = true
		return nil
	}
	if err != nil {
		return err
	}
	if info.URL != "" && (info.URL == p.webhookSet || info.URL == c.WebhookURL) {
		if err := api.DeleteWebhook(ctx); err != nil {
			return err
		}
		p.logger.Info("deleted the Telegram webhook", "chat_updates", c.UpdatesMode(), "url", redactURL(info.URL))
		p.webhookSet = ""
	}
	*checked = true
	return nil
}

// webhookLoop sets the webhook (retrying with backoff) and waits. Without
// chat.webhook_url it leaves the webhook to the user, as before.
func (p *poller) webhookLoop(ctx context.Context, c config.Chat) {
	if c.WebhookURL == "" {
		p.logger.Info("chat.updates is webhook without chat.webhook_url: not calling setWebhook " +
			"(set the webhook with the same secret_token yourself)")
		return
	}
	backoff := minBackoff
	for ctx.Err() == nil {
		api := p.a.api()
		if api == nil {
			return // no Telegram client
		}
		err := p.setWebhook(ctx, api, c)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		p.logger.Warn("setting the Telegram webhook failed; retrying", "in", backoff, "err", err)
		p.sleep(ctx, backoff)
		backoff = min(2*backoff, maxBackoff)
	}
}

// setWebhook gives Telegram the URL and secret token, and learns the bot's
// username and registers the commands as polling does.
func (p *poller) setWebhook(ctx context.Context, api chatAPI, c config.Chat) error {
	if err := p.setup(ctx, api); err != nil {
		return err
	}
	if err := api.SetWebhook(ctx, c.WebhookURL, string(c.WebhookSecretToken)); err != nil {
		return err
	}
	p.webhookSet = c.WebhookURL
	p.logger.Info("Telegram webhook set", "url", redactURL(c.WebhookURL), "allowed_updates", telegram.AllowedUpdates)
	return nil
}

// setup learns our username and registers the commands (retried every
// round until it works: Telegram being down at start must not block
// anything else).
func (p *poller) setup(ctx context.Context, api chatAPI) error {
	if p.botName() == "" {
		bot, err := api.GetMe(ctx)
		if err != nil {
			return err
		}
		p.bot.Store(&bot)
	}
	if !p.commandsSet {
		if err := api.SetMyCommands(ctx, chat.Commands()); err != nil {
			p.logger.Debug("setMyCommands failed; will retry", "err", err)
		} else {
			p.commandsSet = true
		}
	}
	return nil
}

// poll does one getUpdates round and handles what it returns.
func (p *poller) poll(ctx context.Context, api chatAPI) error {
	if err := p.setup(ctx, api); err != nil {
		return err
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
		p.a.deliver(ctx, api, u, p.botName())
	}
	return nil
}

// redactURL is a webhook URL without its path and query, which may hold a
// secret (Telegram once advised putting the bot token in the path).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable>"
	}
	return u.Scheme + "://" + u.Host + "/..."
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
func (a *actions) updatesHandler(bot func(context.Context, chatAPI) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg().Chat.UpdatesMode() != config.UpdatesWebhook {
			// Registered always, so that a reload can switch to webhook
			// mode; answered only in it.
			http.NotFound(w, r)
			return
		}
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
			a.deliver(r.Context(), api, u, bot(r.Context(), api))
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

// startChat starts getting updates (the poller, which follows
// chat.updates across reloads; never in --dry-run) and the reconciler,
// which runs its rounds while an Alertmanager URL is configured. Neither
// blocks the start: both retry while Telegram or Alertmanager are down.
//
// The poller runs under the "poller" lease: with several receivers on one
// PostgreSQL only one of them calls getUpdates (Telegram answers a second
// poller 409) or setWebhook, and another takes over when it dies.
func startChat(ctx context.Context, wg *sync.WaitGroup, lv *live, p *poller, lease *ha.Leader,
	h holder, reg prometheus.Registerer, opts *options) {
	if !opts.dryRun {
		wg.Go(func() { lease.Run(ctx, p.run) })
	}
	am := liveAM{lv}
	loop := reconcile.NewLoop(am, h, reg, opts.logger)
	loop.Now, loop.Active = opts.now, am.Enabled
	loop.Every = func() time.Duration { return lv.load().cfg.Alertmanager.Interval() }
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
