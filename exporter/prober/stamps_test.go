package prober

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
	"golang.org/x/sys/unix"
)

// sentPacket is an echo request as the error queue returns it: a link
// header of link bytes, the IP header, the ICMP message.
func sentPacket(v6 bool, link int, icmp []byte) []byte {
	b := make([]byte, link)
	if v6 {
		ip := make([]byte, 40)
		ip[0], ip[6] = 0x60, 58
		return append(append(b, ip...), icmp...)
	}
	ip := make([]byte, 20)
	ip[0], ip[9] = 0x45, 1
	return append(append(b, ip...), icmp...)
}

func TestParseSent(t *testing.T) {
	req4 := newEchoRequest(false, 0x1234, 7, 0xdeadbeef, 56)
	setSeq(req4, 513, true)
	req6 := newEchoRequest(true, 0x1234, 8, 42, 8)
	setSeq(req6, 9, false)
	want4 := echoReply{id: 0x1234, seq: 513, slot: 7, gen: 0xdeadbeef}
	want6 := echoReply{id: 0x1234, seq: 9, slot: 8, gen: 42}
	// An IPv4 header with options (0x46) is never ours.
	withOptions := sentPacket(false, 14, req4)
	withOptions[14] = 0x46
	for _, tc := range []struct {
		name string
		b    []byte
		v6   bool
		want echoReply
		ok   bool
	}{
		{"IPv4 after Ethernet or loopback header", sentPacket(false, 14, req4), false, want4, true},
		{"IPv4 on a tunnel (no link header)", sentPacket(false, 0, req4), false, want4, true},
		{"IPv4 after a VLAN header", sentPacket(false, 18, req4), false, want4, true},
		{"IPv6 after Ethernet header", sentPacket(true, 14, req6), true, want6, true},
		{"IPv6 on a tunnel", sentPacket(true, 0, req6), true, want6, true},
		{"another prober's id", sentPacket(false, 14, newEchoRequest(false, 0x4321, 7, 1, 56)), false, echoReply{}, false},
		{"an echo reply, not a request", sentPacket(false, 14, echoReplyOf(req4, false)), false, echoReply{}, false},
		{"IPv4 packet on the IPv6 socket", sentPacket(false, 14, req4), true, echoReply{}, false},
		{"IP options", withOptions, false, echoReply{}, false},
		{"link header longer than any device's", sentPacket(false, maxLinkHeader+1, req4), false, echoReply{}, false},
		{"truncated token", sentPacket(false, 14, req4)[:14+20+12], false, echoReply{}, false},
		{"empty", nil, false, echoReply{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseSent(tc.b, tc.v6, 0x1234)
			if ok != tc.ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestUnstampedSocketStopsBatching: a socket whose kernel never returns a
// transmit stamp stops batching after unstampedLimit replies (their RTTs
// fall back to the time before the send call); one that gets some keeps
// batching, whatever the replies without one.
func TestUnstampedSocketStopsBatching(t *testing.T) {
	var logs bytes.Buffer
	e := &shared{log: slog.New(slog.NewTextHandler(&logs, nil))}
	never := &icmpSocket{fd: ^uintptr(0)} // setsockopt fails (EBADF): ignored when turning off
	never.stamped.Store(true)
	tg := &target{sock: never}
	p := &probe{}
	p.sentWall.Store(42)
	for i := range unstampedLimit {
		if got := tg.sentAt(p); got != 42 {
			t.Fatalf("reply %d without a stamp: sent at %d, want the time before the send call (42)", i, got)
		}
		e.checkStamps(never)
		if stamped := never.stamped.Load(); stamped != (i < unstampedLimit-1) {
			t.Fatalf("after %d replies without a stamp: batching %v", i+1, stamped)
		}
	}
	if !strings.Contains(logs.String(), "no transmit timestamps") {
		t.Errorf("log %q: want a warning that batching stopped", logs.String())
	}

	some := &icmpSocket{fd: ^uintptr(0)}
	some.stamped.Store(true)
	tg = &target{sock: some}
	p.txWall = 7
	if got := tg.sentAt(p); got != 7 {
		t.Fatalf("reply with a stamp: sent at %d, want the stamp (7)", got)
	}
	p.txWall = 0
	for range 3 * unstampedLimit {
		tg.sentAt(p)
		e.checkStamps(some)
	}
	if !some.stamped.Load() {
		t.Error("a socket that got a stamp stopped batching")
	}
}

// TestBatchedSendsStamped: in busy mode the engine batches its sends and
// every reply's RTT starts at the kernel's transmit stamp of its request,
// on IPv4 (raw sockets see an IP header) and IPv6 loopback alike, with raw
// and with datagram sockets.
func TestBatchedSendsStamped(t *testing.T) {
	for _, mode := range []Mode{Privileged, Unprivileged} {
		t.Run(mode.String(), func(t *testing.T) {
			ns := newNS(t)
			e := newEngine(t, ns, Options{Engine: EngineShared, Mode: mode}).(*shared)
			var recs []*recorder
			for i := range 2 * batchSize {
				addr := loopbackAddr(i)
				if i%16 == 0 {
					addr = netip.MustParseAddr("::1")
				}
				recs = append(recs, add(t, e, fmt.Sprint(i), Target{Addr: addr, Interval: 100 * time.Millisecond, Timeout: time.Second}))
			}
			waitFor(t, 60*time.Second, "every target to reply 10 times", func() bool {
				return !slices.ContainsFunc(recs, func(r *recorder) bool { return r.counts().replied < 10 })
			})
			for i, s := range e.socks {
				if !s.stamped.Load() || s.noStamps.Load() {
					t.Fatalf("socket %d: batching %v, stamps refused %v; want batching with stamps", i, s.stamped.Load(), s.noStamps.Load())
				}
				// A reply goes without its stamp only while two goroutines
				// read the socket: at the switch to busy mode the receiver,
				// blocked in its read from before, reads one batch while the
				// scheduler reads the stamps.
				if got, miss := s.stampedReplies.Load(), s.unstamped.Load(); got < 8*10 || miss > batchSize {
					t.Errorf("socket %d: %d replies with a transmit stamp, %d without; want at least 80, and at most one batch (%d) without",
						i, got, miss, batchSize)
				}
			}
			for i, r := range recs {
				r.checkConsistent(t, fmt.Sprint(i))
			}
		})
	}
}

// TestStampsReadWhileNoHostAnswers: the transmit stamps share the receive
// buffer with the replies, so they must be read even when no reply comes
// (every host down): left queued, they would fill the buffer and the
// replies of the hosts that come back would be dropped.
func TestStampsReadWhileNoHostAnswers(t *testing.T) {
	netns.Require(t, "nft")
	ns := newNS(t)
	nftables(t, ns, `table inet silence {
	chain in { type filter hook input priority 0; icmp type echo-reply drop; }
}
`)
	e := newEngine(t, ns, Options{Engine: EngineShared, Mode: Privileged}).(*shared)
	var recs []*recorder
	for i := range 2 * batchSize {
		recs = append(recs, add(t, e, fmt.Sprint(i), Target{Addr: loopbackAddr(i), Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond}))
	}
	waitFor(t, 60*time.Second, "40 lost probes of every target", func() bool {
		return !slices.ContainsFunc(recs, func(r *recorder) bool { return r.counts().lost < 40 })
	})
	// 1,280 stamps a second are queued; the scheduler reads them every
	// tick. Count what is waiting (taking it away from the scheduler).
	b := newRecvBatch()
	waiting := 0
	for {
		n, errno := b.recvmmsg(e.socks[0].fd, unix.MSG_DONTWAIT|unix.MSG_ERRQUEUE, false)
		if errno != 0 {
			break
		}
		waiting += n
	}
	sent := 0
	for _, r := range recs {
		sent += r.counts().sent
	}
	// Unread, they would all be waiting (up to the buffer's room); half
	// allows the scheduler two seconds behind on a loaded machine.
	if waiting > sent/2 {
		t.Errorf("%d transmit stamps waiting after %d sends; want them read as they come", waiting, sent)
	}
	if c := recs[0].counts(); c.replied != 0 {
		t.Errorf("got %+v, want no reply through the nftables rule", c)
	}
}
