package prober

import (
	"golang.org/x/sys/unix"
)

// Batched sends with kernel transmit timestamps.
//
// A send system call costs about as much as the kernel's whole loopback
// echo (2.5 us of the 5 us per probe on the team's VM), so in busy mode the
// scheduler sends up to batchSize datagrams per sendmmsg: 2.4-2.9 instead of
// 4.9-5.0 us per probe for a bare send-and-read loop. One user-space time
// taken before such a call would be wrong for every packet but the first
// (on loopback the kernel completes each echo before it sends the next
// packet, so the 64th read ~150 us slow: BenchmarkSendChunk). So the
// socket asks the kernel for a software transmit timestamp of every
// packet (SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_SOFTWARE: taken when the
// device takes the packet), which it returns on the socket's error queue
// with a copy of the packet; the RTT is then the kernel's receive time of
// the reply minus the kernel's transmit time of the request. Without a
// stamp (a device that does not take them) the RTT falls back to the time
// before the send call, and a socket that never gets any stops batching.
//
// Stamps are read before the replies they belong to are matched: drain
// reads a batch of replies, then the error queue, then matches. A request's
// stamp is queued when the device takes it, before its reply can exist, so
// every reply read has its stamp read by then.

// stampFlags asks for software transmit timestamps, reported as
// SCM_TIMESTAMPNS with the packet on the error queue.
const stampFlags = unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE

// unstampedLimit is how many replies without a transmit stamp, and none
// with one, make a socket stop batching its sends.
const unstampedLimit = 100

// reader holds the buffers of one goroutine that reads a socket: replies,
// and the transmit stamps of batched sends.
type reader struct {
	replies *recvBatch
	stamps  *recvBatch
}

func newReader() *reader { return &reader{replies: newRecvBatch(), stamps: newRecvBatch()} }

// setSendStamps turns transmit timestamps, and with them batched sends, on
// or off for s (turning off cannot fail in a way that matters: the socket
// stops batching all the same). e.mu is held.
func (e *shared) setSendStamps(s *icmpSocket, on bool) {
	if on == s.stamped.Load() || (on && s.noStamps.Load()) {
		return
	}
	flags := 0
	if on {
		flags = stampFlags
	}
	if err := unix.SetsockoptInt(int(s.fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags); err != nil && on {
		s.noStamps.Store(true)
		e.log.Warn("no kernel transmit timestamps: sending one echo request per system call", "err", err)
		return
	}
	s.stamped.Store(on)
}

// readStamps records the transmit stamps waiting on s's error queue. The
// queue shares the receive buffer with the replies, so it is emptied
// whenever replies are read.
func (e *shared) readStamps(s *icmpSocket, b *recvBatch) {
	for {
		n, errno := b.recvmmsg(s.fd, unix.MSG_DONTWAIT|unix.MSG_ERRQUEUE, false)
		if errno != 0 {
			return
		}
		for i := range n {
			tx, _, _ := b.control(i)
			data, _ := b.packet(i)
			r, ok := parseSent(data, s.v6, s.id)
			if !ok || tx == 0 {
				continue
			}
			if t := e.lookup(r.slot, r.gen); t != nil {
				t.stamp(r.seq, tx)
			}
		}
		if n < batchSize {
			return
		}
	}
}

// stamp records the kernel's transmit time (Unix ns) of probe seq.
func (t *target) stamp(seq uint16, tx int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := &t.ring[seq&t.mask]; !t.removed && p.seq == seq && p.state == statePending {
		p.txWall = tx
	}
}

// sentAt returns the send time of p for its RTT (Unix ns): the kernel's
// transmit stamp if there is one, else the time before the send call. It
// counts replies without a stamp on a socket that batches, and makes one
// that never gets a stamp stop. Under t.mu.
func (t *target) sentAt(p *probe) int64 {
	s := t.sock
	if s == nil || !s.stamped.Load() {
		return p.sentWall.Load()
	}
	if p.txWall != 0 {
		s.stampedReplies.Add(1)
		return p.txWall
	}
	if s.unstamped.Add(1) >= unstampedLimit && s.stampedReplies.Load() == 0 {
		s.noStamps.Store(true) // the scheduler turns them off (checkStamps)
	}
	return p.sentWall.Load()
}

// checkStamps turns off batching on a socket that got no transmit stamp
// for unstampedLimit replies. e.mu is held.
func (e *shared) checkStamps(s *icmpSocket) {
	if s.noStamps.Load() && s.stamped.Load() {
		e.log.Warn("the kernel returned no transmit timestamps: sending one echo request per system call")
		e.setSendStamps(s, false)
	}
}
