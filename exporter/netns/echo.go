package netns

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

const (
	// spinMargin is how long before a reply's deadline the sender stops
	// sleeping and busy-waits. nanosleep with 1 ns timer slack wakes up to
	// ~100 us late on a loaded VM; spinning the rest keeps replies within a
	// few microseconds of the deadline for little CPU.
	spinMargin = 200 * time.Microsecond
	// maxSleep bounds one nanosleep so that cleanup is not held up by long
	// delays.
	maxSleep = 20 * time.Millisecond
	// icmpFilter is the Linux SOL_RAW option ICMP_FILTER: a bit mask of the
	// ICMP types a raw socket should NOT receive.
	icmpFilter = 1
	// rcvBuf is the receive buffer of the responder's socket in bytes.
	rcvBuf = 8 << 20
	// echoIgnoreAll switches the kernel's own echo replies off.
	echoIgnoreAll = "net.ipv4.icmp_echo_ignore_all"
)

// EchoResponder makes n answer IPv4 pings itself, each reply sent delay after
// the request arrived: a host with a fixed RTT, without tc/netem. The kernel's
// own echo replies are switched off (net.ipv4.icmp_echo_ignore_all=1).
// It is StartEcho inside n for every address of n; the responder stops in
// t.Cleanup, which gives the kernel its echo replies back.
func (n *NS) EchoResponder(t testing.TB, delay time.Duration) {
	t.Helper()
	if delay < 0 {
		t.Fatalf("EchoResponder(%v): negative delay", delay)
	}
	n.mu.Lock()
	running := n.echo
	n.echo = true
	n.mu.Unlock()
	if running {
		t.Fatalf("EchoResponder in %s: already running (two would answer every ping twice)", n.Name)
	}
	n.Sysctl(t, echoIgnoreAll, "1")
	var stop func()
	err := n.Do(func() (err error) {
		stop, err = StartEcho(netip.IPv4Unspecified(), delay)
		return err
	})
	if err != nil {
		t.Fatalf("EchoResponder in %s: %v", n.Name, err)
	}
	t.Cleanup(func() {
		stop()
		n.mu.Lock()
		n.echo = false
		n.mu.Unlock()
		// Give the kernel its echo replies back, unless n is gone already.
		if err := n.writeSysctl(echoIgnoreAll, "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("EchoResponder cleanup in %s: %v", n.Name, err)
		}
	})
}

// StartEcho answers IPv4 pings to addr (every address when addr is
// unspecified) in the network namespace of the calling thread, each reply
// sent delay after the request arrived, until stop is called; stop waits
// until the responder is gone. It is the core of EchoResponder, for use
// outside tests (exporter/bench/delayecho).
//
// Delays are measured from the kernel's receive timestamp (SO_TIMESTAMPNS)
// and the reply is sent within a few microseconds of it; concurrent requests
// each get their own deadline, they do not queue behind each other's delay.
// Replies come from addr: with several addresses on one interface, one
// responder per address gives each its own delay. SetLoss still applies:
// dropped requests never reach the responder.
//
// The kernel must not answer too (net.ipv4.icmp_echo_ignore_all=1 in the
// namespace): StartEcho refuses to start otherwise, since every ping would
// get a prompt reply from the kernel besides the delayed one.
func StartEcho(addr netip.Addr, delay time.Duration) (stop func(), err error) {
	if delay < 0 {
		return nil, fmt.Errorf("echo responder: negative delay %v", delay)
	}
	if !addr.Is4() {
		return nil, fmt.Errorf("echo responder: %q is not an IPv4 address", addr)
	}
	v, err := os.ReadFile(sysctlPath(echoIgnoreAll))
	if err != nil {
		return nil, fmt.Errorf("echo responder: %w", err)
	}
	if strings.TrimSpace(string(v)) != "1" {
		return nil, fmt.Errorf("echo responder: %s is %s in this namespace, want 1 (the kernel would answer every ping at once, besides the delayed reply)",
			echoIgnoreAll, strings.TrimSpace(string(v)))
	}
	c, err := net.ListenPacket("ip4:icmp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("echo responder on %s: %w", addr, err)
	}
	conn := c.(*net.IPConn)
	if err := setupEchoSocket(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("echo responder on %s: %w", addr, err)
	}
	r := &responder{conn: conn, delay: delay, queue: make(chan echoReply, 256), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(r.receive)
	wg.Go(r.send)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(r.done)
			conn.Close()
			wg.Wait()
		})
	}, nil
}

// setupEchoSocket asks for kernel receive timestamps and filters out every
// ICMP type but echo requests.
func setupEchoSocket(conn *net.IPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sockErr error
	err = rc.Control(func(fd uintptr) {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			sockErr = fmt.Errorf("setsockopt SO_TIMESTAMPNS: %w", err)
			return
		}
		// Bursts of thousands of requests must not overflow the default
		// ~200 KiB buffer; FORCE works beyond rmem_max since we are root.
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
			sockErr = fmt.Errorf("setsockopt SO_RCVBUFFORCE: %w", err)
			return
		}
		mask := ^uint32(1 << ipv4.ICMPTypeEcho)
		b := (*[4]byte)(unsafe.Pointer(&mask))[:]
		if err := unix.SetsockoptString(int(fd), unix.SOL_RAW, icmpFilter, string(b)); err != nil {
			sockErr = fmt.Errorf("setsockopt ICMP_FILTER: %w", err)
		}
	})
	if err != nil {
		return err
	}
	return sockErr
}

