package prober

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestReceiveModeSwitch: the receivers block at low rates, the scheduler
// reads from busyRate on, and a socket's receiver polls from pollRate on
// (its own family's rate), with hysteresis on the way down. No goroutines:
// only the modes are looked at.
func TestReceiveModeSwitch(t *testing.T) {
	ns := newNS(t)
	te := newTestEngine(t)
	te.pollAt = 40_000 // the switching logic, at a rate this test reaches quickly
	for i, v6 := range []bool{false, true} {
		if err := ns.Do(func() (err error) { te.socks[i], err = openSocket(v6, Privileged, 1); return err }); err != nil {
			t.Fatal(err)
		}
		s := te.socks[i]
		t.Cleanup(func() { _ = s.close() })
	}
	v6 := Target{Addr: netip.MustParseAddr("::1"), Interval: time.Second}
	if err := te.Add("v6", v6, &recorder{}); err != nil {
		t.Fatal(err)
	}
	// IPv4 targets at 20 ms: 50 probes/s each.
	n := 0
	setV4 := func(want int) {
		for ; n < want; n++ {
			if err := te.Add(fmt.Sprint(n), Target{Addr: loopbackAddr(n), Interval: 20 * time.Millisecond}, &recorder{}); err != nil {
				t.Fatal(err)
			}
		}
		for ; n > want; n-- {
			te.Remove(fmt.Sprint(n - 1))
		}
	}
	for _, step := range []struct {
		v4           int // IPv4 targets
		busy, poll4  bool
		rate4, total float64
	}{
		{0, false, false, 0, 1},
		{1, true, false, 50, 51}, // from busyRate (10/s) on
		{799, true, false, 39_950, 39_951},
		{800, true, true, 40_000, 40_001}, // pollAt
		{641, true, true, 32_050, 32_051}, // above 0.8 pollAt: still polling
		{639, true, false, 31_950, 31_951},
		{800, true, true, 40_000, 40_001},
		{0, false, false, 0, 1}, // below idleRate (8/s)
	} {
		setV4(step.v4)
		te.mu.Lock()
		busy, poll4, poll6, rate4 := te.busy.Load(), te.socks[0].poll.Load(), te.socks[1].poll.Load(), te.famRate[0]
		te.mu.Unlock()
		if st4, st6 := te.socks[0].stamped.Load(), te.socks[1].stamped.Load(); st4 != step.busy || st6 != step.busy {
			t.Fatalf("%d IPv4 targets at 50/s: got batched sends with transmit stamps %v (IPv4), %v (IPv6); want %v (busy)",
				step.v4, st4, st6, step.busy)
		}
		if busy != step.busy || poll4 != step.poll4 || poll6 {
			t.Fatalf("%d IPv4 targets at 50/s: got busy %v, IPv4 polling %v, IPv6 polling %v; want %v, %v, false",
				step.v4, busy, poll4, poll6, step.busy, step.poll4)
		}
		if rate4 < step.rate4-0.01 || rate4 > step.rate4+0.01 {
			t.Fatalf("%d IPv4 targets at 50/s: got IPv4 rate %v, want %v", step.v4, rate4, step.rate4)
		}
	}
}

// TestPollingReceiver: replies reach their targets with the IPv4 socket's
// receiver polling (pollRate lowered for the test) while the scheduler
// reads the IPv6 socket, and again after IPv4 falls back to the scheduler.
func TestPollingReceiver(t *testing.T) {
	for _, v := range variants[:2] { // the shared engine
		t.Run(v.name, func(t *testing.T) {
			ns := newNS(t)
			e := newEngine(t, ns, v.opts).(*shared)
			if e.socks[1] == nil {
				t.Fatalf("no IPv6 socket: %v", e.errs[1])
			}
			e.mu.Lock()
			e.pollAt = 100 // probes/s
			e.mu.Unlock()
			recs := map[string]*recorder{}
			for _, a := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"} {
				// A long timeout: a loaded machine may delay the polling
				// receiver past the interval; the probe is not lost then.
				recs[a] = add(t, e, a, Target{Addr: netip.MustParseAddr(a), Interval: 20 * time.Millisecond, Timeout: 5 * time.Second})
			}
			if !e.busy.Load() || !e.socks[0].poll.Load() || e.socks[1].poll.Load() {
				t.Fatalf("at 150 IPv4 and 50 IPv6 probes/s: got busy %v, IPv4 polling %v, IPv6 polling %v; want true, true, false",
					e.busy.Load(), e.socks[0].poll.Load(), e.socks[1].poll.Load())
			}
			for a, r := range recs {
				waitFor(t, 30*time.Second, a+" to reply 10 times", func() bool { return r.counts().replied >= 10 })
			}
			e.Remove("127.0.0.2")
			e.Remove("127.0.0.3")
			if !e.busy.Load() || e.socks[0].poll.Load() {
				t.Fatalf("at 50 IPv4 probes/s: got busy %v, IPv4 polling %v; want true, false", e.busy.Load(), e.socks[0].poll.Load())
			}
			r := recs["127.0.0.1"]
			before := r.counts().replied
			waitFor(t, 30*time.Second, "127.0.0.1 to reply 10 more times", func() bool { return r.counts().replied >= before+10 })
			for a, r := range recs {
				if c := r.counts(); c.lost != 0 || c.failed != 0 || c.late != 0 {
					t.Errorf("%s: got %+v, want no lost, late or failed probes", a, c)
				}
				r.checkConsistent(t, a)
			}
		})
	}
}
