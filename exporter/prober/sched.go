package prober

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The scheduler's tick is its shortest sleep: maxTick, or less when a
// target's interval is under two ticks. A send goes out within half a tick
// of its scheduled time (before or after), and a timeout is noticed up to a
// tick late.
//
// Wake-ups are rationed because each costs far more than a probe: 125-400
// us of CPU in the exporter on a small VM (a bare Go timer loop costs 40-90
// us, and the Go runtime also wakes sysmon at every timer expiry and a
// spinning thread for every goroutine a timer readies: perf counted 254
// context switches/s at 40 wake-ups/s). With 100 ms at every rate, +-50 ms
// of send jitter and loss or reply reports up to 100 ms later are small
// next to a 1 s interval and the 5 s up-window, and RTTs are not affected
// (kernel timestamps). The tick used to be 50 ms at 1,000 probes/s and
// shrink to 10 ms from 5,000 probes/s on (a short pass each); since sends
// are batched (stamps.go) a pass of 1,000 sends at 10,000 probes/s takes
// about 3 ms, and at 1,000 probes/s the 10 wake-ups/s saved were 4 us of
// the 14 us per probe (issue 14, BENCHMARKS.md).
const maxTick = 100 * time.Millisecond

// tickFor returns the tick for the shortest interval of any target: a tick
// stays below half of it, so that no target is throttled.
func tickFor(shortest time.Duration) time.Duration {
	tick := maxTick
	if shortest > 0 {
		tick = max(min(tick, shortest/2), time.Millisecond)
	}
	return tick
}

// outgoing is one queued echo request of a send batch.
type outgoing struct {
	t   *target
	seq uint16
}

// sender accumulates the echo requests of one scheduler pass per socket.
type sender struct {
	sock  *icmpSocket
	batch *sendBatch
	out   [batchSize]outgoing
}

