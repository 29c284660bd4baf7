package prober

import (
	"time"

	"golang.org/x/sys/unix"
)

// coalesce is how long the receiver waits after a wake-up before reading:
// the saved wake-ups matter more than the delay, since RTTs come from kernel
// receive timestamps. A reply that arrives less than this before its
// timeout may be reported Lost, then Late.
const coalesce = 2 * time.Millisecond

// receive is the receiver goroutine of one socket. It drains the socket
// with recvmmsg inside one poller callback and parks only when the queue is
// empty, so a burst of replies costs one wake-up.
func (e *shared) receive(s *icmpSocket) {
	defer e.recvWG.Done()
	b := newRecvBatch()
	first := true
	for {
		var rerr unix.Errno
		err := s.rc.Read(func(fd uintptr) bool {
			if !first {
				// Woken by the first reply of a burst: let the rest of it
				// queue up, then read it all with one or two syscalls.
				// The kernel timestamps keep the RTTs exact meanwhile.
				time.Sleep(coalesce)
			}
			first = false
			for {
				n, errno := b.recv(fd)
				switch errno {
				case 0:
					e.handle(s, b, n)
					continue
				case unix.EAGAIN:
					return false // wait for readiness
				case unix.EINTR:
					continue
				}
				rerr = errno
				return true
			}
		})
		if err != nil { // closed
			return
		}
		e.log.Warn("receiving ICMP replies", "err", rerr)
		select {
		case <-e.done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// handle matches a batch of received datagrams to their probes.
func (e *shared) handle(s *icmpSocket, b *recvBatch, n int) {
	now := time.Now()
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
		if k := rx - p.sentWall.Load(); k > 0 && k <= userRTT {
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
