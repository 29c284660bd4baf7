package prober

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// defaultSendChunk: without kernel transmit stamps (below busyRate, or a
// kernel that gives none) one datagram per send syscall keeps every
// probe's send time exact; with them, sends go in batches (stamps.go).
// BenchmarkSendChunk compares the two.
const defaultSendChunk = 1

// probeState is the fate of one echo request.
type probeState uint8

const (
	stateFree probeState = iota
	statePending
	stateReplied
	stateLost
	stateLate
	stateFailed
)

// probe is one slot of a target's ring of recent echo requests. The send
// times are atomics because they are stamped just before the send syscall,
// outside the target's lock.
type probe struct {
	seq      uint16
	state    probeState
	sentWall atomic.Int64 // Unix ns, compared with kernel receive timestamps
	sentMono atomic.Int64 // ns since engine start (monotonic)
	txWall   int64        // Unix ns, the kernel's transmit stamp (stamps.go); under the target's lock
}

// target is the engine's state of one probed host.
type target struct {
	key       string
	t         Target
	obs       Observer
	sock      *icmpSocket // nil if the family is unavailable
	slot, gen uint32
	interval  int64
	timeout   int64
	pkt       []byte // echo request template, scheduler only

	// scheduler only, under shared.mu
	next     *target // in its wheel slot
	dead     bool    // removed; dropped from the wheel when its slot is passed
	due      int64   // next event: a send or a timeout, ns since start
	nextSend int64

	mu      sync.Mutex
	removed bool
	seq     uint16 // next sequence number
	expSeq  uint16 // oldest sequence number not yet past its timeout
	ring    []probe
	mask    uint16
}

// shared is the shared-socket engine.
type shared struct {
	log   *slog.Logger
	mode  Mode
	socks [2]*icmpSocket // IPv4, IPv6
	errs  [2]error       // why a family has no socket
	start time.Time
	now   func() time.Time // time.Now; tests drive the scheduler with their own
	m     *metrics
	// sendChunk is how many datagrams one send syscall carries (see flush).
	sendChunk int
	// rcvbuf is Options.ReceiveBuffer (0: from the rate, see resize);
	// rcvbufAsked what was last asked for, under mu.
	rcvbuf, rcvbufAsked int
	rcvbufWarned        bool

	mu    sync.Mutex // guards byKey, wheel, adds, rate, closed
	byKey map[string]*target
	wheel wheel
	adds  uint64
	rate  float64 // probes per second, all targets
	// famRate is the probe rate of each family's socket; pollAt the rate
	// from which its receiver polls (pollRate; lower in tests).
	famRate [2]float64
	pollAt  float64
	tick    time.Duration // scheduler's shortest sleep, from rate (sched.go)
	ivals   map[int64]int // how many targets have each interval
	closed  bool
	busy    atomic.Bool // the scheduler reads replies; see recv.go

	slotMu sync.RWMutex // guards slots, gens, free
	slots  []*target
	gens   []uint32
	free   []uint32

	wake     chan struct{}
	recvWake [2]chan struct{} // resumes a parked receiver
	done     chan struct{}
	schedWG  sync.WaitGroup
	recvWG   sync.WaitGroup
	closeErr error
	once     sync.Once
}

func newShared(opts Options) (*shared, error) {
	e := &shared{
		log: opts.Logger, mode: opts.Mode, start: time.Now(), now: time.Now, sendChunk: defaultSendChunk,
		rcvbuf: opts.ReceiveBuffer, pollAt: pollRate,
		byKey: map[string]*target{}, tick: maxTick, ivals: map[int64]int{},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	for i, v6 := range []bool{false, true} {
		e.socks[i], e.errs[i] = openSocket(v6, opts.Mode, id)
	}
	if e.socks[0] == nil && (e.socks[1] == nil || isModeError(e.errs[0])) {
		e.closeSockets()
		return nil, e.errs[0]
	}
	if e.errs[1] != nil {
		e.log.Warn("IPv6 probing unavailable", "err", e.errs[1])
	}
	if e.rcvbuf > 0 {
		e.resize(e.rcvbuf)
	}
	m, err := newMetrics(opts.Registerer, e.drops)
	if err != nil {
		e.closeSockets()
		return nil, err
	}
	e.m = m
	for i, s := range e.socks {
		if s != nil {
			e.recvWake[i] = make(chan struct{}, 1)
			e.recvWG.Add(1)
			go e.receive(s, e.recvWake[i])
		}
	}
	e.schedWG.Add(1)
	go e.schedule()
	return e, nil
}

func isModeError(err error) bool {
	var me *modeErr
	return errors.As(err, &me)
}

func (e *shared) drops() float64 {
	var n float64
	for _, s := range e.socks {
		if s != nil {
			n += float64(s.drops.Load())
		}
	}
	return n
}

// since returns t as ns since the engine started (monotonic clock).
func (e *shared) since(t time.Time) int64 { return int64(t.Sub(e.start)) }

// Add starts probing t; see Engine.
func (e *shared) Add(key string, tg Target, obs Observer) error {
	tg, err := checkAdd(key, tg, obs)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("prober is closed")
	}
	e.addLocked(key, tg, obs, e.since(e.now()), e.nextPhase())
	e.poke()
	return nil
}

