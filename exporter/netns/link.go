package netns

import (
	"crypto/rand"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Link is a veth pair between two namespaces: IfA with AddrA in A, IfB with
// AddrB in B, both in one /30 of 198.18.0.0/15 (RFC 2544 benchmarking space,
// never routed on the Internet).
type Link struct {
	A, B         *NS
	AddrA, AddrB netip.Addr
	IfA, IfB     string
}

// Connect links a and b with a veth pair and brings both ends up. It never
// touches the root namespace: the pair is created inside a and its peer end
// is moved straight into b. The links die with the namespaces.
func Connect(t testing.TB, a, b *NS) *Link {
	t.Helper()
	if a == b {
		t.Fatalf("connect %s to itself: need two namespaces", a.Name)
	}
	base := pickSubnet(a, b)
	suffix := randHex(4) // "dt" + 8 hex + "a" = 11 chars, below IFNAMSIZ-1 = 15
	l := &Link{
		A: a, B: b,
		AddrA: base.Next(), AddrB: base.Next().Next(),
		IfA: "dt" + suffix + "a", IfB: "dt" + suffix + "b",
	}
	steps := [][]string{
		{"-n", a.Name, "link", "add", l.IfA, "type", "veth", "peer", "name", l.IfB, "netns", b.Name},
		{"-n", a.Name, "addr", "add", l.AddrA.String() + "/30", "dev", l.IfA},
		{"-n", b.Name, "addr", "add", l.AddrB.String() + "/30", "dev", l.IfB},
		{"-n", a.Name, "link", "set", l.IfA, "up"},
		{"-n", b.Name, "link", "set", l.IfB, "up"},
	}
	for _, args := range steps {
		if err := run("ip", args...); err != nil {
			t.Fatalf("connect %s and %s: %v", a.Name, b.Name, err)
		}
	}
	l.waitUp(t)
	return l
}

// waitUp waits until both ends report operational state UP. The kernel
// turns the carrier on asynchronously (linkwatch, up to a second later when
// links change often); until then the device drops what is sent.
func (l *Link) waitUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, end := range []struct{ ns, dev string }{{l.A.Name, l.IfA}, {l.B.Name, l.IfB}} {
		for {
			out, err := exec.Command("ip", "-n", end.ns, "-o", "link", "show", "dev", end.dev).Output()
			if err != nil {
				t.Fatalf("link %s in %s: %v", end.dev, end.ns, err)
			}
			if strings.Contains(string(out), " state UP ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("link %s in %s not up after 5 s: %s", end.dev, end.ns, strings.TrimSpace(string(out)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Down takes B's end of the link down: A sees no carrier and everything sent
// to AddrB is lost, like a host dropping off the network.
func (l *Link) Down(t testing.TB) {
	t.Helper()
	if err := run("ip", "-n", l.B.Name, "link", "set", l.IfB, "down"); err != nil {
		t.Fatalf("link down: %v", err)
	}
}

// Up brings B's end of the link back and waits until traffic flows again.
func (l *Link) Up(t testing.TB) {
	t.Helper()
	if err := run("ip", "-n", l.B.Name, "link", "set", l.IfB, "up"); err != nil {
		t.Fatalf("link up: %v", err)
	}
	l.waitUp(t)
}

// pickSubnet returns the network address of a random /30 in 198.18.0.0/15
// not yet used by a link of a or b, and marks it used in both.
func pickSubnet(a, b *NS) netip.Addr {
	first, second := a, b
	if first.Name > second.Name { // fixed lock order: no deadlock with Connect(b, a)
		first, second = second, first
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()
	for {
		var r [3]byte
		_, _ = rand.Read(r[:])
		addr := [4]byte{198, 18 + r[0]&1, r[1], r[2] &^ 3} // 198.18.0.0/15, /30 aligned
		if a.subnets[addr] || b.subnets[addr] {
			continue
		}
		a.subnets[addr], b.subnets[addr] = true, true
		return netip.AddrFrom4(addr)
	}
}
