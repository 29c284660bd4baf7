// Package fakes holds test doubles for the exporter: an Engine that
// records targets and plays probes on demand, and a Resolver that answers
// from a map. They need no root and no network.
package fakes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/prober"
)

// Engine is a prober.Engine that records targets; tests play probes with
// Probe.
type Engine struct {
	mu      sync.Mutex
	targets map[string]Target
	adds    int
}

// Target is what the engine was given for a key.
type Target struct {
	T   prober.Target
	Obs prober.Observer
}

// NewEngine returns an engine with no targets.
func NewEngine() *Engine { return &Engine{targets: map[string]Target{}} }

// New has the signature of prober.New, for options that take one.
func (f *Engine) New(prober.Options) (prober.Engine, error) { return f, nil }

// Add implements prober.Engine.
func (f *Engine) Add(key string, t prober.Target, obs prober.Observer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets[key] = Target{t, obs}
	f.adds++
	return nil
}

// Remove implements prober.Engine.
func (f *Engine) Remove(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.targets, key)
}

// Close implements prober.Engine.
func (f *Engine) Close() error { return nil }

// Get returns what key is probed with, if it is.
func (f *Engine) Get(key string) (Target, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft, ok := f.targets[key]
	return ft, ok
}

// Adds counts the calls to Add so far.
func (f *Engine) Adds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adds
}

// Probe plays one probe of key sent at at: replied (1 ms later) or lost.
func (f *Engine) Probe(tb testing.TB, key string, reply bool, at time.Time) {
	tb.Helper()
	ft, ok := f.Get(key)
	if !ok {
		tb.Fatalf("probe %s: got no such target in the engine, want one", key)
	}
	ft.Obs.Sent(at)
	if reply {
		ft.Obs.Replied(time.Millisecond, at.Add(time.Millisecond))
	} else {
		ft.Obs.Lost()
	}
}

// WaitAddr waits (polling) until key is probed at addr; for tests that run
// the whole exporter with its own goroutines.
func (f *Engine) WaitAddr(tb testing.TB, key string, addr netip.Addr, timeout time.Duration) Target {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ft, ok := f.Get(key)
		if ok && ft.T.Addr == addr {
			return ft
		}
		if time.Now().After(deadline) {
			tb.Fatalf("engine target %s: got %v (present %v), want address %s within %s", key, ft.T.Addr, ok, addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Resolver answers from a map; unknown names are "no such host".
type Resolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
	calls map[string]int
}

// NewResolver returns a resolver knowing hosts (name to one address).
func NewResolver(hosts map[string]string) *Resolver {
	r := &Resolver{hosts: map[string][]netip.Addr{}, calls: map[string]int{}}
	for h, a := range hosts {
		r.Set(h, a)
	}
	return r
}

// Set makes host resolve to addrs.
func (r *Resolver) Set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[host] = nil
	for _, a := range addrs {
		r.hosts[host] = append(r.hosts[host], netip.MustParseAddr(a))
	}
}

// Delete makes host unknown.
func (r *Resolver) Delete(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.hosts, host)
}

// Calls counts the lookups of host so far.
func (r *Resolver) Calls(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// LookupNetIP implements targets.Resolver.
func (r *Resolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[host]++
	addrs, ok := r.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: fmt.Sprintf("no %s address", network), Name: host, IsNotFound: true}
	}
	return out, nil
}
