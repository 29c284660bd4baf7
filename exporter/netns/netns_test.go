package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// created records every namespace the tests made, so TestMain can check that
// none is left behind (other packages' tests may have their own dt- ones).
var created sync.Map

func TestMain(m *testing.M) {
	code := m.Run()
	if left := leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "namespaces left behind: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

// leftovers returns the namespaces created by these tests that still exist.
func leftovers() []string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil // no ip: nothing was created
	}
	var left []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if _, ok := created.Load(f[0]); ok {
			left = append(left, f[0])
		}
	}
	return left
}

// newNS is New plus bookkeeping for TestMain.
func newNS(t *testing.T) *NS {
	t.Helper()
	n := New(t)
	created.Store(n.Name, true)
	return n
}

// exists reports whether namespace name is listed by `ip netns list`.
func exists(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

func TestNewNames(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	for _, n := range []*NS{a, b} {
		if !strings.HasPrefix(n.Name, "dt-") {
			t.Errorf("got name %q, want prefix dt-", n.Name)
		}
		if !exists(t, n.Name) {
			t.Errorf("got namespace %s missing from ip netns list, want listed", n.Name)
		}
	}
	if a.Name == b.Name {
		t.Errorf("got two namespaces named %s, want unique names", a.Name)
	}
}

func TestCleanupRemovesNamespaceAndProcesses(t *testing.T) {
	Require(t)
	var name string
	var cmd *exec.Cmd
	waited := make(chan error, 1)
	t.Run("inner", func(t *testing.T) {
		n := newNS(t)
		name = n.Name
		cmd = n.Command(context.Background(), "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sleep in %s: %v", n.Name, err)
		}
		go func() { waited <- cmd.Wait() }()
	})
	if exists(t, name) {
		t.Errorf("got namespace %s listed after cleanup, want deleted", name)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Errorf("got process %d still running after cleanup, want killed", cmd.Process.Pid)
		_ = cmd.Process.Kill()
	}
}

func TestNewRemovesStale(t *testing.T) {
	Require(t)
	// A pid above pid_max (4194304 at most) never belongs to a live process.
	tests := []struct {
		name      string
		wantStale bool
	}{
		{fmt.Sprintf("dt-%s-%d", randHex(6), 4194305), true},
		{fmt.Sprintf("dt-%s-%d", randHex(6), os.Getpid()), false},
		{"dt-" + randHex(6), false}, // no pid: not ours to judge
		{"dt-1234", false},
		{fmt.Sprintf("dt-%s-%d", randHex(5), 4194305), false}, // not our format
		{fmt.Sprintf("dt-%s-%dx", randHex(6), 4194305), false},
	}
	for _, tt := range tests {
		created.Store(tt.name, true)
		if err := run("ip", "netns", "add", tt.name); err != nil {
			t.Fatal(err)
		}
		if !tt.wantStale {
			t.Cleanup(func() { _ = run("ip", "netns", "del", tt.name) })
		}
	}
	newNS(t)
	for _, tt := range tests {
		if got := exists(t, tt.name); got == tt.wantStale {
			t.Errorf("got namespace %s exists=%v after New, want %v", tt.name, got, !tt.wantStale)
		}
	}
}

func TestDo(t *testing.T) {
	Require(t)
	n := newNS(t)
	var want unix.Stat_t
	if err := unix.Stat(filepath.Join(netnsDir, n.Name), &want); err != nil {
		t.Fatal(err)
	}
	var inside unix.Stat_t
	err := n.Do(func() error { return unix.Stat("/proc/thread-self/ns/net", &inside) })
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if inside.Ino != want.Ino {
		t.Errorf("got namespace inode %d inside Do, want %d", inside.Ino, want.Ino)
	}
	wantErr := fmt.Errorf("boom")
	if err := n.Do(func() error { return wantErr }); err != wantErr {
		t.Errorf("got error %v from Do, want %v", err, wantErr)
	}
	var outside unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &outside); err != nil {
		t.Fatal(err)
	}
	if outside.Ino == want.Ino {
		t.Errorf("got caller's thread inside %s after Do, want original namespace", n.Name)
	}
}

