package prober

// Tests of the shared engine's logic that need no socket and no root:
// packet building and parsing, the scheduler's wheel, sequence numbers
// across uint16 wrap-around, reply matching and expiry, and the spread of
// first sends, driven by a fake clock.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ipv4Header returns a minimal IPv4 header of hl bytes (a multiple of 4).
func ipv4Header(hl int) []byte {
	h := make([]byte, hl)
	h[0] = 0x40 | byte(hl/4)
	return h
}

// echoReplyOf turns an echo request into the reply a host would send.
func echoReplyOf(req []byte, v6 bool) []byte {
	b := slices.Clone(req)
	b[0] = echoReply4
	if v6 {
		b[0] = echoReply6
	}
	return b
}

func TestParseReply(t *testing.T) {
	req4 := newEchoRequest(false, 0x1234, 7, 0xdeadbeef, 56)
	setSeq(req4, 65535, true)
	rep4 := echoReplyOf(req4, false)
	rep6 := echoReplyOf(newEchoRequest(true, 0x1234, 7, 0xdeadbeef, 8), true)
	binary.BigEndian.PutUint16(rep6[6:], 42)
	want4 := echoReply{id: 0x1234, seq: 65535, slot: 7, gen: 0xdeadbeef}
	want6 := echoReply{id: 0x1234, seq: 42, slot: 7, gen: 0xdeadbeef}
	codeSet := slices.Clone(rep4)
	codeSet[1] = 1
	badIHL := append(ipv4Header(20), rep4...)
	badIHL[0] = 0x44 // 16 bytes: below the minimum
	longIHL := append(ipv4Header(20), rep4...)
	longIHL[0] = 0x4f // 60 bytes: past the packet's ICMP header
	tests := []struct {
		name         string
		b            []byte
		v6, ipHeader bool
		want         echoReply
		ok           bool
	}{
		{"v4 datagram socket", rep4, false, false, want4, true},
		{"v4 raw, 20-byte IP header", append(ipv4Header(20), rep4...), false, true, want4, true},
		{"v4 raw, IP options", append(ipv4Header(24), rep4...), false, true, want4, true},
		{"v6", rep6, true, false, want6, true},
		{"v6 token only", rep6[:icmpHeaderLen+tokenLen], true, false, want6, true},
		{"v4 echo request", req4, false, false, echoReply{}, false},
		{"v6 reply on a v4 socket", rep6, false, false, echoReply{}, false},
		{"v4 reply on a v6 socket", rep4, true, false, echoReply{}, false},
		{"code not 0", codeSet, false, false, echoReply{}, false},
		{"short of the token", rep4[:icmpHeaderLen+tokenLen-1], false, false, echoReply{}, false},
		{"empty", nil, false, false, echoReply{}, false},
		{"IP header only", ipv4Header(20), false, true, echoReply{}, false},
		{"short IP header", ipv4Header(20)[:19], false, true, echoReply{}, false},
		{"IHL below 20", badIHL, false, true, echoReply{}, false},
		{"IHL past the data", longIHL[:40], false, true, echoReply{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseReply(tt.b, tt.v6, tt.ipHeader)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestChecksum: an IPv4 echo request with its checksum sums to zero, for
// even and odd lengths and every sequence number written into it.
func TestChecksum(t *testing.T) {
	for _, payload := range []int{8, 9, 56, 1400} {
		b := newEchoRequest(false, 0xbeef, 3, 5, payload)
		for _, seq := range []uint16{0, 1, 0x7fff, 0xffff} {
			setSeq(b, seq, true)
			if got := checksum(b); got != 0 {
				t.Errorf("payload %d, seq %d: checksum over the packet got %#04x, want 0", payload, seq, got)
			}
			if got := binary.BigEndian.Uint16(b[6:]); got != seq {
				t.Errorf("payload %d: seq got %d, want %d", payload, got, seq)
			}
		}
	}
	b := newEchoRequest(false, 1, 2, 3, 8)
	setSeq(b, 9, false) // datagram sockets and IPv6: the kernel sums
	if b[2] != 0 || b[3] != 0 {
		t.Errorf("checksum without v4raw: got %#x%02x, want 0 (left to the kernel)", b[2], b[3])
	}
}

// FuzzParseReply: parseReply reads untrusted datagrams; it must never
// panic, and what it accepts must be an echo reply whose fields are the
// bytes at their offsets.
func FuzzParseReply(f *testing.F) {
	rep4 := echoReplyOf(newEchoRequest(false, 0x1234, 7, 99, 56), false)
	f.Add(rep4, false, false)
	f.Add(append(ipv4Header(20), rep4...), false, true)
	f.Add(append(ipv4Header(24), rep4...), false, true)
	f.Add(echoReplyOf(newEchoRequest(true, 1, 2, 3, 8), true), true, false)
	f.Add([]byte{0x4f}, false, true)
	f.Add([]byte{}, true, false)
	f.Add(sentPacket(false, 14, newEchoRequest(false, 0x1234, 7, 99, 56)), false, false)
	f.Fuzz(func(t *testing.T, b []byte, v6, ipHeader bool) {
		// parseSent reads what the kernel returns from our own sends, but
		// must not panic on anything either.
		if s, ok := parseSent(b, v6, 0x1234); ok != (s != echoReply{}) || (ok && s.id != 0x1234) {
			t.Errorf("parseSent(%x, %v): got %+v, %v", b, v6, s, ok)
		}
		r, ok := parseReply(b, v6, ipHeader)
		if !ok {
			if r != (echoReply{}) {
				t.Errorf("rejected with fields set: %+v", r)
			}
			return
		}
		icmp := b
		if ipHeader {
			icmp = b[int(b[0]&0x0f)*4:]
		}
		wantType := byte(echoReply4)
		if v6 {
			wantType = echoReply6
		}
		if len(icmp) < icmpHeaderLen+tokenLen || icmp[0] != wantType || icmp[1] != 0 {
			t.Fatalf("accepted %x (v6 %v, ipHeader %v), want rejected", b, v6, ipHeader)
		}
		if r.id != binary.BigEndian.Uint16(icmp[4:]) || r.seq != binary.BigEndian.Uint16(icmp[6:]) ||
			r.slot != binary.BigEndian.Uint32(icmp[8:]) || r.gen != binary.BigEndian.Uint32(icmp[12:]) {
			t.Errorf("got %+v from %x, want the fields at their offsets", r, icmp)
		}
	})
}

// TestWheel: after any mix of inserts, removals and passes, every pass
// hands over exactly the live targets due by its time, each in the first
// pass at or after its due time, in the order of their slots, and next is
// the earliest due time (or a wake-up no later than it).
func TestWheel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		w := new(wheel)
		var live []*target
		now := rng.Int64N(int64(time.Hour))
		w.cursor = now / slotWidth
		// due times from the past to beyond one turn of the wheel
		randDue := func() int64 { return now + rng.Int64N(3*wheelSlots*slotWidth) - int64(time.Second) }
		for range 300 {
			switch op := rng.IntN(6); {
			case op <= 1 || len(live) == 0:
				tg := &target{due: randDue()}
				w.insert(tg)
				live = append(live, tg)
			case op == 2:
				i := rng.IntN(len(live))
				live[i].dead = true
				live = slices.Delete(live, i, i+1)
			default:
				checkNext(t, w, live, round)
				prev, first := now, w.cursor
				now += rng.Int64N(int64(2 * time.Second)) // sometimes more than a slot, never a turn
				slept := rng.IntN(20) == 0
				if slept {
					now += 2 * wheelSlots * slotWidth // asleep for two turns: no order
				}
				var got []*target
				lastSlot := int64(-1)
				w.expire(now, func(tg *target) {
					if tg.dead {
						t.Fatalf("round %d: removed target handed over", round)
					}
					if tg.due > now {
						t.Fatalf("round %d: target due at %d handed over at %d", round, tg.due, now)
					}
					if s := max(tg.due/slotWidth, first); s < lastSlot && !slept {
						t.Fatalf("round %d: slot %d handed over after slot %d", round, s, lastSlot)
					} else {
						lastSlot = s
					}
					got = append(got, tg)
					tg.due = randDue()
					for tg.due <= now {
						tg.due = randDue()
					}
				})
				handed := map[*target]bool{}
				for _, tg := range got {
					if handed[tg] {
						t.Fatalf("round %d: target handed over twice in one pass", round)
					}
					handed[tg] = true
				}
				for _, tg := range live {
					if !handed[tg] && tg.due <= now {
						t.Fatalf("round %d: target due at %d not handed over at %d (previous pass %d)", round, tg.due, now, prev)
					}
				}
			}
		}
	}
}

// checkNext: next is the earliest due time of a live target if one is due
// within a turn, else a time no later than the earliest.
func checkNext(t *testing.T, w *wheel, live []*target, round int) {
	t.Helper()
	got := w.next()
	turn := (w.cursor + wheelSlots) * slotWidth
	if len(live) == 0 {
		if got != turn {
			t.Fatalf("round %d: next of an empty wheel: got %d, want the next turn %d", round, got, turn)
		}
		return
	}
	earliest := live[0].due
	for _, tg := range live {
		earliest = min(earliest, tg.due)
	}
	if (earliest < turn && got != earliest) || (earliest >= turn && got != turn) {
		t.Fatalf("round %d: next: got %d, want %d (next turn %d)", round, got, earliest, turn)
	}
}

// TestBusyWait: when busy, passes start once per tick (the sleep is the rest
// of the tick), and a pass longer than the tick is followed at once.
func TestBusyWait(t *testing.T) {
	for _, tc := range []struct{ tick, elapsed, want time.Duration }{
		{10 * time.Millisecond, 0, 10 * time.Millisecond},
		{10 * time.Millisecond, 3 * time.Millisecond, 7 * time.Millisecond},
		{10 * time.Millisecond, 10 * time.Millisecond, 0},
		{10 * time.Millisecond, 25 * time.Millisecond, 0},
	} {
		if got := busyWait(tc.tick, tc.elapsed); got != tc.want {
			t.Errorf("busyWait(%s, %s): got %s, want %s", tc.tick, tc.elapsed, got, tc.want)
		}
	}
}

// testEngine is a shared engine without sockets or goroutines: Add, step
// and match are called by the test at the times of a fake clock.
type testEngine struct {
	*shared
	clock time.Time
}

func newTestEngine(t *testing.T) *testEngine {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry(), func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	te := &testEngine{clock: time.Unix(1_800_000_000, 0)}
	noSocket := errors.New("no socket in this test")
	te.shared = &shared{
		log:   slog.New(slog.DiscardHandler),
		start: te.clock, now: func() time.Time { return te.clock }, m: m, sendChunk: 1, pollAt: pollRate,
		byKey: map[string]*target{}, tick: maxTick, ivals: map[int64]int{},
		errs: [2]error{noSocket, noSocket}, wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	return te
}

// advance moves the clock to d after the start and runs the scheduler's
// pass at that time (what schedule does on each wake-up).
func (te *testEngine) advance(d time.Duration) {
	te.clock = te.start.Add(d)
	now := te.since(te.clock)
	te.mu.Lock()
	defer te.mu.Unlock()
	te.runDue(now, [2]*sender{}, [2]*reader{})
}

// timesObserver records send times.
type timesObserver struct {
	recorder
	times []time.Time
}

func (o *timesObserver) Sent(at time.Time) {
	o.recorder.Sent(at)
	o.mu.Lock()
	o.times = append(o.times, at)
	o.mu.Unlock()
}

// TestSpread: 1000 targets, added one by one or at once, are probed evenly
// over their interval, not in bursts, each once per interval. Added at once
// (AddAll), they are first probed in the order they were added, which is
// their order in memory (see AddAll); added one by one, in golden-ratio
// order.
func TestSpread(t *testing.T) {
	const n = 1000
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{Key: fmt.Sprint(i), Target: Target{Addr: loopbackAddr(i)}}
	}
	for _, tc := range []struct {
		name string
		add  func(te *testEngine, items []Item) error
		// inOrder: first sends follow the order of items, with one wrap
		// around the interval at most.
		inOrder bool
	}{
		{"Add", func(te *testEngine, items []Item) error {
			for _, it := range items {
				if err := te.Add(it.Key, it.Target, it.Obs); err != nil {
					return err
				}
			}
			return nil
		}, false},
		{"AddAll", func(te *testEngine, items []Item) error { return te.AddAll(items) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t)
			obs := &timesObserver{}
			for i := range items {
				items[i].Obs = obs
			}
			// Adding takes time: 0.25 ms per read of the clock, so that
			// phases from a clock read per target would bunch.
			te.now = func() time.Time { te.clock = te.clock.Add(time.Millisecond / 4); return te.clock }
			if err := tc.add(te, items); err != nil {
				t.Fatal(err)
			}
			te.now = func() time.Time { return te.clock }
			if te.tick != maxTick {
				t.Fatalf("tick at 1000 probes/s: got %s, want %s", te.tick, maxTick)
			}
			descents := 0
			for i := 1; i < n; i++ {
				if te.byKey[items[i].Key].nextSend < te.byKey[items[i-1].Key].nextSend {
					descents++
				}
			}
			if inOrder := descents <= 1; inOrder != tc.inOrder {
				t.Errorf("first sends in the order added: got %v (%d descents), want %v", inOrder, descents, tc.inOrder)
			}
			checkSpread(t, te, obs)
		})
	}
}

// checkSpread runs te for 2 s and checks that its 1000 targets were sent
// 100 each 100 ms in the second second, and no target more than once a
// second.
func checkSpread(t *testing.T, te *testEngine, obs *timesObserver) {
	t.Helper()
	for d := time.Duration(0); d <= 2*time.Second; d += te.tick {
		te.advance(d)
	}
	// 100 ms buckets over the second second: 100 sends each (the phases
	// are even to within a few; a bucket spans two ticks, so where the
	// ticks fall does not matter).
	var buckets [10]int
	for _, at := range obs.times {
		if d := at.Sub(te.start) - time.Second; d >= 0 && d < time.Second {
			buckets[d/(100*time.Millisecond)]++
		}
	}
	for i, n := range buckets {
		if n < 90 || n > 110 {
			t.Errorf("sends in [%dms, %dms): got %d, want 100 +- 10 (all: %v)", 1000+100*i, 1100+100*i, n, buckets)
			break
		}
	}
	c := obs.counts()
	if c.sent > 2000+1000*int(te.tick)/int(time.Second)+1 {
		t.Errorf("sends in 2 s: got %d, want at most 2000 (+ those due at the last pass)", c.sent)
	}
	if c.failed != c.sent {
		t.Errorf("without a socket: got %d send failures of %d sends, want all", c.failed, c.sent)
	}
}

// pending adds a target with a recorder and returns it, with the engine's
// scheduler bypassed: tests send with begin and answer with match.
func (te *testEngine) pending(t *testing.T, interval, timeout time.Duration) (*target, *recorder) {
	t.Helper()
	r := &recorder{}
	if err := te.Add("h", Target{Addr: netip.MustParseAddr("127.0.0.1"), Interval: interval, Timeout: timeout}, r); err != nil {
		t.Fatal(err)
	}
	return te.byKey["h"], r
}

// send records a probe sent now, as queue does before the syscall.
func (te *testEngine) send(tg *target, r *recorder) uint16 {
	now := te.since(te.clock)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	seq := tg.begin(now, te.clock.UnixNano())
	r.Sent(te.clock)
	return seq
}

// reply delivers a reply to seq now, without a kernel timestamp.
func (te *testEngine) reply(tg *target, seq uint16) {
	te.match(tg, seq, 0, te.clock, te.since(te.clock))
}

func (te *testEngine) expireNow(tg *target) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	te.expire(tg, te.since(te.clock))
}

