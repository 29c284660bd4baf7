package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/internal/reload"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/deadletter"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/ha"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/webhook"
)

// Keys and alert states untouched for this long are pruned.
const (
	pruneAge      = 7 * 24 * time.Hour
	pruneInterval = time.Hour
)

// dryRunChat stands for the default chat in --dry-run when none is
// configured: the printed messages say "to chat dry-run".
const dryRunChat = "dry-run"

// loadConfig loads the configuration and parses its templates, so that a
// template error stops the start with a clear message. With --dry-run
// (except for "chats", which asks Telegram) no bot token or chat is needed:
// nothing is sent.
func loadConfig(opts *options) (*config.Config, *render.Renderer, error) {
	load := config.Load
	if opts.dryRun && opts.command != "chats" {
		load = config.LoadDryRun
	}
	cfg, err := load(opts.configFile)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Alertmanager, err = cfg.Alertmanager.WithURLs(opts.alertmanagerURLs); err != nil {
		return nil, nil, err
	}
	if opts.dryRun && cfg.Telegram.ChatID == "" && len(cfg.Routes) == 0 {
		cfg.Telegram.ChatID = dryRunChat
	}
	r, err := render.New(cfg.Templates, cfg.Location(), cfg.Format())
	if err != nil && opts.configFile != "" {
		return nil, nil, fmt.Errorf("config file %q: parsing templates: %w", opts.configFile, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parsing templates: %w", err)
	}
	return cfg, r, nil
}

func newSender(opts *options, cfg *config.Config) (delivery.Sender, error) {
	if opts.dryRun {
		return &dryRunSender{w: opts.stdout}, nil
	}
	return telegram.New(cfg.Telegram.Token(), opts.apiURL, nil)
}

// serve runs the webhook server and the delivery worker until ctx is done.
// Telegram is never contacted before serving: the receiver starts and is
// ready while Telegram is unreachable.
func serve(ctx context.Context, opts *options) error {
	logger := opts.logger
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector(program),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	amm := alertmanager.NewMetrics(reg)
	cur, err := loadCurrent(opts, nil, amm)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	limits := delivery.DefaultLimits()
	if opts.limits != nil {
		limits = *opts.limits
	}
	lv := newLive(cur, opts.now, logger)
	acts := newActions(st, lv, chat.NewMetrics(reg), opts.now, logger)
	p := newPoller(acts, logger)
	rl := reload.New(program, reg, logger, opts.clock.Now, applyReload(opts, lv, amm, p.changed))
	shared := leaser(st)
	worker := delivery.New(delivery.Options{Store: st, Sender: lv, Limits: limits, Logger: logger,
		Registerer: reg, EditText: lv.EditText, Clock: opts.clock, Poll: pollFor(shared), Keyboard: acts})
	acts.pace = worker.Pace
	sender := ha.New(ha.Options{Leaser: shared, Name: "sender", TTL: opts.storage.leaseTTL,
		Renew: opts.storage.leaseRenew, Clock: opts.clock, Logger: logger, Registerer: reg})
	par := newParents(parentLister(opts.alerts, liveAM{lv}), st, lv, worker.Notify, opts.clock, opts.now, logger, reg)
	hb := newHeartbeat(opts, st, lv, reg, worker.Notify)
	hook := webhook.New(webhook.Options{Store: st, Router: lv, Renderer: lv, Auth: lv.Auth,
		Logger: logger, Registerer: reg, Now: opts.now, Queued: worker.Notify, Observe: par.observe,
		Heartbeats: hb})

	health := &reload.Health{}
	admin := deadletter.Handler{Manager: deadletter.Local{Store: st, Now: opts.now, Queued: worker.Notify},
		Auth: lv.Auth}
	pages := &statusPages{lv: lv, log: st.Incidents(), now: opts.now, logger: logger}
	mux := newMux(hook, admin, rl, reg, health)
	pages.Register(mux, readAuth(lv.Auth, webConfigured(opts)))
	mux.Handle("POST /telegram/updates", acts.updatesHandler(p.botNameFor))
	srv := opts.webLimits.withDefaults().newServer(mux, reg)
	digests := &digester{lv: lv, st: st, log: st.Incidents(), clk: opts.clock, logger: logger, queued: worker.Notify}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { sender.Run(workCtx, func(ctx context.Context) { worker.Run(ctx) }) })
	wg.Go(func() { prune(workCtx, st, opts.clock, logger, lv.retention) })
	wg.Go(func() { digests.run(workCtx) })
	wg.Go(func() { par.run(workCtx) })
	wg.Go(func() { hb.Run(workCtx) })
	pollLease := ha.New(ha.Options{Leaser: shared, Name: "poller", TTL: opts.storage.leaseTTL,
		Renew: opts.storage.leaseRenew, Clock: opts.clock, Logger: logger, Registerer: reg})
	startChat(workCtx, &wg, lv, p, pollLease, holder{st: st, hook: hook}, reg, opts)
	defer func() { stopWork(); wg.Wait() }()

	logger.Info("starting "+program, "version", version.Info(), "storage", st.Path(),
		"dry_run", opts.dryRun, "routes", cur.routes())
	warnExposed(logger, listenAddresses(opts), cur.authOn() || webConfigured(opts))
	health.SetReady(true)
	errc := make(chan error, 1)
	go func() { errc <- listen(srv, opts) }()
	if err := waitForStop(ctx, errc, opts.reload, rl); err != nil {
		return err
	}
	logger.Info("shutting down: finishing requests and the send in flight")
	health.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// waitForStop reloads on every value from reload (SIGHUP) until ctx is done
// or the server fails.
func waitForStop(ctx context.Context, errc <-chan error, requests <-chan struct{}, rl *reload.Reloader) error {
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		case <-requests:
			_ = rl.Reload() // logged; the gauge and the next reload tell
		}
	}
}