// schedule is the single scheduler goroutine: it sleeps until the earliest
// event (a send or a timeout) of any target, handles everything due, and
// sends what it queued in batches.
func (e *shared) schedule() {
	defer e.schedWG.Done()
	var senders [2]*sender
	for i, s := range e.socks {
		if s != nil {
			senders[i] = &sender{sock: s, batch: newSendBatch()}
		}
	}
	var reads [2]*reader
	for i, s := range e.socks {
		if s != nil {
			reads[i] = newReader()
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		passStart := e.since(e.now())
		busy := e.busy.Load()
		var drains [2]*reader // the sockets this pass reads
		for i, s := range e.socks {
			if s != nil {
				e.checkStamps(s)
			}
			if busy && s != nil && !s.poll.Load() {
				drains[i] = reads[i]
				e.drain(s, reads[i]) // before timeouts: a reply already queued is not lost
			}
		}
		e.runDue(e.since(e.now()), senders, drains)
		for _, s := range senders {
			if s != nil {
				e.flush(s)
			}
		}
		wait := time.Hour
		if len(e.byKey) > 0 && !busy {
			// Wake at most every tick: with many targets, events are
			// microseconds apart, and each wake-up costs more than sending a
			// few more packets per batch.
			wait = max(time.Duration(e.wheel.next()-e.since(e.now())), e.tick)
		}
		if busy {
			wait = busyWait(e.tick, time.Duration(e.since(e.now())-passStart))
		}
		e.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-e.done:
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// busyWait is the scheduler's sleep after a pass that took elapsed when it
// is busy: the rest of the tick, so that passes start once per tick. A sleep
// of a whole tick after each pass made the period tick + pass: at 100,000
// probes/s a pass of ~1,000 sends takes about as long as the 10 ms tick, and
// then sends were more than half a tick late (issue 14). A pass longer than
// the tick is followed by the next one at once.
func busyWait(tick, elapsed time.Duration) time.Duration {
	return max(tick-elapsed, 0)
}

// runDue handles every target due at now (ns since start), flushing send
// batches as they fill. With drains (busy mode), it reads a socket's
// replies after each batch sent on it: the replies waiting in the kernel
// are then at most about one batch, however many sends a pass makes (a
// scheduler behind by 100 ms at 100,000 probes/s sends 10,000 in one pass;
// reading only between passes, their replies overflowed the receive buffer,
// issue 14). e.mu is held.
func (e *shared) runDue(now int64, senders [2]*sender, drains [2]*reader) {
	e.wheel.expire(now, func(t *target) {
		e.step(t, now, senders) // queues at most one request of t
		for i, s := range senders {
			if s != nil && s.batch.full() {
				e.flush(s)
				if drains[i] != nil {
					e.drain(s.sock, drains[i])
				}
			}
		}
	})
}

// early is how long before its scheduled time a probe may be sent: half a
// tick, so that sends are within +-tick/2 of schedule.
func (e *shared) early() int64 { return int64(e.tick / 2) }

// step handles one due target: it reports probes past their timeout as
// lost, queues the next echo request if it is due, and computes t.due.
func (e *shared) step(t *target, now int64, senders [2]*sender) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.expire(t, now)
	if t.nextSend-e.early() <= now {
		e.queue(t, now, senders)
	}
	t.due = t.nextSend - e.early()
	if t.expSeq != t.seq {
		if d := t.ring[t.expSeq&t.mask].sentMono.Load() + t.timeout; d < t.due {
			t.due = d
		}
	}
}

// expire reports probes whose timeout has passed without a reply.
func (e *shared) expire(t *target, now int64) {
	for t.expSeq != t.seq {
		p := &t.ring[t.expSeq&t.mask]
		if p.state == statePending {
			if p.sentMono.Load()+t.timeout > now {
				return
			}
			p.state = stateLost
			t.obs.Lost()
		}
		t.expSeq++
	}
}

// queue puts t's next echo request in its socket's batch.
func (e *shared) queue(t *target, now int64, senders [2]*sender) {
	lag := now - t.nextSend // negative: sent early
	if lag > e.early()+lateThreshold {
		e.m.late.Inc()
	}
	e.m.lag.Observe(max(float64(lag)/1e9, 0))
	t.nextSend += t.interval
	if t.nextSend-e.early() <= now { // far behind (suspended?): skip, keep the phase
		t.nextSend += ((now-t.nextSend+e.early())/t.interval + 1) * t.interval
	}
	seq := t.begin(now, e.start.UnixNano()+now)
	at := e.start.Add(time.Duration(now))
	t.obs.Sent(at)
	if t.sock == nil {
		t.ring[seq&t.mask].state = stateFailed
		err := fmt.Errorf("cannot probe %s: %w", t.t.Addr, e.errs[1])
		if t.t.Addr.Is4() {
			err = fmt.Errorf("cannot probe %s: %w", t.t.Addr, e.errs[0])
		}
		e.m.sendError(err)
		t.obs.SendFailed(err)
		return
	}
	setSeq(t.pkt, seq, t.sock.raw && !t.sock.v6)
	s := senders[0]
	if t.sock.v6 {
		s = senders[1]
	}
	s.out[s.batch.n] = outgoing{t, seq}
	s.batch.add(t.pkt, t.t.Addr, t.t.Source)
	// A full batch is flushed by schedule after step, not here: flush
	// reports a failed send under the target's lock, which step holds, and
	// the target that fills the batch may be the one whose send fails (an
	// nftables output rule dropping its requests: EPERM). Flushing here
	// deadlocked the scheduler for good (issue 14's mixed run).
}

// begin takes t's next sequence number and records its probe as pending,
// sent at mono (ns since start) and wall (Unix ns). Under t.mu.
func (t *target) begin(mono, wall int64) uint16 {
	seq := t.seq
	t.seq++
	p := &t.ring[seq&t.mask]
	p.seq, p.state, p.txWall = seq, statePending, 0
	p.sentMono.Store(mono)
	p.sentWall.Store(wall)
	return seq
}

// flush sends a batch: all of it per syscall when the kernel stamps each
// packet's transmit time (stamps.go), else sendChunk datagrams per syscall.
// The send time of each chunk is taken right before its syscall: on
// loopback the kernel handles each echo (request, reply, delivery) inside
// the send call, so with one timestamp for 64 packets and no kernel stamps
// the last would read ~0.15 ms too slow.
func (e *shared) flush(s *sender) {
	b := s.batch
	chunk := e.sendChunk
	if s.sock.stamped.Load() {
		chunk = batchSize
	}
	for from := 0; from < b.n; {
		end := min(from+chunk, b.n)
		now := e.now()
		wall, mono := now.UnixNano(), e.since(now)
		for _, o := range s.out[from:end] {
			p := &o.t.ring[o.seq&o.t.mask]
			p.sentWall.Store(wall)
			p.sentMono.Store(mono)
		}
		n, errno := b.send(s.sock.fd, from, end)
		if errno != 0 {
			e.sendFailed(s.out[from], errno)
			n = 1
		}
		from += n
	}
	b.n = 0
}

func (e *shared) sendFailed(o outgoing, errno unix.Errno) {
	err := fmt.Errorf("send echo request to %s: %w", o.t.t.Addr, errno)
	e.m.sendError(err)
	o.t.mu.Lock()
	defer o.t.mu.Unlock()
	p := &o.t.ring[o.seq&o.t.mask]
	if o.t.removed || p.seq != o.seq || p.state != statePending {
		return
	}
	p.state = stateFailed
	o.t.obs.SendFailed(err)
}
