package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/prober"
	"github.com/downtime-detector/downtime/exporter/shard"
	"github.com/downtime-detector/downtime/exporter/targets"
	"github.com/downtime-detector/downtime/internal/reload"
)

// shutdownTimeout bounds how long in-flight scrapes may take at exit.
const shutdownTimeout = 5 * time.Second

// options is everything run needs; main fills it from flags, tests directly.
type options struct {
	configFile      string
	args            []string // targets given as arguments
	defaults        config.Defaults
	configCheck     bool
	limits          config.Limits // --config.allow-empty, --ping.max-rate
	webLimits       webLimits     // zero fields: defaultWebLimits
	web             *web.FlagConfig
	telemetryPath   string
	mode            prober.Mode
	engine          string
	receiveBuffer   int // --ping.receive-buffer, bytes; 0 = from the rate
	resolveInterval time.Duration
	shard           shard.Shard       // --targets.shard; zero value: shard.All
	series          collector.Options // --metrics.*
	logger          *slog.Logger
	reload          <-chan struct{} // one value per SIGHUP

	// Hooks for tests; zero values mean the real thing.
	listeners   []net.Listener                              // serve on these instead of --web.listen-address
	newEngine   func(prober.Options) (prober.Engine, error) // e.g. inside a network namespace
	resolver    targets.Resolver
	resolveTick time.Duration // how often the resolver looks for due names
	now         func() time.Time
}

// exporter is the running application: config, engine, metrics, server.
type exporter struct {
	o        options
	reg      *prometheus.Registry
	col      *collector.Collector // served next to reg, not registered: see Collector.Gather
	targets  *targets.Manager
	reloader *reload.Reloader
}

// run validates the configuration, starts probing and serves HTTP until ctx
// is cancelled, then shuts down gracefully.
func run(ctx context.Context, o options) error {
	o = o.withDefaults()
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	if o.configCheck {
		o.logger.Info("configuration is valid", "targets", len(cfg.Targets), "shard", o.shard.String())
		return nil
	}
	e := &exporter{o: o, reg: prometheus.NewRegistry()}
	e.registerSelfMetrics()
	eng, err := o.newEngine(prober.Options{Mode: o.mode, Engine: o.engine, Logger: o.logger, Registerer: e.reg,
		ReceiveBuffer: o.receiveBuffer})
	if err != nil {
		return fmt.Errorf("start %s prober: %w", o.mode, err)
	}
	defer eng.Close()
	e.col = collector.NewWithOptions(o.now, o.series)
	e.targets = targets.New(targets.Options{
		Engine: eng, Collector: e.col, Resolver: o.resolver, Logger: o.logger, Now: o.now,
		ResolveInterval: o.resolveInterval, ResolveTick: o.resolveTick, Registerer: e.reg,
	})
	e.targets.Apply(cfg)
	e.reloader = reload.New(program, e.reg, o.logger, o.now, e.reload)
	if len(cfg.Targets) == 0 {
		o.logger.Warn("no targets: give some as arguments or in --config.file")
	}
	o.logger.Info("started", "targets", len(cfg.Targets), "shard", o.shard.String(), "mode", o.mode.String(), "engine", o.engine, "version", version.Info())

	var wg sync.WaitGroup
	rctx, stopResolver := context.WithCancel(ctx)
	wg.Go(func() { e.targets.Run(rctx) })
	defer func() { stopResolver(); wg.Wait() }()
	return e.serve(ctx)
}

// loadConfig loads the file and arguments, keeps this exporter's shard
// (--targets.shard) and applies the limits: a configuration with no target
// (unless --config.allow-empty) or whose shard is above --ping.max-rate is
// refused at start and on reload alike. A shard may be empty when the whole
// configuration is not: a few targets split among many exporters.
func (o options) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(o.configFile, o.defaults, o.args)
	if err != nil {
		return nil, err
	}
	limits := o.limits
	if len(cfg.Targets) > 0 && o.shard.Count > 1 {
		limits.AllowEmpty = true
	}
	cfg = o.shard.Filter(cfg)
	if err := cfg.Check(o.configFile, limits); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (o options) withDefaults() options {
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.newEngine == nil {
		o.newEngine = prober.New
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.telemetryPath == "" {
		o.telemetryPath = "/metrics"
	}
	o.webLimits = o.webLimits.withDefaults()
	if o.engine == "" {
		o.engine = prober.EngineShared
	}
	if o.shard == (shard.Shard{}) {
		o.shard = shard.All
	}
	return o
}

func (e *exporter) registerSelfMetrics() {
	e.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(program),
	)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "downtime_exporter_shard_info",
		Help: "This exporter's share of the configured targets (--targets.shard=shard/shards); 0/1 probes them all.",
	}, []string{"shard", "shards"})
	info.WithLabelValues(strconv.Itoa(e.o.shard.Index), strconv.Itoa(e.o.shard.Count)).Set(1)
	e.reg.MustRegister(info)
}

// reload loads the configuration again and applies it (the load function of
// the shared reloader, which serialises calls, logs failures and keeps the
// gauges). On error the running configuration stays.
func (e *exporter) reload() error {
	cfg, err := e.o.loadConfig()
	if err != nil {
		return err
	}
	e.targets.Apply(cfg)
	e.o.logger.Info("configuration reloaded", "targets", len(cfg.Targets))
	return nil
}

// serve runs the HTTP server until ctx is done, reloading on e.o.reload.
func (e *exporter) serve(ctx context.Context) error {
	h, err := e.handler()
	if err != nil {
		return err
	}
	srv := e.o.webLimits.newServer(h)
	errc := make(chan error, 1)
	go func() {
		if e.o.listeners != nil {
			errc <- web.ServeMultiple(e.o.listeners, srv, e.o.web, e.o.logger)
		} else {
			errc <- web.ListenAndServe(srv, e.o.web, e.o.logger)
		}
	}()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("web server: %w", err)
		case <-e.o.reload:
			_ = e.reloader.Reload() // logged; the gauge tells
		case <-ctx.Done():
			e.o.logger.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			err := srv.Shutdown(sctx)
			if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			return err
		}
	}
}

// handler routes the metrics, landing page, health and reload endpoints.
func (e *exporter) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(e.o.telemetryPath, e.o.webLimits.limitScrapes(e.metricsHandler()))
	if e.o.telemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Downtime Exporter",
			Description: "Continuous ICMP probing: reachability, round-trip time and loss per host",
			Version:     version.Info(),
			Profiling:   "false", // no pprof handlers here
			Links: []web.LandingLinks{
				{Address: e.o.telemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	health := &reload.Health{}
	health.SetReady(true) // probing runs from the start
	health.Register(mux, e.reloader)
	return mux, nil
}
