package prober

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReceiveBufferFor(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{
		{0, minReceiveBuffer},
		{1000, minReceiveBuffer}, // 640 kB of replies: the floor
		{100_000, 64_000_000},    // half a second of replies at 1,280 bytes
		{1e7, maxReceiveBuffer},
	} {
		if got := receiveBufferFor(tc.rate); got != tc.want {
			t.Errorf("receiveBufferFor(%v): got %d, want %d", tc.rate, got, tc.want)
		}
	}
}

// granted reads the socket's receive buffer as the kernel counts it (twice
// what was asked).
func granted(t *testing.T, s *icmpSocket) int {
	t.Helper()
	n, err := unix.GetsockoptInt(int(s.fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReceiveBufferSizing: the receive buffer grows with the probe rate as
// targets are added, is not shrunk when they go, and stays at
// Options.ReceiveBuffer when that is set. Root: SO_RCVBUFFORCE.
func TestReceiveBufferSizing(t *testing.T) {
	ns := newNS(t)
	for _, fixed := range []int{0, 6 << 20} {
		t.Run(fmt.Sprint("fixed=", fixed), func(t *testing.T) {
			te := newTestEngine(t) // no goroutines: nothing is sent
			var s *icmpSocket
			if err := ns.Do(func() (err error) { s, err = openSocket(false, Privileged, 1); return err }); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.close() })
			te.socks[0] = s
			te.rcvbuf = fixed
			if fixed > 0 {
				te.resize(fixed) // as newShared does
			}
			before := granted(t, s)
			const n, interval = 1000, 20 * time.Millisecond // 50,000 probes/s
			for i := range n {
				if err := te.Add(fmt.Sprint(i), Target{Addr: loopbackAddr(i), Interval: interval}, &recorder{}); err != nil {
					t.Fatal(err)
				}
			}
			grown := granted(t, s)
			if fixed > 0 {
				if before != 2*fixed || grown != 2*fixed {
					t.Fatalf("fixed at %d: got %d before and %d after adding 50,000 probes/s, want %d (twice the request)", fixed, before, grown, 2*fixed)
				}
				return
			}
			if want := 2 * receiveBufferFor(50_000); grown < want {
				t.Fatalf("at 50,000 probes/s: got %d bytes, want at least %d (was %d)", grown, want, before)
			}
			for i := range n {
				te.Remove(fmt.Sprint(i))
			}
			if got := granted(t, s); got != grown {
				t.Errorf("after removing every target: got %d bytes, want %d (not shrunk)", got, grown)
			}
		})
	}
}
