package prober

import (
	"time"

	"golang.org/x/sys/unix"
)

// Replies are read in one of three ways, by the probe rate:
//
//   - below busyRate (total), a receiver goroutine per socket blocks in
//     recvmmsg and handles each reply as it comes;
//   - from busyRate on, the scheduler, which then wakes every tick anyway,
//     drains the sockets on each wake-up and after each send batch, and the
//     receivers stay parked. This halves the wake-ups (each costs more than
//     reading a few dozen replies), and RTTs stay exact because they come
//     from kernel receive timestamps. Replies reach the Observer up to a
//     tick later;
//   - from pollRate on (that socket's own rate), its receiver polls: it
//     reads the socket until it is empty every pollInterval, and the
//     scheduler leaves it alone. Reading, matching and the Observer's
//     Replied are then on the machine's other core, and the scheduler's
//     thread only sends. A blocking receiver would be woken for nearly
//     every reply at that rate; polling costs 1/pollInterval timer
//     wake-ups a second and reads about pollRate*pollInterval replies each.
//
// pollRate is above the default --ping.max-rate (100,000/s), so by default
// one thread sends and reads. Before sends were batched (stamps.go), one
// thread doing both at 100,000 probes/s was a whole core and sent 92 % of
// the probes late, and polling started at 40,000/s. With batched sends one
// thread does it in 60 % of a core with 0.03-0.09 % of the sends late,
// against 76-95 % (and 0-0.01 % late) for the two threads, whose every probe
// crosses between the cores (issue 14, BENCHMARKS.md). Two threads keep up
// better on a machine whose other load leaves one thread less than that.
const (
	busyRate     = float64(time.Second / maxTick) // probes/s: one per tick on average
	idleRate     = 0.8 * busyRate                 // hysteresis
	pollRate     = 150_000.0                      // probes/s on one socket
	pollOff      = 0.8                            // hysteresis: polling stops below pollOff*pollRate
	pollInterval = 2 * time.Millisecond
)

// receive is the receiver goroutine of one socket: a blocking read, parked
// while the scheduler reads (busy), polling at high rates (s.poll), and
// ended by Close's shutdown.
func (e *shared) receive(s *icmpSocket, wake <-chan struct{}) {
	defer e.recvWG.Done()
	r := newReader()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-e.done:
			return
		default:
		}
		if s.poll.Load() {
			e.drain(s, r)
			timer.Reset(pollInterval)
			select {
			case <-e.done:
				return
			case <-timer.C:
			}
			continue
		}
		if e.busy.Load() {
			select {
			case <-e.done:
				return
			case <-wake:
			}
			continue
		}
		n, errno := r.replies.recvWait(s.fd)
		switch errno {
		case 0:
			e.handleRead(s, r, n)
			if n == batchSize {
				e.drain(s, r)
			}
		case unix.EAGAIN, unix.EINTR: // SO_RCVTIMEO: look at e.done
		default:
			e.log.Warn("receiving ICMP replies", "err", errno)
			select {
			case <-e.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// drain reads and handles replies until the socket is empty (EAGAIN) or
// an error other than EINTR occurs.
func (e *shared) drain(s *icmpSocket, r *reader) unix.Errno {
	retried := false
	for {
		n, errno := r.replies.recv(s.fd)
		switch errno {
		case 0:
			e.handleRead(s, r, n)
			if n < batchSize {
				return unix.EAGAIN // saves the syscall that would say so
			}
		case unix.EINTR:
		case unix.EAGAIN:
			// No reply, but transmit stamps may be waiting: they share
			// the receive buffer with the replies, which they would fill
			// while no host answers.
			if s.stamped.Load() {
				e.readStamps(s, r.stamps)
			}
			return errno
		default:
			// sendmmsg keeps the error of a datagram after the first
			// for the socket's next call, which returns it once.
			if retried {
				return errno
			}
			retried = true
		}
	}
}

// handleRead matches the n replies just read into r, after reading the
// transmit stamps of batched sends (stamps.go): a reply's stamp was queued
// before the reply, so it has been read by then. A receiver may have been
// blocked in its read since before the sends were batched: this is why it
// looks at s.stamped after the read.
func (e *shared) handleRead(s *icmpSocket, r *reader, n int) {
	if s.stamped.Load() {
		e.readStamps(s, r.stamps)
	}
	e.handle(s, r.replies, n)
}

// handle matches a batch of received datagrams to their probes.
func (e *shared) handle(s *icmpSocket, b *recvBatch, n int) {
	now := e.now()
	mono := e.since(now)
	for i := range n {
		rx, drops, ok := b.control(i)
		if ok {
			s.drops.Store(drops)
		}
		data, src := b.packet(i)
		r, ok := parseReply(data, s.v6, s.raw && !s.v6)
		if !ok || r.id != s.id {
			continue
		}
		t := e.lookup(r.slot, r.gen)
		if t == nil || t.t.Addr != src {
			continue
		}
		e.match(t, r.seq, rx, now, mono)
	}
}

// match reports a reply to its probe: Replied within the timeout, Late
// after it; duplicates and unknown sequence numbers are ignored.
func (e *shared) match(t *target, seq uint16, rx int64, now time.Time, mono int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.ring[seq&t.mask]
	if t.removed || p.seq != seq {
		return
	}
	// Prefer the kernel's receive timestamp; fall back to the monotonic
	// clock if there is none or the wall clock stepped in between.
	userRTT := mono - p.sentMono.Load()
	rtt, at := userRTT, now
	if rx != 0 {
		if k := rx - t.sentAt(p); k > 0 && k <= userRTT {
			rtt, at = k, time.Unix(0, rx)
		}
	}
	switch p.state {
	case statePending:
		if rtt <= t.timeout {
			p.state = stateReplied
			t.obs.Replied(time.Duration(rtt), at)
			return
		}
		// The scheduler has not expired it yet, but the timeout has passed.
		p.state = stateLost
		t.obs.Lost()
		p.state = stateLate
		t.obs.Late(time.Duration(rtt))
	case stateLost:
		p.state = stateLate
		t.obs.Late(time.Duration(rtt))
	}
}
