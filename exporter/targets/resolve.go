package targets

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/downtime-detector/downtime/exporter/config"
)

// Resolver looks up host names; *net.Resolver is one. Tests inject a map.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

const (
	resolveTimeout    = 10 * time.Second
	resolveConcurrent = 8
)

// Run resolves names when due until ctx is done: at start, every --ping.resolve-interval,
// after a failure (with backoff), and early when a target stops answering,
// since a silent host may have moved to another address.
func (m *Manager) Run(ctx context.Context) {
	tick := time.NewTicker(m.tick)
	defer tick.Stop()
	for {
		m.resolveDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-m.kick:
		}
	}
}

// job is one resolution to do, copied out of the lock.
type job struct {
	t       *target
	host    string
	family  string
	current netip.Addr
}

func (m *Manager) resolveDue(ctx context.Context) {
	jobs := m.due(m.now())
	sem := make(chan struct{}, resolveConcurrent)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
			defer cancel()
			addr, err := resolve(rctx, m.res, j.host, j.family, j.current)
			m.resolved(j, addr, err)
		})
	}
	wg.Wait()
}

// due lists the names to resolve now and marks them as being resolved.
func (m *Manager) due(now time.Time) []job {
	m.mu.Lock()
	defer m.mu.Unlock()
	var jobs []job
	for _, t := range m.names {
		if t.resolving {
			continue
		}
		if !now.Before(t.next) || m.silent(t, now) {
			t.resolving = true
			jobs = append(jobs, job{t: t, host: t.cfg.Host, family: t.cfg.IPFamily, current: t.addr})
		}
	}
	return jobs
}

// silent reports whether t has been probed without a reply for longer than
// its up-window, and its early re-resolution backoff has passed.
func (m *Manager) silent(t *target, now time.Time) bool {
	if !t.addr.IsValid() {
		return false
	}
	window := t.obs.UpWindow()
	last := t.obs.LastReply()
	if last.After(t.resolvedAt) {
		t.early = window // answering again: reset the backoff
	}
	if t.early == 0 {
		t.early = window
	}
	if t.since.After(last) {
		last = t.since
	}
	quiet := now.Sub(last) > window
	return quiet && now.Sub(t.resolvedAt) >= t.early
}

// resolved applies the outcome of a resolution.
func (m *Manager) resolved(j job, addr netip.Addr, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := j.t
	t.resolving = false
	if m.byKey[j.host] != t {
		return // removed or replaced by a reload meanwhile
	}
	if t.cfg.IPFamily != j.family {
		t.next = time.Time{} // family changed by a reload meanwhile: again
		return
	}
	now := m.now()
	t.resolvedAt = now
	t.early = min(2*t.early, m.every)
	if err != nil {
		t.obs.ResolveFailed()
		// Keep probing the last address, if any; retry after an up-window.
		t.next = now.Add(min(t.obs.UpWindow(), m.every))
		level := slog.LevelDebug // the counter tells; log the change only
		if !t.failing {
			level = slog.LevelWarn
		}
		t.failing = true
		m.log.Log(context.Background(), level, "cannot resolve target", "target", j.host, "err", err, "probing", t.addr)
		return
	}
	if t.failing {
		m.log.Info("target resolves again", "target", j.host)
		t.failing = false
	}
	t.next = now.Add(m.every)
	if addr == t.addr {
		return
	}
	if t.addr.IsValid() {
		m.log.Info("target address changed", "target", j.host, "old", t.addr, "new", addr)
	} else {
		m.log.Info("target resolved", "target", j.host, "addr", addr)
	}
	t.addr = addr
	t.obs.SetAddr(addr)
	m.probe(t) // Add replaces the old address; the observer stays
}

// resolve looks host up and picks one address of family: current if still
// listed (no flapping between the addresses of a round-robin name), else
// the first IPv4 address for "auto" if any, else the first one.
func resolve(ctx context.Context, r Resolver, host, family string, current netip.Addr) (netip.Addr, error) {
	network := map[string]string{config.FamilyIP4: "ip4", config.FamilyIP6: "ip6"}[family]
	if network == "" {
		network = "ip"
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	var pick []netip.Addr
	switch family {
	case config.FamilyIP4:
		pick = v4
	case config.FamilyIP6:
		pick = v6
	default:
		pick = append(v4, v6...)
	}
	for _, a := range pick {
		if a == current {
			return a, nil
		}
	}
	if len(pick) == 0 {
		return netip.Addr{}, fmt.Errorf("%s has no %s address", host, family)
	}
	return pick[0], nil
}