func TestDoPanic(t *testing.T) {
	Require(t)
	n := newNS(t)
	// Many rounds: one of them is likely to run on the main thread, which
	// the runtime cannot throw away, so it must be switched back.
	for range 50 {
		func() {
			defer func() {
				v := recover()
				if v == nil || !strings.Contains(fmt.Sprint(v), "boom") {
					t.Errorf("got recovered %v, want the panic from fn", v)
				}
			}()
			_ = n.Do(func() error { panic("boom") })
		}()
	}
	if err := n.Do(func() error { return nil }); err != nil {
		t.Errorf("got %v from Do after panics, want nil", err)
	}
	out, err := exec.Command("ip", "netns", "pids", n.Name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "" {
		t.Errorf("got processes %q in %s after Do panicked, want none (thread not switched back)", got, n.Name)
	}
}

func TestSysctl(t *testing.T) {
	Require(t)
	n := newNS(t)
	n.Sysctl(t, "net.ipv4.icmp_echo_ignore_all", "1")
	out, err := n.Command(context.Background(), "cat", "/proc/sys/net/ipv4/icmp_echo_ignore_all").Output()
	if err != nil {
		t.Fatalf("read sysctl: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "1" {
		t.Errorf("got icmp_echo_ignore_all %q in %s, want 1", got, n.Name)
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/icmp_echo_ignore_all")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(host)); got != "0" {
		t.Errorf("got host icmp_echo_ignore_all %q, want 0 (unchanged)", got)
	}
}

func TestConnect(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	if !l.AddrA.Is4() || !l.AddrB.Is4() {
		t.Fatalf("got addresses %s, %s, want IPv4", l.AddrA, l.AddrB)
	}
	for _, addr := range []string{l.AddrA.String(), l.AddrB.String()} {
		if !strings.HasPrefix(addr, "198.18.") && !strings.HasPrefix(addr, "198.19.") {
			t.Errorf("got address %s, want inside 198.18.0.0/15", addr)
		}
	}
	if len(l.IfA) > 15 || len(l.IfB) > 15 || l.IfA == l.IfB {
		t.Errorf("got interface names %q, %q, want distinct and at most 15 chars", l.IfA, l.IfB)
	}
	p := newPinger(t, a)
	if got := p.ping(t, l.AddrB, 3, time.Second); got != 3 {
		t.Errorf("got %d/3 replies from %s, want 3", got, l.AddrB)
	}
	l.Down(t)
	if got := p.ping(t, l.AddrB, 2, 300*time.Millisecond); got != 0 {
		t.Errorf("got %d/2 replies with link down, want 0", got)
	}
	l.Up(t)
	if got := p.ping(t, l.AddrB, 3, time.Second); got != 3 {
		t.Errorf("got %d/3 replies after link up, want 3", got)
	}
}

func TestConnectManyLinks(t *testing.T) {
	Require(t)
	hub := newNS(t)
	seen := map[string]bool{}
	for range 4 {
		l := Connect(t, hub, newNS(t))
		prefix := l.AddrB.String()
		if seen[prefix] {
			t.Errorf("got address %s twice, want one /30 per link", prefix)
		}
		seen[prefix] = true
		p := newPinger(t, hub)
		if got := p.ping(t, l.AddrB, 1, time.Second); got != 1 {
			t.Errorf("got %d/1 replies from %s, want 1", got, l.AddrB)
		}
	}
}

func TestSetLoss(t *testing.T) {
	Require(t, "nft")
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	p := newPinger(t, a)
	tests := []struct {
		percent int
		min     int // of 200 replies
		max     int
	}{
		{100, 0, 0},
		{50, 60, 140}, // > 5 standard deviations either side of 100
		{0, 200, 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d%%", tt.percent), func(t *testing.T) {
			b.SetLoss(t, tt.percent)
			rtts, err := p.burst(l.AddrB, 200, 500*time.Millisecond)
			if err != nil {
				t.Fatalf("burst: %v", err)
			}
			if got := len(rtts); got < tt.min || got > tt.max {
				t.Errorf("got %d/200 replies, want %d..%d", got, tt.min, tt.max)
			}
		})
	}
}

func TestSetLossWithEchoResponder(t *testing.T) {
	Require(t, "nft")
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	b.EchoResponder(t, time.Millisecond)
	p := newPinger(t, a)
	b.SetLoss(t, 100)
	if got := p.ping(t, l.AddrB, 2, 200*time.Millisecond); got != 0 {
		t.Errorf("got %d/2 replies at 100%% loss, want 0", got)
	}
	b.SetLoss(t, 0)
	if got := p.ping(t, l.AddrB, 2, time.Second); got != 2 {
		t.Errorf("got %d/2 replies at 0%% loss, want 2", got)
	}
}

func TestEchoResponderTwice(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	p := newPinger(t, a)
	t.Run("first", func(t *testing.T) {
		b.EchoResponder(t, 10*time.Millisecond)
		rtts, err := p.burst(l.AddrB, 1, time.Second)
		if err != nil || len(rtts) != 1 || rtts[0] < 10*time.Millisecond {
			t.Errorf("got rtts %v, %v, want one of at least 10ms", rtts, err)
		}
	})
	// After the responder's cleanup the kernel answers again, at once.
	rtts, err := p.burst(l.AddrB, 1, time.Second)
	if err != nil || len(rtts) != 1 || rtts[0] > 5*time.Millisecond {
		t.Errorf("got rtts %v, %v after responder stopped, want one kernel reply", rtts, err)
	}
	t.Run("second", func(t *testing.T) {
		b.EchoResponder(t, 20*time.Millisecond)
		rtts, err := p.burst(l.AddrB, 3, time.Second)
		if err != nil || len(rtts) != 3 {
			t.Fatalf("got rtts %v, %v, want 3", rtts, err)
		}
		for _, rtt := range rtts {
			if rtt < 20*time.Millisecond {
				t.Errorf("got rtt %v, want at least 20ms", rtt)
			}
		}
	})
}

func TestEchoResponder(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	const delay = 30 * time.Millisecond
	b.EchoResponder(t, delay)
	p := newPinger(t, a)
	var rtts []time.Duration
	for range 6 {
		r, err := p.burst(l.AddrB, 1, time.Second)
		if err != nil || len(r) != 1 {
			t.Fatalf("got %v, %v, want one reply", r, err)
		}
		if r[0] < delay {
			t.Errorf("got rtt %v, want at least %v", r[0], delay)
		}
		rtts = append(rtts, r[0])
	}
	t.Logf("rtts with %v responder: %v", delay, rtts)
	// The first ping waited for ARP; one late sample on a busy machine is
	// no fault of the responder, the median is.
	if med := median(rtts[1:]); med > delay+time.Millisecond {
		t.Errorf("got median rtt %v, want below %v", med, delay+time.Millisecond)
	}
}

// TestEchoResponderPrecision checks the median RTT of a steady stream of
// requests (about 3 times the rate of 1000 hosts pinged every second) is
// within 0.2 ms of the delay.
func TestEchoResponderPrecision(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	const delay = 20 * time.Millisecond
	b.EchoResponder(t, delay)
	p := newPinger(t, a)
	if _, err := p.burst(l.AddrB, 1, time.Second); err != nil { // ARP
		t.Fatalf("first ping: %v", err)
	}
	rtts, err := p.paced(l.AddrB, 300, 300*time.Microsecond, time.Second)
	if err != nil {
		t.Fatalf("paced: %v", err)
	}
	if len(rtts) != 300 {
		t.Fatalf("got %d/300 replies, want 300", len(rtts))
	}
	med := median(rtts)
	if d := med - delay; d < 0 || d > 200*time.Microsecond {
		t.Errorf("got median rtt %v, want within 0.2 ms above %v", med, delay)
	}
	t.Logf("300 requests, one every 0.3 ms: min %v median %v p90 %v max %v",
		rtts[0], med, rtts[len(rtts)*9/10], rtts[len(rtts)-1])
}

// TestEchoResponderConcurrent checks that a burst of requests is answered in
// parallel: each after delay, not one delay after the other.
func TestEchoResponderConcurrent(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	const delay = 50 * time.Millisecond
	b.EchoResponder(t, delay)
	p := newPinger(t, a)
	rtts, err := p.burst(l.AddrB, 100, time.Second)
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	if len(rtts) != 100 {
		t.Fatalf("got %d/100 replies, want 100", len(rtts))
	}
	slices.Sort(rtts)
	if first, last := rtts[0], rtts[len(rtts)-1]; first < delay || last > 2*delay {
		t.Errorf("got rtts %v..%v, want all within %v..%v (replies must not queue)", first, last, delay, 2*delay)
	}
}

// TestStartEchoPerAddress runs one responder per address of a namespace,
// as exporter/bench/delayecho does: each answers only its own address.
func TestStartEchoPerAddress(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	fast, slow := Connect(t, a, b), Connect(t, a, b)
	b.Sysctl(t, echoIgnoreAll, "1")
	delays := map[netip.Addr]time.Duration{fast.AddrB: 10 * time.Millisecond, slow.AddrB: 40 * time.Millisecond}
	for addr, delay := range delays {
		var stop func()
		if err := b.Do(func() (err error) { stop, err = StartEcho(addr, delay); return err }); err != nil {
			t.Fatalf("StartEcho(%s, %v): %v", addr, delay, err)
		}
		t.Cleanup(stop)
	}
	p := newPinger(t, a)
	for addr, delay := range delays {
		// An unbound responder would answer the slow address after 10 ms too:
		// the first reply per request counts.
		rtts, err := p.burst(addr, 3, 10*time.Second)
		if err != nil || len(rtts) != 3 {
			t.Fatalf("ping %s: got rtts %v, %v, want 3", addr, rtts, err)
		}
		for _, rtt := range rtts {
			if rtt < delay {
				t.Errorf("ping %s: got rtt %v, want at least %v", addr, rtt, delay)
			}
		}
	}
}

func TestStartEchoRefuses(t *testing.T) {
	Require(t)
	n := newNS(t)
	tests := []struct {
		name    string
		addr    netip.Addr
		delay   time.Duration
		wantErr string
	}{
		{"kernel still answers", netip.IPv4Unspecified(), time.Millisecond,
			"echo responder: net.ipv4.icmp_echo_ignore_all is 0 in this namespace, want 1 (the kernel would answer every ping at once, besides the delayed reply)"},
		{"negative delay", netip.IPv4Unspecified(), -time.Millisecond, "echo responder: negative delay -1ms"},
		{"IPv6", netip.IPv6Loopback(), time.Millisecond, `echo responder: "::1" is not an IPv4 address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := n.Do(func() error {
				stop, err := StartEcho(tt.addr, tt.delay)
				if err == nil {
					stop()
				}
				return err
			})
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestListenAndHTTPClient(t *testing.T) {
	Require(t)
	a, b := newNS(t), newNS(t)
	l := Connect(t, a, b)
	tests := []struct {
		name   string
		server *NS
		client *NS
		addr   string
	}{
		{"across link", b, a, net.JoinHostPort(l.AddrB.String(), "0")},
		{"loopback inside namespace", b, b, "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := tt.server.Listen("tcp", tt.addr)
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "hello from "+tt.server.Name)
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			resp, err := tt.client.HTTPClient().Get("http://" + ln.Addr().String() + "/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if want := "hello from " + tt.server.Name; string(body) != want {
				t.Errorf("got body %q, want %q", body, want)
			}
		})
	}
	// The root namespace must not reach the namespace's loopback listener.
	ln, err := b.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		// Something else on the host may hold the port; that is not ours.
		c.Close()
		t.Logf("root namespace connected to %s: port in use on the host too", ln.Addr())
	}
}

// TestRequireAsNonRoot runs this test binary as user nobody: Require must
// skip with the reason, and fail instead under CI=true.
func TestRequireAsNonRoot(t *testing.T) {
	if os.Getenv("DT_NETNS_CHILD") == "1" {
		Require(t)
		t.Fatal("got past Require as non-root, want skip or fail")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to switch to user nobody")
	}
	bin := copyExecutable(t)
	tests := []struct {
		ci       string
		wantFail bool
		wantText string
	}{
		{"", false, "--- SKIP"},
		{"true", true, "CI=true but namespace tests cannot run"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run", "^TestRequireAsNonRoot$", "-test.v")
			cmd.Env = []string{"DT_NETNS_CHILD=1", "CI=" + tt.ci, "PATH=" + os.Getenv("PATH")}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("got failed=%v (%v), want %v; output:\n%s", failed, err, tt.wantFail, out)
			}
			for _, want := range []string{tt.wantText, "need root"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("got output without %q:\n%s", want, out)
				}
			}
		})
	}
}

// copyExecutable copies the test binary to a directory user nobody can read
// (go test builds it in a private one).
func copyExecutable(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "netns-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "netns.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestAvailable(t *testing.T) {
	if os.Geteuid() == 0 {
		if err := Available(); err != nil {
			t.Errorf("got Available() = %v as root, want nil", err)
		}
		return
	}
	if err := Available(); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("got Available() = %v as non-root, want an error naming root", err)
	}
}

func TestAvailableMissingTool(t *testing.T) {
	err := Available("no-such-tool-dt")
	if err == nil {
		t.Fatal("got nil error for a missing tool, want one")
	}
	if os.Geteuid() == 0 && !strings.Contains(err.Error(), `"no-such-tool-dt"`) {
		t.Errorf("got %v, want an error naming the tool", err)
	}
}

func TestOwnerPid(t *testing.T) {
	tests := []struct {
		name    string
		wantPid int
		wantOK  bool
	}{
		{"dt-0123456789ab-42", 42, true},
		{"dt-0123456789ab-0", 0, false},
		{"dt-0123456789ab-042", 0, false},
		{"dt-0123456789ab-", 0, false},
		{"dt-79416913d76c", 0, false},
		{"dt-0123456789AB-42", 0, false},
		{"dt-0123456789a-42", 0, false},
		{"xx-0123456789ab-42", 0, false},
		{"dt-0123456789ab-42-1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, ok := ownerPid(tt.name)
			if pid != tt.wantPid || ok != tt.wantOK {
				t.Errorf("got %d, %v, want %d, %v", pid, ok, tt.wantPid, tt.wantOK)
			}
		})
	}
}
