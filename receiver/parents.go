package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/behind"
	"github.com/downtime-detector/downtime/receiver/store"
)

// parentsInterval is how often the hosts behind down parents are asked
// from Alertmanager (and at once when a new parent is down).
const parentsInterval = 30 * time.Second

// parents keeps the messages of down parents current with the hosts behind
// them (receiver/behind), when an Alertmanager API is known (am non-nil);
// otherwise a parent's message shows the count from its annotation alone.
// observe goes to the webhook handler; run blocks until ctx is done.
type parents struct {
	observe func(store.AlertRef, template.Alert)
	run     func(ctx context.Context)
}

func newParents(am behind.Lister, st store.Store, lv *live, queued func(), clk clock.Clock,
	now func() time.Time, logger *slog.Logger, reg prometheus.Registerer) parents {
	if am == nil {
		return parents{run: func(context.Context) {}}
	}
	tr := behind.New(behind.Options{Store: st, Alerts: am, Text: lv.EditText, Queued: queued, Now: now,
		Logger: logger, Registerer: reg})
	return parents{observe: tr.Observe, run: func(ctx context.Context) { tr.Run(ctx, clk, parentsInterval) }}
}

// parentLister is the Alertmanager that lists the hosts behind a down
// parent: the one injected by tests, else the configuration's client when
// one is configured at start (nil otherwise: no tracker runs, and no timer
// of opts.clock, which tests count). A reload may change or remove the
// client; without one it lists nothing and a parent's message keeps the
// count from its annotation. One added by a reload needs a restart here.
func parentLister(injected behind.Lister, am liveAM) behind.Lister {
	if injected != nil {
		return injected
	}
	if !am.Enabled() {
		return nil
	}
	return am
}
