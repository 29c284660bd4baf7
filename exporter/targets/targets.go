// Package targets keeps the probing engine and the collector in step with
// the configuration: it applies (re)loaded target sets, resolves host names
// (at start, periodically, and early when a target goes silent) and moves
// probing to a name's new address.
package targets

import (
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/prober"
)

var _ prober.Observer = (*collector.Target)(nil)

// Manager keeps the engine, the collector and the configured targets in
// step: it applies (re)loaded configurations and follows names' addresses.
type Manager struct {
	eng     prober.Engine
	col     *collector.Collector
	res     Resolver
	log     *slog.Logger
	now     func() time.Time
	every   time.Duration // --ping.resolve-interval
	tick    time.Duration
	kick    chan struct{}
	targets prometheus.Gauge

	mu    sync.Mutex
	byKey map[string]*target // by config.Target.Host, the engine key
	// names are the targets given by host name, the only ones due looks
	// at: it scanned every target each second, 1 % of the exporter's CPU
	// at 10,000 addresses, for nothing (issue 14's profile).
	names []*target
	batch *[]prober.Item // during Apply: targets to add at its end
}

// target is one configured target: its settings, its metrics and, for
// names, where resolution stands. Fields are guarded by Manager.mu.
type target struct {
	cfg  config.Target
	obs  *collector.Target
	addr netip.Addr // being probed; zero = none

	since      time.Time     // probing of addr started
	resolvedAt time.Time     // last resolution attempt
	next       time.Time     // next regular resolution
	early      time.Duration // wait between early resolutions while silent
	resolving  bool
	failing    bool // the last resolution failed
}

// Options configure a Manager. Zero values mean: net.DefaultResolver, no
// logging, time.Now, resolution every 5 minutes looked at every second.
type Options struct {
	Engine    prober.Engine
	Collector *collector.Collector
	Resolver  Resolver
	Logger    *slog.Logger
	Now       func() time.Time
	// ResolveInterval is how often names are resolved again
	// (--ping.resolve-interval).
	ResolveInterval time.Duration
	// ResolveTick is how often Run looks for names due for resolution.
	ResolveTick time.Duration
	// Registerer gets downtime_exporter_targets; nil = none.
	Registerer prometheus.Registerer
}

// New returns a Manager with no targets; Apply gives it some, Run resolves
// their names.
func New(o Options) *Manager {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ResolveInterval <= 0 {
		o.ResolveInterval = 5 * time.Minute
	}
	if o.ResolveTick <= 0 {
		o.ResolveTick = time.Second
	}
	m := &Manager{
		eng: o.Engine, col: o.Collector, res: o.Resolver, log: o.Logger, now: o.Now,
		every: o.ResolveInterval, tick: o.ResolveTick,
		kick:  make(chan struct{}, 1),
		byKey: map[string]*target{},
		targets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "downtime_exporter_targets",
			Help: "Number of configured targets.",
		}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(m.targets)
	}
	return m
}

// Apply makes cfg the running set of targets. Targets whose name, labels
// and settings are unchanged keep probing and keep their counters; changed
// settings restart probing with the same counters; changed labels make a new
// series; removed targets stop and their series vanish.
func (m *Manager) Apply(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*target, len(cfg.Targets))
	list := make([]*collector.Target, 0, len(cfg.Targets))
	var batch []prober.Item
	m.batch = &batch
	defer func() { m.batch = nil; m.addAll(batch) }()
	for _, c := range cfg.Targets {
		t := m.byKey[c.Host]
		switch {
		case t == nil || !maps.Equal(t.cfg.Labels, c.Labels):
			nt := &target{cfg: c, obs: m.col.NewTarget(c.Host, c.Labels, time.Duration(c.Interval))}
			if t != nil {
				m.eng.Remove(c.Host)
				if t.cfg.IPFamily == c.IPFamily {
					nt.addr = t.addr // a name keeps its address until re-resolved
					nt.obs.SetAddr(nt.addr)
				}
			}
			t = nt
			m.start(t)
		case !sameSettings(t.cfg, c):
			m.log.Info("target settings changed, restarting its probes", "target", c.Host)
			m.eng.Remove(c.Host)
			familyChanged := t.cfg.IPFamily != c.IPFamily
			t.cfg = c
			t.obs.SetInterval(time.Duration(c.Interval))
			if familyChanged {
				t.addr = netip.Addr{}
				t.obs.SetAddr(t.addr)
			}
			m.start(t)
		}
		t.obs.SetParent(c.Parent)
		next[c.Host] = t
		list = append(list, t.obs)
	}
	for k := range m.byKey {
		if next[k] == nil {
			m.eng.Remove(k)
		}
	}
	m.byKey = next
	m.names = nil
	for _, t := range next {
		if !t.cfg.Addr.IsValid() {
			m.names = append(m.names, t)
		}
	}
	m.col.SetTargets(list)
	m.targets.Set(float64(len(list)))
	select { // resolve new names now
	case m.kick <- struct{}{}:
	default:
	}
}

// sameSettings compares what the engine and the resolver use.
func sameSettings(a, b config.Target) bool {
	return a.Interval == b.Interval && a.Timeout == b.Timeout && a.Size == b.Size &&
		a.SourceAddr == b.SourceAddr && a.IPFamily == b.IPFamily
}

// start probes t's address: an IP literal right away, a name once resolved
// (or its last address again, after a settings change).
func (m *Manager) start(t *target) {
	if t.cfg.Addr.IsValid() {
		t.addr = t.cfg.Addr
		t.obs.SetAddr(t.addr)
	}
	if !t.addr.IsValid() {
		t.next = time.Time{} // due now
		return
	}
	m.probe(t)
}

// probe (re)starts the engine on t.addr with the same observer; during
// Apply, at the end of it (see addAll).
func (m *Manager) probe(t *target) {
	t.since = m.now()
	it := prober.Item{Key: t.cfg.Host, Obs: t.obs, Target: prober.Target{
		Addr:        t.addr,
		Source:      t.cfg.SourceAddr,
		Interval:    time.Duration(t.cfg.Interval),
		Timeout:     time.Duration(t.cfg.Timeout),
		PayloadSize: t.cfg.Size,
	}}
	if m.batch != nil {
		*m.batch = append(*m.batch, it)
		return
	}
	if err := m.eng.Add(it.Key, it.Target, it.Obs); err != nil {
		m.log.Error("cannot probe target", "target", t.cfg.Host, "addr", t.addr, "err", err)
	}
}

// addAll starts the targets Apply collected, in one call when the engine
// can (prober.BatchAdder): adding 100,000 targets one Add at a time, each
// waiting for the lock behind the probing already under way, took minutes.
func (m *Manager) addAll(items []prober.Item) {
	if b, ok := m.eng.(prober.BatchAdder); ok {
		if err := b.AddAll(items); err != nil {
			m.log.Error("cannot probe targets", "err", err)
		}
		return
	}
	for _, it := range items {
		if err := m.eng.Add(it.Key, it.Target, it.Obs); err != nil {
			m.log.Error("cannot probe target", "target", it.Key, "addr", it.Target.Addr, "err", err)
		}
	}
}
