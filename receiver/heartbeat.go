package main

import (
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/heartbeat"
	"github.com/downtime-detector/downtime/receiver/store"
)

// timeoutFlag is --heartbeat.timeout: set only when given, so that the
// configuration's heartbeat.timeout applies otherwise. unchecked skips the
// minimum (the hidden --heartbeat.test-timeout).
type timeoutFlag struct {
	d         **time.Duration
	unchecked bool
}

func (f timeoutFlag) Set(s string) error {
	d, err := model.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("--heartbeat.timeout: invalid duration %q (use 90s, 5m, 1h; 0 disables)", s)
	}
	if err := config.CheckHeartbeatTimeout(time.Duration(d)); err != nil && !f.unchecked {
		return fmt.Errorf("--heartbeat.timeout %w", err)
	}
	v := time.Duration(d)
	*f.d = &v
	return nil
}

func (f timeoutFlag) String() string {
	if *f.d == nil {
		return ""
	}
	return model.Duration(**f.d).String()
}

func addHeartbeatFlags(app *kingpin.Application, opts *options) {
	app.Flag("heartbeat.timeout", "Warn once when no heartbeat (Watchdog alert) has arrived from a source for this long; 0 disables. Overrides heartbeat.timeout of the config file (default 5m).").
		PlaceHolder("5m").SetValue(timeoutFlag{d: &opts.heartbeatTimeout})
	// The process tests (kill -9 the receiver during a silence) cannot wait
	// minutes for a timeout: this hidden flag is --heartbeat.timeout
	// without the 1m minimum, which only protects real setups from a
	// timeout shorter than the Watchdog's repeat interval.
	app.Flag("heartbeat.test-timeout", "For tests: --heartbeat.timeout without its minimum.").
		Hidden().SetValue(timeoutFlag{d: &opts.heartbeatTimeout, unchecked: true})
}

// heartbeatSettings are the heartbeat settings in force: the current
// configuration's, with --heartbeat.timeout winning over its timeout.
func heartbeatSettings(opts *options, l *live) func() heartbeat.Settings {
	return func() heartbeat.Settings {
		h := l.load().cfg.Heartbeat
		s := heartbeat.Settings{Alertname: h.Alertname, Timeout: time.Duration(h.Timeout)}
		if opts.heartbeatTimeout != nil {
			s.Timeout = *opts.heartbeatTimeout
		}
		return s
	}
}

// newHeartbeat builds the dead man's switch on the store, routed and
// rendered by the live configuration; queued wakes the sender.
func newHeartbeat(opts *options, st store.Store, l *live, reg prometheus.Registerer, queued func()) *heartbeat.Watcher {
	return heartbeat.New(heartbeat.Options{Store: st, Router: l, Renderer: l, Settings: heartbeatSettings(opts, l),
		Clock: opts.clock, Logger: opts.logger, Registerer: reg, Queued: queued})
}
