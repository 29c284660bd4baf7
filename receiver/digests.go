package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/digest"
	"github.com/downtime-detector/downtime/receiver/store"
)

const (
	// digestGrace is how late a digest is still sent: one due while the
	// receiver was stopped goes out when it starts within this time.
	digestGrace = time.Hour
	// digestRecheck bounds the digester's sleep, so that a digest added
	// or moved by a reload is due on time.
	digestRecheck = 5 * time.Minute
)

// digester queues each route's digest, and the default chat's, at its
// local time. The job's idempotency key names the route and the period, so
// a restart (or a second pass within digestGrace) never queues it twice.
type digester struct {
	lv     *live
	st     store.Store
	log    incident.Lister
	clk    clock.Clock
	logger *slog.Logger
	queued func()
}

// run queues digests as they fall due until ctx is done.
func (d *digester) run(ctx context.Context) {
	for {
		now := d.clk.Now()
		cfg := d.lv.load().cfg
		wake := now.Add(digestRecheck)
		for _, r := range digestTargets(cfg) {
			s := schedule(r.Digest, cfg.Location())
			next := s.Next(now)
			if due := s.Span(next).From; now.Sub(due) < digestGrace {
				if err := d.queue(ctx, cfg, r, s, due, now); err != nil {
					d.logger.Error("queueing digest", "route", r.Name, "default_chat", r.Name == "", "err", err)
				}
			}
			if next.Before(wake) {
				wake = next
			}
		}
		t := d.clk.NewTimer(wake.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// digestTargets are the routes with a digest and, when telegram.digest is
// set, the default chat as a route named "" (its incidents' route): the
// same destination the webhook gives the alerts no route takes.
func digestTargets(cfg *config.Config) []config.RouteConfig {
	var out []config.RouteConfig
	for _, r := range cfg.Routes {
		if r.Digest != nil {
			out = append(out, r)
		}
	}
	if t := cfg.Telegram; t.Digest != nil && t.ChatID != "" {
		out = append(out, config.RouteConfig{ChatID: t.ChatID, MessageThreadID: t.MessageThreadID, Digest: t.Digest})
	}
	return out
}

func schedule(dg *config.Digest, loc *time.Location) digest.Schedule {
	h, m := dg.Time()
	return digest.Schedule{Period: digest.Period(dg.Period), Weekday: dg.Day(), Hour: h, Minute: m, Location: loc}
}

// digestKey is the idempotency key of route's digest due at due ("" is
// the default chat: "digest//<unix>", which no route name can give).
func digestKey(route string, due time.Time) string {
	return fmt.Sprintf("digest/%s/%d", route, due.Unix())
}

// queue builds and queues the digest of r due at due, unless it was queued
// before (its key) or there is nothing to say.
func (d *digester) queue(ctx context.Context, cfg *config.Config, r config.RouteConfig, s digest.Schedule, due, now time.Time) error {
	key := digestKey(r.Name, due)
	var seen bool
	if err := d.st.Update(func(tx store.Tx) (err error) { seen, err = tx.Seen(key); return err }); err != nil || seen {
		return err
	}
	span := s.Span(due)
	incs, err := d.log.List(ctx, incident.Filter{Route: r.Name, Since: span.From, Until: span.To})
	if err != nil {
		return err
	}
	if r.Name == "" { // the filter's "" is every route: keep the default chat's
		incs = slices.DeleteFunc(incs, func(i incident.Incident) bool { return i.Route != "" })
	}
	text, ok := digest.Build(digest.Input{Period: s.Period, Span: span, Incidents: incs, Now: now,
		Location: cfg.Location(), QuietLine: r.Digest.QuietLine})
	job := store.Job{Kind: store.KindDigest, Route: r.Name, ChatID: r.ChatID, ThreadID: r.MessageThreadID,
		Text: text, Silent: r.Silent, Keys: []string{key}}
	if !ok { // a quiet period without quiet_line: nothing to send
		return nil
	}
	queued, err := store.Enqueue(d.st, []store.Job{job}, now)
	if err != nil {
		return err
	}
	if len(queued) > 0 {
		d.logger.Info("digest queued", "route", r.Name, "default_chat", r.Name == "", "period", s.Period,
			"incidents", len(incs))
		d.queued()
	}
	return nil
}