func TestMatchAndExpire(t *testing.T) {
	te := newTestEngine(t)
	tg, r := te.pending(t, time.Second, 500*time.Millisecond)
	at := func(d time.Duration) { te.clock = te.start.Add(d) }

	s0 := te.send(tg, r) // answered in time
	at(3 * time.Millisecond)
	te.reply(tg, s0)
	te.reply(tg, s0) // duplicate: ignored
	if c := r.counts(); c.replied != 1 || r.rtts[0] != 3*time.Millisecond {
		t.Fatalf("in-time reply: got %+v rtts %v, want 1 reply of 3ms", c, r.rtts)
	}

	at(time.Second)
	s1 := te.send(tg, r) // lost, then late
	at(1600 * time.Millisecond)
	te.expireNow(tg)
	if c := r.counts(); c.lost != 1 {
		t.Fatalf("after the timeout: got %+v, want 1 lost", c)
	}
	at(1700 * time.Millisecond)
	te.reply(tg, s1)
	te.reply(tg, s1) // a second late reply: ignored
	if c := r.counts(); c.late != 1 || r.lateRTTs[0] != 700*time.Millisecond {
		t.Fatalf("late reply: got %+v late rtts %v, want 1 late of 700ms", c, r.lateRTTs)
	}

	at(2 * time.Second)
	s2 := te.send(tg, r) // past its timeout before the scheduler noticed
	at(2800 * time.Millisecond)
	te.reply(tg, s2)
	if c := r.counts(); c.lost != 2 || c.late != 2 || c.replied != 1 {
		t.Fatalf("reply after the timeout, before expiry: got %+v, want lost and late", c)
	}
	te.expireNow(tg)   // already settled: nothing more
	te.reply(tg, s2+1) // never sent: ignored
	if c := r.counts(); c.lost != 2 || c.late != 2 || c.replied != 1 {
		t.Errorf("expiry of a settled probe or a reply to an unsent one: got %+v, want no change", c)
	}

	// Kernel receive timestamps are preferred when plausible.
	at(3 * time.Second)
	s3 := te.send(tg, r)
	at(3*time.Second + 10*time.Millisecond)
	te.match(tg, s3, te.start.Add(3*time.Second+2*time.Millisecond).UnixNano(), te.clock, te.since(te.clock))
	if got := r.rtts[len(r.rtts)-1]; got != 2*time.Millisecond {
		t.Errorf("rtt with a kernel timestamp: got %s, want 2ms", got)
	}

	te.Remove("h")
	at(4 * time.Second)
	s4 := te.send(tg, r)
	te.reply(tg, s4)
	if c := r.counts(); c.replied != 2 {
		t.Errorf("reply after Remove: got %d replies, want 2 (ignored)", c.replied)
	}
	r.inFlight-- // s4 was sent by the test after Remove, never settled
	r.checkConsistent(t, "h")
}

