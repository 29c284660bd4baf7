// Package ha lets several receivers sharing one store (PostgreSQL) behave
// as one: a Leader runs a piece of work (draining the queue, polling
// Telegram for updates) in at most one process at a time, under a named
// lease in the store that its holder keeps renewing. When the holder dies
// (kill -9, a crash, a cut-off network) it stops renewing, and another
// process takes the lease over once it has expired: within TTL plus one
// Renew interval (10 s + 3 s with the defaults).
//
// With a store that has no leases (bbolt: one process, its file lock keeps
// a second receiver out) the lease is always held and the work simply runs.
//
// Wiring a new piece of work (the chat poller, say) takes one Leader with
// its own Name:
//
//	poller := ha.New(ha.Options{Leaser: leaser, Name: "poller", Holder: id, ...})
//	go poller.Run(ctx, func(ctx context.Context) { pollUpdates(ctx) })
//
// The work must return soon after its context is cancelled: the lease may
// be lost at any time, and a new holder starts once it has expired.
package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/store"
)

// Defaults: a holder renews three times per TTL, so two renewals can fail
// (a slow database, a lost packet) before it lets go.
const (
	DefaultTTL   = 10 * time.Second
	DefaultRenew = 3 * time.Second
)

// Options configure a Leader.
type Options struct {
	// Leaser is the shared store's lease table; nil: always the leader.
	Leaser store.Leaser
	// Name of the lease, also the metric's role label ("sender", "poller").
	Name string
	// Holder names this process (see Holder); every process needs its own.
	Holder string
	// TTL is how long a taken or renewed lease lasts (default DefaultTTL);
	// Renew how often the holder renews it and others try to take it
	// (default DefaultRenew, at most TTL/2).
	TTL, Renew time.Duration
	Clock      clock.Clock // default clock.Real()
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Leader runs work while it holds its lease.
type Leader struct {
	opts  Options
	gauge prometheus.Gauge
}

// New returns a Leader; Run starts it.
func New(o Options) *Leader {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Renew <= 0 {
		o.Renew = DefaultRenew
	}
	o.Renew = min(o.Renew, o.TTL/2)
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Holder == "" {
		o.Holder = Holder()
	}
	o.Logger = o.Logger.With("lease", o.Name, "holder", o.Holder)
	return &Leader{opts: o, gauge: leaderGauge(o.Registerer).WithLabelValues(o.Name)}
}

// leaderGauge registers downtime_receiver_leader once per registry; every
// Leader adds its role.
func leaderGauge(reg prometheus.Registerer) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "downtime_receiver_leader",
		Help: "1 while this receiver holds the lease of the role (sender: drains the queue), else 0. Always 1 with the embedded bbolt store.",
	}, []string{"role"})
	if reg == nil {
		return g
	}
	if err := reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.GaugeVec); ok {
				return existing
			}
		}
		panic(err)
	}
	return g
}

// Holder returns a name for this process that no other process has: host
// name, pid and a random suffix (a restarted process is a new holder, so it
// never mistakes its predecessor's lease for its own).
func Holder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run runs work whenever this process holds the lease, until ctx is done;
// work's context is cancelled when the lease is lost, and Run waits for it
// to return before trying again. On return Run releases the lease, so that
// another process takes over at once instead of after the TTL.
func (l *Leader) Run(ctx context.Context, work func(context.Context)) {
	if l.opts.Leaser == nil {
		l.gauge.Set(1)
		work(ctx)
		l.gauge.Set(0)
		return
	}
	t := &term{l: l}
	defer func() {
		t.stop("shutting down")
		if err := l.opts.Leaser.ReleaseLease(l.opts.Name, l.opts.Holder); err != nil {
			l.opts.Logger.Warn("releasing lease", "err", err)
		}
	}()
	for ctx.Err() == nil {
		now := l.opts.Clock.Now()
		ok, err := l.try(t, now)
		switch {
		case err != nil:
			l.opts.Logger.Warn("renewing lease failed", "err", err)
		case ok:
			t.validUntil = now.Add(l.opts.TTL)
			if t.cancel == nil {
				l.opts.Logger.Info("took the lease: this receiver now does the work")
				t.start(ctx, work)
			}
		default:
			t.stop("another receiver holds the lease")
		}
		if !l.sleep(ctx, t) {
			return
		}
	}
}

// try calls TryLease and, when the call failed after the lease ran out,
// stops the work.
//
// The call is synchronous: while it hangs (the database unreachable), the
// work cannot reach the database either (the sender reads its next job and
// records each send there), so it is stuck too; only a Telegram call already
// in flight completes, the inherent window described in receiver/README.md.
func (l *Leader) try(t *term, now time.Time) (bool, error) {
	ok, err := l.opts.Leaser.TryLease(l.opts.Name, l.opts.Holder, l.opts.TTL, now)
	if err != nil && !l.opts.Clock.Now().Before(t.validUntil) {
		t.stop("the lease ran out: renewals failed")
	}
	return ok, err
}

// sleep waits one renew interval, or less when the lease runs out first
// (then it stops the work). It returns false when ctx is done.
func (l *Leader) sleep(ctx context.Context, t *term) bool {
	now := l.opts.Clock.Now()
	wait := l.opts.Renew
	expires := t.cancel != nil && t.validUntil.Sub(now) < wait
	if expires {
		wait = t.validUntil.Sub(now)
	}
	timer := l.opts.Clock.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C():
	}
	if expires {
		t.stop("the lease ran out: renewals failed")
	}
	return true
}

// term is one stretch of holding the lease and running the work.
type term struct {
	l          *Leader
	validUntil time.Time
	cancel     context.CancelFunc
	done       chan struct{}
}

func (t *term) start(ctx context.Context, work func(context.Context)) {
	wctx, cancel := context.WithCancel(ctx)
	t.cancel, t.done = cancel, make(chan struct{})
	t.l.gauge.Set(1)
	go func() {
		defer close(t.done)
		work(wctx)
	}()
}

// stop cancels the work and waits for it to return.
func (t *term) stop(why string) {
	if t.cancel == nil {
		return
	}
	t.cancel()
	<-t.done
	t.cancel = nil
	t.l.gauge.Set(0)
	t.l.opts.Logger.Info("stopped working under the lease", "why", why)
}