func checkAdd(key string, tg Target, obs Observer) (Target, error) {
	tg, err := tg.normalize(tokenLen)
	if err != nil {
		return tg, fmt.Errorf("target %q: %w", key, err)
	}
	if obs == nil {
		return tg, fmt.Errorf("target %q: nil observer", key)
	}
	return tg, nil
}

// poke wakes the scheduler to look at the wheel again.
func (e *shared) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// nextPhase is the first-send phase, as a fraction of the interval, of the
// next Add or AddAll: the golden-ratio sequence, so that any number of
// targets added one by one get evenly spaced phases.
func (e *shared) nextPhase() float64 {
	e.adds++
	phase := float64(e.adds) * 0.6180339887498949
	return phase - float64(int64(phase))
}

// addLocked adds a checked target whose first send is phase x its interval
// after now (ns since start); e.mu is held.
func (e *shared) addLocked(key string, tg Target, obs Observer, now int64, phase float64) {
	if old := e.byKey[key]; old != nil {
		e.removeLocked(old)
	}
	t := &target{key: key, t: tg, obs: obs, interval: int64(tg.Interval), timeout: int64(tg.Timeout)}
	fam := t.family()
	t.sock = e.socks[fam]
	t.ring, t.mask = newRing(tg.Interval, tg.Timeout)
	e.allocSlot(t)
	var id uint16
	if t.sock != nil {
		id = t.sock.id
	}
	t.pkt = newEchoRequest(fam == 1, id, t.slot, t.gen, tg.PayloadSize)
	t.nextSend = now + int64(phase*float64(t.interval))
	e.byKey[key] = t
	e.ivals[t.interval]++
	e.famRate[fam] += t.rate()
	e.setRate(e.rate + t.rate())
	// Due half a tick early like every later send (see step), once the
	// tick for the new rate is known.
	t.due = t.nextSend - e.early()
	e.wheel.insert(t)
}

// family is the index of t's socket in shared.socks: 0 IPv4, 1 IPv6.
func (t *target) family() int {
	if t.t.Addr.Is6() {
		return 1
	}
	return 0
}

// rate is t's probes per second.
func (t *target) rate() float64 { return float64(time.Second) / float64(t.interval) }

// newRing sizes a target's ring of recent probes: it must hold every probe
// in flight (Timeout/Interval + 1) and keeps some more to recognise late
// replies. A power of two, so seq&mask works across uint16 wrap-around.
func newRing(interval, timeout time.Duration) ([]probe, uint16) {
	need := int(timeout/interval) + 2
	n := 16
	for n < need && n < 1<<15 {
		n <<= 1
	}
	return make([]probe, n), uint16(n - 1)
}

// allocSlot gives t a slot and generation (its reply token) and publishes
// it to the receivers.
func (e *shared) allocSlot(t *target) {
	e.slotMu.Lock()
	defer e.slotMu.Unlock()
	var slot uint32
	if n := len(e.free); n > 0 {
		slot = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		slot = uint32(len(e.slots))
		var b [4]byte
		_, _ = rand.Read(b[:]) // random first generation: other engines' replies do not match
		e.slots = append(e.slots, nil)
		e.gens = append(e.gens, binary.BigEndian.Uint32(b[:]))
	}
	e.gens[slot]++
	t.slot, t.gen = slot, e.gens[slot]
	e.slots[slot] = t
}

