package prober

import (
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
)

// TestAddAll: every valid item is probed, an invalid one is named in the
// error and skipped.
func TestAddAll(t *testing.T) {
	ns := newNS(t)
	e := newEngine(t, ns, Options{Engine: EngineShared, Mode: Privileged})
	recs := []*recorder{{}, {}, {}}
	items := []Item{
		{"a", Target{Addr: loopbackAddr(0), Interval: 50 * time.Millisecond}, recs[0]},
		{"bad", Target{Addr: loopbackAddr(1)}, nil},
		{"c", Target{Addr: loopbackAddr(2), Interval: 50 * time.Millisecond}, recs[2]},
	}
	err := e.(BatchAdder).AddAll(items)
	if want := `target "bad": nil observer`; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	waitFor(t, 10*time.Second, "replies from a and c", func() bool {
		return recs[0].counts().replied >= 2 && recs[2].counts().replied >= 2
	})
}

// BenchmarkAddMany compares adding n targets with one AddAll and one Add
// at a time while the engine probes the ones already added (add-s: wall
// seconds for the adds).
func BenchmarkAddMany(b *testing.B) {
	for _, n := range []int{10000, 20000, 40000} {
		b.Run(fmt.Sprint("batch/", n), func(b *testing.B) {
			ns := newNS(b)
			for b.Loop() {
				e := newEngine(b, ns, Options{Engine: EngineShared, Mode: Privileged})
				var s, r, l, t atomic.Int64
				obs := countObserver{&s, &r, &l, &t}
				items := make([]Item, n)
				for i := range items {
					items[i] = Item{fmt.Sprint(i), Target{Addr: loopbackAddr(i), Interval: time.Second, Timeout: time.Second}, obs}
				}
				start := time.Now()
				if err := e.(BatchAdder).AddAll(items); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "add-s")
				e.Close()
			}
		})
		b.Run(fmt.Sprint("one-by-one/", n), func(b *testing.B) {
			ns := newNS(b)
			for b.Loop() {
				e := newEngine(b, ns, Options{Engine: EngineShared, Mode: Privileged})
				var s, r, l, t atomic.Int64
				obs := countObserver{&s, &r, &l, &t}
				start := time.Now()
				for i := range n {
					if err := e.Add(fmt.Sprint(i), Target{Addr: loopbackAddr(i), Interval: time.Second, Timeout: time.Second}, obs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(time.Since(start).Seconds(), "add-s")
				e.Close()
			}
		})
	}
}

// TestSendFailuresFillingABatch: every echo request is refused by an
// nftables output rule (the kernel answers EPERM), and more requests than
// one batch holds fall due at once. The scheduler must report each failure
// and go on: flushing a full batch inside the step of its last target used
// to lock that target twice and stop all probing for good.
func TestSendFailuresFillingABatch(t *testing.T) {
	netns.Require(t, "nft")
	ns := newNS(t)
	nftables(t, ns, `table inet refuse {
	chain out { type filter hook output priority 0; icmp type echo-request drop; }
}
`)
	e := newEngine(t, ns, Options{Engine: EngineShared, Mode: Privileged})
	sh := e.(*shared)
	const n = 3 * batchSize
	recs := make([]*recorder, n)
	items := make([]Item, n)
	for i := range items {
		recs[i] = &recorder{}
		items[i] = Item{fmt.Sprint(i), Target{Addr: loopbackAddr(i), Interval: 100 * time.Millisecond}, recs[i]}
	}
	if err := sh.AddAll(items); err != nil {
		t.Fatal(err)
	}
	sh.mu.Lock() // hold the scheduler back so that every target falls due in one pass
	time.Sleep(300 * time.Millisecond)
	sh.mu.Unlock()
	waitFor(t, 20*time.Second, "two refused sends of every target", func() bool {
		for _, r := range recs {
			if r.counts().failed < 2 {
				return false
			}
		}
		return true
	})
}

// nftables loads ruleset into ns.
func nftables(t *testing.T, ns *netns.NS, ruleset string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
}