// TestSequenceWrap: sequence numbers wrap from 65535 to 0 without losing
// track of probes in flight, and a reply carrying the sequence number of
// an older probe in the same ring slot is ignored.
func TestSequenceWrap(t *testing.T) {
	te := newTestEngine(t)
	tg, r := te.pending(t, 100*time.Millisecond, 100*time.Millisecond)
	tg.seq, tg.expSeq = 65530, 65530
	var seqs []uint16
	for i := range 12 {
		te.clock = te.start.Add(time.Duration(i) * 100 * time.Millisecond)
		te.expireNow(tg)
		seqs = append(seqs, te.send(tg, r))
	}
	if seqs[5] != 65535 || seqs[6] != 0 {
		t.Fatalf("sequence numbers: got %v, want 65535 then 0", seqs)
	}
	// Answer across the wrap in reverse order, within the timeout... only
	// the last one is still pending; the others have expired.
	te.clock = te.clock.Add(50 * time.Millisecond)
	te.reply(tg, seqs[11])
	if c := r.counts(); c.replied != 1 || c.lost != 11 {
		t.Fatalf("after wrap-around: got %+v, want 11 lost and 1 replied", c)
	}
	// A reply for the probe 16 sequence numbers (one ring) earlier maps to
	// the same slot but is not that probe.
	te.reply(tg, seqs[11]-uint16(len(tg.ring)))
	// Late replies across the wrap still find their probes.
	te.reply(tg, 65535)
	te.reply(tg, 0)
	if c := r.counts(); c.replied != 1 || c.late != 2 {
		t.Errorf("late replies across the wrap: got %+v, want 2 late and nothing else", c)
	}
	r.checkConsistent(t, "h")
}