// responder answers echo requests read from conn after delay.
type responder struct {
	conn  *net.IPConn
	delay time.Duration
	queue chan echoReply // in deadline order: the delay is the same for all
	done  chan struct{}
}

// echoReply is a reply ready to be sent to to at the monotonic time at.
type echoReply struct {
	to  *net.IPAddr
	msg []byte
	at  time.Time
}

// receive reads echo requests and queues their replies until conn closes.
func (r *responder) receive() {
	defer close(r.queue)
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := r.conn.ReadMsgIP(buf, oob)
		if err != nil {
			return // closed by stop
		}
		at := r.deadline(oob[:oobn])
		msg, ok := echoReplyFor(buf[:n])
		if !ok {
			continue
		}
		select {
		case r.queue <- echoReply{to: from, msg: msg, at: at}:
		case <-r.done:
			return
		}
	}
}

// deadline returns when the reply to a request with the given control
// messages is due: its kernel receive time plus delay, or now plus delay
// when there is no usable timestamp.
func (r *responder) deadline(oob []byte) time.Time {
	now := time.Now()
	recv, ok := rxTimestamp(oob)
	if !ok {
		return now.Add(r.delay)
	}
	// recv is wall-clock time; turn it into an age so the deadline keeps
	// now's monotonic reading. Implausible ages mean a clock step.
	age := now.Sub(recv)
	if age < 0 || age > time.Second {
		age = 0
	}
	return now.Add(r.delay - age)
}

// rxTimestamp extracts SCM_TIMESTAMPNS from control messages. It parses by
// hand: unix.ParseSocketControlMessage allocates, and this runs per packet.
func rxTimestamp(oob []byte) (time.Time, bool) {
	const (
		hdrLen = int(unsafe.Sizeof(unix.Cmsghdr{}))
		tsLen  = int(unsafe.Sizeof(unix.Timespec{}))
	)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return time.Time{}, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && l >= hdrLen+tsLen {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[hdrLen]))
			return time.Unix(ts.Unix()), true
		}
		oob = oob[cmsgAlign(l):]
	}
	return time.Time{}, false
}

// cmsgAlign rounds l up to the alignment of control messages.
func cmsgAlign(l int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	if l > math.MaxInt-a {
		return math.MaxInt
	}
	return (l + a - 1) &^ (a - 1)
}

// echoReplyFor turns a raw IPv4 packet holding an echo request into the
// ICMP echo reply message (same id, seq and payload): only the type and the
// checksum change.
func echoReplyFor(pkt []byte) ([]byte, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return nil, false
	}
	hl := int(pkt[0]&0x0f) << 2
	if hl < 20 || len(pkt) < hl+8 {
		return nil, false
	}
	req := pkt[hl:]
	if req[0] != byte(ipv4.ICMPTypeEcho) || req[1] != 0 {
		return nil, false
	}
	reply := append([]byte(nil), req...)
	reply[0] = byte(ipv4.ICMPTypeEchoReply)
	reply[2], reply[3] = 0, 0
	c := checksum(reply)
	reply[2], reply[3] = byte(c>>8), byte(c)
	return reply, true
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// send writes queued replies at their deadlines, on its own locked thread
// with real-time priority and 1 ns timer slack so that it wakes on time.
func (r *responder) send() {
	runtime.LockOSThread()
	undo := preciseThread()
	defer func() {
		if undo() {
			runtime.UnlockOSThread()
		}
		// else: the thread stays locked, so the runtime discards it (or
		// parks it for good if it is the main thread) instead of reusing it.
	}()
	for rep := range r.queue {
		if !r.waitUntil(rep.at) {
			continue // stopping: drain the queue without waiting
		}
		_, _ = r.conn.WriteToIP(rep.msg, rep.to) // a lost reply is just a lost ping
	}
}

// preciseThread gives the current thread SCHED_FIFO priority 1 (it wakes on
// time even when other processes keep the CPUs busy) and 1 ns timer slack,
// both best effort. undo restores both and reports whether that worked.
func preciseThread() (undo func() bool) {
	attr, attrErr := unix.SchedGetAttr(0, 0)
	slack, slackErr := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if attrErr != nil || slackErr != nil {
		return func() bool { return true } // cannot restore: change nothing
	}
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{
		Size:     uint32(unsafe.Sizeof(unix.SchedAttr{})),
		Policy:   unix.SCHED_FIFO,
		Priority: 1,
	}, 0)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	return func() bool {
		return unix.SchedSetAttr(0, attr, 0) == nil &&
			unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0) == nil
	}
}

// waitUntil sleeps, then spins, until at. It returns false when the
// responder is stopping.
func (r *responder) waitUntil(at time.Time) bool {
	for {
		select {
		case <-r.done:
			return false
		default:
		}
		d := time.Until(at)
		if d <= spinMargin {
			break
		}
		ts := unix.NsecToTimespec(int64(min(d-spinMargin, maxSleep)))
		_ = unix.Nanosleep(&ts, nil) // EINTR: loop recomputes
	}
	for time.Now().Before(at) {
		// Busy-wait the last spinMargin: timers and nanosleep are not
		// precise enough for the sub-0.2 ms RTTs tests assert.
	}
	return true
}
