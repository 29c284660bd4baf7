package main

import (
	"net/netip"
	"testing"
	"time"
)

const namesConfig = `
targets:
  - host: db.example.internal
    interval: 100ms
  - host: nowhere.example.internal
    interval: 100ms
`

// TestUnresolvable: a name that does not resolve is a down target whose
// resolve-error counter grows as it is retried; nothing crashes.
func TestUnresolvable(t *testing.T) {
	fe, fr := newFakeEngine(), newFakeResolver(map[string]string{"db.example.internal": "127.0.0.5"})
	a := start(t, options{configFile: tempConfig(t, namesConfig), newEngine: fe.newEngine,
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
	if _, ok := fe.get("nowhere.example.internal"); ok {
		t.Errorf("engine: got the unresolved name probed, want not")
	}
	fe.waitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 5*time.Second)
}

// TestAddressChange: a name is re-resolved every --ping.resolve-interval;
// a new address restarts probing with the same counters, and a failed
// resolution keeps probing the last address.
func TestAddressChange(t *testing.T) {
	fe, fr := newFakeEngine(), newFakeResolver(map[string]string{"db.example.internal": "127.0.0.5"})
	a := start(t, options{configFile: tempConfig(t, namesConfig), newEngine: fe.newEngine,
		resolver: fr, resolveTick: 20 * time.Millisecond, resolveInterval: 200 * time.Millisecond})
	first := fe.waitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 5*time.Second)
	fe.probe(t, "db.example.internal", true)
	fe.probe(t, "db.example.internal", true)

	fr.set("db.example.internal", "127.0.0.6")
	moved := fe.waitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.6"), 5*time.Second)
	if moved.obs != first.obs {
		t.Errorf("after the address change: got a new observer, want the same")
	}
	body, ok := a.waitFor(t, 2*time.Second, is(`ping_target_info{family="ip4",ip="127.0.0.6",target="db.example.internal"}`, 1))
	if !ok {
		t.Errorf("info after the change: got %q, want ip 127.0.0.6", body)
	}
	if got := mustValue(t, body, `ping_requests_total{target="db.example.internal"}`); got != 2 {
		t.Errorf("requests after the change: got %v, want 2 (kept)", got)
	}

	fr.mu.Lock()
	delete(fr.hosts, "db.example.internal")
	fr.mu.Unlock()
	if body, ok := a.waitFor(t, 5*time.Second, func(b string) bool {
		v, _ := value(b, `ping_resolve_errors_total{target="db.example.internal"}`)
		return v >= 1
	}); !ok {
		t.Fatalf("resolve errors after the name vanished: got %q, want >= 1", body)
	}
	if ft, _ := fe.get("db.example.internal"); ft.t.Addr != netip.MustParseAddr("127.0.0.6") {
		t.Errorf("after a failed resolution: got %v probed, want the last address 127.0.0.6", ft.t.Addr)
	}
}

// TestEarlyResolve: a target that stops answering is re-resolved after its
// up-window, long before --ping.resolve-interval.
func TestEarlyResolve(t *testing.T) {
	fe, fr := newFakeEngine(), newFakeResolver(map[string]string{"db.example.internal": "127.0.0.5"})
	start(t, options{configFile: tempConfig(t, namesConfig), newEngine: fe.newEngine,
		resolver: fr, resolveTick: 20 * time.Millisecond, resolveInterval: time.Hour})
	fe.waitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.5"), 5*time.Second)
	fe.probe(t, "db.example.internal", true)
	fr.set("db.example.internal", "127.0.0.6")
	// No more replies: after the 500 ms up-window it is re-resolved.
	fe.waitAddr(t, "db.example.internal", netip.MustParseAddr("127.0.0.6"), 3*time.Second)
}

func TestResolvePick(t *testing.T) {
	r := newFakeResolver(nil)
	r.set("dual.example.internal", "::5", "127.0.0.5", "127.0.0.6")
	r.set("v6.example.internal", "::6")
	tests := []struct {
		host, family, current string
		want                  string
		wantErr               bool
	}{
		{host: "dual.example.internal", family: "auto", want: "127.0.0.5"},
		{host: "dual.example.internal", family: "auto", current: "127.0.0.6", want: "127.0.0.6"},
		{host: "dual.example.internal", family: "ip6", want: "::5"},
		{host: "dual.example.internal", family: "ip4", current: "::5", want: "127.0.0.5"},
		{host: "v6.example.internal", family: "auto", want: "::6"},
		{host: "v6.example.internal", family: "ip4", wantErr: true},
		{host: "nowhere.example.internal", family: "auto", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.host+"/"+tt.family+"/"+tt.current, func(t *testing.T) {
			var cur netip.Addr
			if tt.current != "" {
				cur = netip.MustParseAddr(tt.current)
			}
			got, err := resolve(t.Context(), r, tt.host, tt.family, cur)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != netip.MustParseAddr(tt.want) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