func listen(srv *http.Server, opts *options) error {
	if opts.listener != nil {
		if opts.ready != nil {
			opts.ready(opts.listener.Addr().String())
		}
		return web.Serve(opts.listener, srv, opts.web, opts.logger)
	}
	return web.ListenAndServe(srv, opts.web, opts.logger)
}

// listenAddresses are the addresses serve listens on: the test listener's,
// else --web.listen-address (none with --web.systemd-socket).
func listenAddresses(opts *options) []string {
	if opts.listener != nil {
		return []string{opts.listener.Addr().String()}
	}
	if opts.web == nil || opts.web.WebListenAddresses == nil ||
		(opts.web.WebSystemdSocket != nil && *opts.web.WebSystemdSocket) {
		return nil
	}
	return *opts.web.WebListenAddresses
}

// webConfigured reports whether --web.config.file is set: it may require
// TLS client certificates or basic auth for every request.
func webConfigured(opts *options) bool {
	return opts.web != nil && opts.web.WebConfigFile != nil && *opts.web.WebConfigFile != ""
}

// warnExposed logs a warning for every address beyond loopback when no
// authentication is configured: anyone who reaches it can post to the chat.
func warnExposed(logger *slog.Logger, addrs []string, auth bool) {
	if auth {
		return
	}
	for _, addr := range addrs {
		if !isLoopback(addr) {
			logger.Warn("listening beyond loopback without webhook_auth (or --web.config.file): "+
				"anyone who reaches this address can send messages to your chats", "address", addr)
		}
	}
}

// isLoopback reports whether a listen address accepts connections from
// this host only. An empty host (":9427") listens on every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func newMux(hook *webhook.Handler, admin deadletter.Handler, rl *reload.Reloader, reg *prometheus.Registry, health *reload.Health) *http.ServeMux {
	mux := http.NewServeMux()
	hook.Register(mux)
	admin.Register(mux)
	health.Register(mux, rl)
	// ContinueOnError: with the store unreachable (PostgreSQL down) the
	// queue gauges are missing, but the rest (webhook 500s, leader) is served.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// prune drops idempotency keys and alert states older than pruneAge, and
// resolved incidents older than retention() (when not nil), at start and
// every pruneInterval of clk.
func prune(ctx context.Context, st store.Store, clk clock.Clock, logger *slog.Logger, retention func() time.Duration) {
	for {
		n, err := st.Prune(clk.Now().Add(-pruneAge))
		if err != nil {
			logger.Warn("pruning old keys", "err", err)
		} else if n > 0 {
			logger.Debug("pruned old keys and alert states", "n", n)
		}
		pruneIncidents(ctx, st, clk.Now(), retention, logger)
		t := clk.NewTimer(pruneInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}