// TestRing: the ring holds every probe that can be in flight.
func TestRing(t *testing.T) {
	for _, tt := range []struct {
		interval, timeout time.Duration
		want              int
	}{
		{time.Second, time.Second, 16},
		{20 * time.Millisecond, time.Second, 64},
		{time.Millisecond, time.Minute, 1 << 15},
	} {
		ring, mask := newRing(tt.interval, tt.timeout)
		if len(ring) != tt.want || int(mask) != tt.want-1 {
			t.Errorf("newRing(%s, %s): got %d slots mask %d, want %d", tt.interval, tt.timeout, len(ring), mask, tt.want)
		}
	}
}

// TestLateHelp: the self-metric's help states the true send window.
func TestLateHelp(t *testing.T) {
	for _, want := range []string{"half a scheduler tick, 50ms", "intervals under 200ms", "more than 10ms"} {
		if !strings.Contains(lateHelp, want) {
			t.Errorf("help %q: want it to contain %q", lateHelp, want)
		}
	}
	if got := tickFor(time.Second) / 2; got != 50*time.Millisecond {
		t.Errorf("half the tick for a 1s interval: got %s, want 50ms", got)
	}
	if got := tickFor(199*time.Millisecond) / 2; got >= 50*time.Millisecond {
		t.Errorf("half the tick for a 199ms interval: got %s, want less than 50ms", got)
	}
}
