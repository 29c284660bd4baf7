package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/internal/fakes"
)

const namesConfig = `
targets:
  - host: db.example.internal
    interval: 100ms
  - host: nowhere.example.internal
    interval: 100ms
`

// Resolution is unit-tested in exporter/targets with a fake clock; these
// check it end to end through run() and /metrics.

// TestUnresolvable: a name that does not resolve is a down target whose
// resolve-error counter grows as it is retried; nothing crashes.
func TestUnresolvable(t *testing.T) {
	fe, fr := fakes.NewEngine(), fakes.NewResolver(map[string]string{"db.example.internal": "127.0.0.5"})
	a := start(t, options{configFile: tempConfig(t, namesConfig), newEngine: fe.New,
		resolver: fr, resolveTick: 20 * time.Millisecond, resolveInterval: time.Hour})
	body, ok := a.waitFor(t, 5*time.Second, func(body string) bool {
		v, _ := value(body, `ping_resolve_errors_total{target="nowhere.example.internal"}`)
		return v >= 2
	})
	if !ok {
		t.Fatalf("resolve errors: got %q, want >= 2 within 5 s (retried)", body)
	}
	if got := mustValue(t, body, `ping_up{target="nowhere.example.internal"}`); got != 0 {
		t.Errorf("ping_up: got %v, want 0", got)
	}
	if _, ok := value(body, `ping_target_info{family="",ip="",target="nowhere.example.internal"}`); !ok {
		t.Errorf("info: got no ping_target_info with empty ip, want one")
	}
	if _, ok := fe.Get("nowhere.example.internal"); ok {
		t.Errorf("engine: got the unresolved name probed, want not")
	}
	fe.WaitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 5*time.Second)
}

// TestAddressChange: a name is re-resolved every --ping.resolve-interval;
// a new address restarts probing with the same counters, and a failed
// resolution keeps probing the last address.
func TestAddressChange(t *testing.T) {
	fe, fr := fakes.NewEngine(), fakes.NewResolver(map[string]string{"db.example.internal": "127.0.0.5"})
	a := start(t, options{configFile: tempConfig(t, namesConfig), newEngine: fe.New,
		resolver: fr, resolveTick: 20 * time.Millisecond, resolveInterval: 200 * time.Millisecond})
	first := fe.WaitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 5*time.Second)
	fe.Probe(t, "db.example.internal", true, time.Now())
	fe.Probe(t, "db.example.internal", true, time.Now())

	fr.Set("db.example.internal", "127.0.0.6")
	moved := fe.WaitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.6"), 5*time.Second)
	if moved.Obs != first.Obs {
		t.Errorf("after the address change: got a new observer, want the same")
	}
	body, ok := a.waitFor(t, 2*time.Second, is(`ping_target_info{family="ip4",ip="127.0.0.6",target="db.example.internal"}`, 1))
	if !ok {
		t.Errorf("info after the change: got %q, want ip 127.0.0.6", body)
	}
	if got := mustValue(t, body, `ping_requests_total{target="db.example.internal"}`); got != 2 {
		t.Errorf("requests after the change: got %v, want 2 (kept)", got)
	}

	fr.Delete("db.example.internal")
	if body, ok := a.waitFor(t, 5*time.Second, func(b string) bool {
		v, _ := value(b, `ping_resolve_errors_total{target="db.example.internal"}`)
		return v >= 1
	}); !ok {
		t.Fatalf("resolve errors after the name vanished: got %q, want >= 1", body)
	}
	if ft, _ := fe.Get("db.example.internal"); ft.T.Addr != netip.MustParseAddr("127.0.0.6") {
		t.Errorf("after a failed resolution: got %v probed, want the last address 127.0.0.6", ft.T.Addr)
	}
}
