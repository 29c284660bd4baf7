package netns

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// pinger sends ICMP echo requests from inside a namespace over a raw socket
// (the machine has no iputils ping) and measures RTTs with the kernel's
// receive timestamps, so the measurement adds almost nothing to the delay.
type pinger struct {
	conn *net.IPConn
	id   int
	seq  int
}

// newPinger opens a raw ICMP socket inside n; t.Cleanup closes it.
func newPinger(t *testing.T, n *NS) *pinger {
	t.Helper()
	var conn *net.IPConn
	err := n.Do(func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		conn = c.(*net.IPConn)
		return setupTimestamps(conn)
	})
	if err != nil {
		t.Fatalf("pinger in %s: %v", n.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &pinger{conn: conn, id: os.Getpid()&0xffff ^ int(time.Now().UnixNano()&0xffff)}
}

// setupTimestamps enables SO_TIMESTAMPNS on conn.
func setupTimestamps(conn *net.IPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sockErr error
	if err := rc.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		if sockErr == nil {
			sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf)
		}
	}); err != nil {
		return err
	}
	return sockErr
}

// burst sends count echo requests to dst back to back and collects the RTTs
// of the replies arriving within timeout; lost requests are missing.
func (p *pinger) burst(dst netip.Addr, count int, timeout time.Duration) ([]time.Duration, error) {
	return p.paced(dst, count, 0, timeout)
}

// paced sends count echo requests to dst, one every gap, and collects the
// RTTs of the replies arriving within timeout after the last request.
func (p *pinger) paced(dst netip.Addr, count int, gap, timeout time.Duration) ([]time.Duration, error) {
	sent := map[int]time.Time{}
	to := &net.IPAddr{IP: dst.AsSlice()}
	start := time.Now()
	for i := range count {
		if gap > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		}
		p.seq = (p.seq + 1) & 0xffff
		m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: p.id, Seq: p.seq, Data: []byte("netns-test")}}
		b, err := m.Marshal(nil)
		if err != nil {
			return nil, err
		}
		sent[p.seq] = time.Now()
		if _, err := p.conn.WriteToIP(b, to); err != nil {
			return nil, fmt.Errorf("send to %s: %w", dst, err)
		}
	}
	return p.collect(dst, sent, time.Now().Add(timeout))
}

// collect reads replies from dst matching sent until all came or deadline.
func (p *pinger) collect(dst netip.Addr, sent map[int]time.Time, deadline time.Time) ([]time.Duration, error) {
	var rtts []time.Duration
	buf, oob := make([]byte, 1500), make([]byte, 128)
	if err := p.conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	for len(sent) > 0 {
		n, oobn, _, from, err := p.conn.ReadMsgIP(buf, oob)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return rtts, nil
			}
			return rtts, err
		}
		recv, ok := rxTimestamp(oob[:oobn])
		if !ok {
			recv = time.Now()
		}
		addr, _ := netip.AddrFromSlice(from.IP)
		if addr.Unmap() != dst || n < 20 {
			continue
		}
		m, err := icmp.ParseMessage(1, buf[int(buf[0]&0x0f)<<2:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || echo.ID != p.id {
			continue
		}
		if at, ok := sent[echo.Seq]; ok {
			// recv is wall clock; compare wall clocks only.
			rtts = append(rtts, recv.Sub(at.Round(0)))
			delete(sent, echo.Seq)
		}
	}
	return rtts, nil
}

// ping sends count requests one after another, each waiting up to timeout,
// and returns how many got a reply.
func (p *pinger) ping(t *testing.T, dst netip.Addr, count int, timeout time.Duration) int {
	t.Helper()
	ok := 0
	for range count {
		rtts, err := p.burst(dst, 1, timeout)
		if err != nil {
			t.Logf("ping %s: %v", dst, err)
		}
		ok += len(rtts)
	}
	return ok
}

// median returns the median of d, which it sorts.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