// lookup finds the live target of a reply's token.
func (e *shared) lookup(slot, gen uint32) *target {
	e.slotMu.RLock()
	defer e.slotMu.RUnlock()
	if int(slot) >= len(e.slots) {
		return nil
	}
	if t := e.slots[slot]; t != nil && t.gen == gen {
		return t
	}
	return nil
}

// Remove stops probing key; see Engine.
func (e *shared) Remove(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.byKey[key]; t != nil {
		e.removeLocked(t)
	}
}

func (e *shared) removeLocked(t *target) {
	delete(e.byKey, t.key)
	t.dead = true
	if e.ivals[t.interval]--; e.ivals[t.interval] == 0 {
		delete(e.ivals, t.interval)
	}
	e.famRate[t.family()] -= t.rate()
	e.setRate(e.rate - t.rate())
	t.mu.Lock()
	t.removed = true
	t.mu.Unlock()
	e.slotMu.Lock()
	e.slots[t.slot] = nil
	e.free = append(e.free, t.slot)
	e.slotMu.Unlock()
}

// setRate records the total probe rate and switches between reading
// replies in blocking receivers, in the scheduler and in polling receivers
// (see recv.go).
func (e *shared) setRate(rate float64) {
	if len(e.byKey) == 0 {
		rate = 0 // no float drift
	}
	e.rate = rate
	var shortest int64
	for iv := range e.ivals {
		if shortest == 0 || iv < shortest {
			shortest = iv
		}
	}
	e.tick = tickFor(time.Duration(shortest))
	if e.rcvbuf == 0 {
		e.resize(receiveBufferFor(rate))
	}
	switch {
	case !e.busy.Load() && rate >= busyRate:
		e.busy.Store(true)
	case e.busy.Load() && rate < idleRate:
		e.busy.Store(false)
		e.wakeReceivers()
	}
	for i, s := range e.socks {
		if len(e.byKey) == 0 {
			e.famRate[i] = 0
		}
		if s != nil {
			e.setSendStamps(s, e.busy.Load()) // batched sends when busy: stamps.go
		}
		switch {
		case s == nil:
		case !s.poll.Load() && e.famRate[i] >= e.pollAt:
			s.poll.Store(true)
			e.wakeReceivers()
		case s.poll.Load() && e.famRate[i] < pollOff*e.pollAt:
			s.poll.Store(false) // the receiver blocks or parks at its next turn
		}
	}
}

// wakeReceivers resumes parked receivers, to look at the mode again.
func (e *shared) wakeReceivers() {
	for _, c := range e.recvWake {
		if c != nil {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}

// resize asks for receive buffers of n bytes if that is more than it last
// asked for, with a quarter more so that a rate growing target by target
// resizes a few times and not at every Add. Buffers are not shrunk: the
// memory is only used by replies waiting to be read. e.mu is held.
func (e *shared) resize(n int) {
	if n <= e.rcvbufAsked {
		return
	}
	if e.rcvbuf == 0 {
		n = min(n+n/4, maxReceiveBuffer)
	}
	e.rcvbufAsked = n
	for _, s := range e.socks {
		if s == nil {
			continue
		}
		got, err := s.setReceiveBuffer(n)
		switch {
		case err != nil:
			e.log.Warn("cannot size the ICMP receive buffer", "bytes", n, "err", err)
		case got < 2*n && !e.rcvbufWarned: // the kernel grants twice the request
			e.rcvbufWarned = true
			e.log.Warn("ICMP receive buffer smaller than asked: raise net.core.rmem_max or run with CAP_NET_ADMIN, or replies may be dropped at high rates",
				"asked_bytes", n, "granted_bytes", got/2)
		default:
			e.log.Debug("ICMP receive buffer resized", "bytes", n)
		}
	}
}

// Close stops the scheduler and the receivers, then closes the sockets; no
// Observer is called after it returns.
func (e *shared) Close() error {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.done)
		e.schedWG.Wait()
		for _, s := range e.socks {
			if s != nil {
				s.shutdown()
			}
		}
		e.recvWG.Wait()
		e.closeErr = e.closeSockets()
		e.m.unregister()
	})
	return e.closeErr
}

func (e *shared) closeSockets() error {
	var errs []error
	for _, s := range e.socks {
		if s != nil {
			errs = append(errs, s.close())
		}
	}
	return errors.Join(errs...)
}
