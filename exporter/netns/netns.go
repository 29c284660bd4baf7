// Package netns builds throw-away Linux network namespaces for tests.
//
// Tests of the exporter send real ICMP. The team's network rule allows traffic
// only to loopback or to addresses inside namespaces the test itself created,
// so every test that pings builds its own little network here: namespaces
// (New), veth links between them addressed from 198.18.0.0/15 (Connect),
// outages (Link.Down), random loss (SetLoss) and slow hosts (EchoResponder).
// Everything is removed by t.Cleanup, also when the test fails.
//
// All of it needs root, iproute2 and (for SetLoss) nft. Call Require first: it
// skips the test with the reason when they are missing, and fails it instead
// when the environment variable CI is "true", so CI never silently skips.
//
// A typical exporter test:
//
//	func TestHostDown(t *testing.T) {
//		netns.Require(t, "nft")
//		mon, host := netns.New(t), netns.New(t)
//		link := netns.Connect(t, mon, host)
//		host.EchoResponder(t, 20*time.Millisecond) // optional: fixed RTT
//		host.SetLoss(t, 30)                         // optional: 30 % loss
//		// Sockets opened inside Do stay in mon: ping link.AddrB with them.
//		var eng prober.Engine
//		err := mon.Do(func() (err error) { eng, err = prober.New(opts); return err })
//		...
//		link.Down(t) // the host disappears; link.Up(t) brings it back
//	}
//
// Names start with "dt-" and carry the test process's pid, so namespaces
// left by a killed test binary are removed by the next New.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// namePrefix starts every namespace this package creates, so leftovers are
// easy to spot (`ip netns list | grep dt-`).
const namePrefix = "dt-"

// netnsDir is where iproute2 bind-mounts named namespaces.
const netnsDir = "/var/run/netns"

// Available reports why namespace tests cannot run here, or nil if they can:
// the process must be root, `ip` and the given tools must be in PATH and
// `ip netns add` must work (it does not in an unprivileged container).
func Available(tools ...string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("network namespace tests need root (euid is %d)", os.Geteuid())
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("network namespace tests need %q in PATH: %w", tool, err)
		}
	}
	name := uniqueName()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("`ip netns add` not permitted: %s: %w", strings.TrimSpace(string(out)), err)
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("`ip netns del %s` failed: %s: %w", name, strings.TrimSpace(string(out)), err)
	}
	return nil
}

// Require skips the test unless Available(tools...) is nil. Under CI=true it
// fails the test instead: CI machines are set up to run these tests.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	err := Available(tools...)
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but namespace tests cannot run: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

// NS is a named network namespace created by New.
type NS struct {
	Name string

	mu      sync.Mutex
	subnets map[[4]byte]bool // network addresses of the /30s on links of n
	nft     bool             // SetLoss ran: cleanup flushes the ruleset
	echo    bool             // an EchoResponder is running
	cmds    []*exec.Cmd      // made by Command: killed on cleanup
}

// New creates a namespace with a unique name "dt-<random hex>-<pid>" and lo
// up. t.Cleanup kills every process still inside it, removes nft tables and
// deletes it.
//
// A test binary killed before its cleanups ran (a -timeout panic, SIGKILL)
// leaves its namespaces behind; the pid in the name lets New remove those of
// dead processes, while namespaces of concurrently running tests stay.
func New(t testing.TB) *NS {
	t.Helper()
	removeStale(t)
	n := &NS{Name: uniqueName(), subnets: map[[4]byte]bool{}}
	if err := run("ip", "netns", "add", n.Name); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := n.destroy(); err != nil {
			t.Errorf("remove namespace %s: %v", n.Name, err)
		}
	})
	if err := run("ip", "-n", n.Name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("namespace %s: %v", n.Name, err)
	}
	return n
}

// uniqueName returns "dt-<random hex>-<pid>": random so that parallel test
// processes never collide, the pid so that removeStale knows the owner.
func uniqueName() string {
	return fmt.Sprintf("%s%s-%d", namePrefix, randHex(6), os.Getpid())
}

// removeStale deletes namespaces named by uniqueName whose process is gone.
func removeStale(t testing.TB) {
	t.Helper()
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return // no namespaces yet
	}
	self := os.Getpid()
	for _, e := range entries {
		name := e.Name()
		pid, ok := ownerPid(name)
		if !ok || pid == self || processAlive(pid) {
			continue
		}
		stale := &NS{Name: name, nft: true}
		if err := stale.destroy(); err != nil {
			t.Logf("remove stale namespace %s: %v", name, err)
		} else {
			t.Logf("removed stale namespace %s left by dead process %d", name, pid)
		}
	}
}

// ownerPid returns the pid in a name made by uniqueName. Any other name,
// including other tools' "dt-..." names, is not ours to remove.
func ownerPid(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	rnd, pidText, ok := strings.Cut(rest, "-")
	if !ok || len(rnd) != 12 || strings.Trim(rnd, "0123456789abcdef") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != pidText {
		return 0, false
	}
	return pid, true
}

// processAlive reports whether pid exists (EPERM means it does).
func processAlive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// destroy kills the processes left in n, drops its nft ruleset and deletes
// it. It keeps going after errors so that the namespace goes away whenever
// possible.
func (n *NS) destroy() error {
	var errs []error
	n.killCommands()
	if err := n.killAll(); err != nil {
		errs = append(errs, err)
	}
	// The ruleset dies with the namespace anyway; flushing first means
	// nothing keeps filtering if a socket keeps the namespace alive.
	// Skipped when SetLoss never ran: an exec of nft per namespace adds up
	// in tests with hundreds of them.
	n.mu.Lock()
	nft := n.nft
	n.mu.Unlock()
	if nft {
		if err := run("ip", "netns", "exec", n.Name, "nft", "flush", "ruleset"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := run("ip", "netns", "del", n.Name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killAll SIGKILLs every process in n and waits up to 5 s for them to go.
func (n *NS) killAll() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "pids", n.Name).Output()
		if err != nil {
			return fmt.Errorf("ip netns pids %s: %w", n.Name, err)
		}
		var pids []int
		for _, f := range strings.Fields(string(out)) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 1 {
				continue
			}
			if pid == os.Getpid() {
				// Only possible if Do failed to bring the main thread back.
				return fmt.Errorf("this test process is itself inside namespace %s", n.Name)
			}
			pids = append(pids, pid)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still in namespace %s after SIGKILL", pids, n.Name)
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL) // already gone is fine
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do runs fn on a locked OS thread that has entered n. Sockets created by fn
// belong to n for their whole life, and can be used from any goroutine after
// Do returns. Goroutines started by fn do NOT run inside n.
//
// fn runs on its own goroutine. If switching the thread back fails, that
// thread is left locked so the runtime throws it away instead of reusing it
// in the wrong namespace.
//
// A panic in fn is re-raised in the caller's goroutine, so that it fails the
// calling test like any other panic.
func (n *NS) Do(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			// Only a thread known to be back home returns to the pool;
			// otherwise it stays locked and dies with this goroutine.
			if restored {
				runtime.UnlockOSThread()
			}
			if v := recover(); v != nil {
				done <- result{panicked: true, value: v}
			}
		}()
		err := n.doLocked(fn, &restored)
		done <- result{err: err}
	}()
	r := <-done
	if r.panicked {
		panic(fmt.Sprintf("netns %s: panic in Do: %v", n.Name, r.value))
	}
	return r.err
}

// doLocked switches the current (locked) thread into n, runs fn and switches
// back, also when fn panics. It sets *restored when the thread is in its
// original namespace at the end.
func (n *NS) doLocked(fn func() error, restored *bool) (err error) {
	*restored = true
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open current network namespace: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(filepath.Join(netnsDir, n.Name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", n.Name, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter namespace %s: %w", n.Name, err)
	}
	*restored = false
	defer func() {
		if leaveErr := unix.Setns(orig, unix.CLONE_NEWNET); leaveErr != nil {
			err = errors.Join(err, fmt.Errorf("leave namespace %s: %w", n.Name, leaveErr))
			return
		}
		*restored = true
	}()
	return fn()
}

// Command returns `ip netns exec <n> name args...`. Processes it starts are
// killed at the latest when n is cleaned up.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	n.mu.Lock()
	n.cmds = append(n.cmds, cmd)
	n.mu.Unlock()
	return cmd
}

// killCommands SIGKILLs the processes started from Command. `ip netns pids`
// misses one started just before cleanup that has not entered n yet; it
// would enter the deleted namespace a moment later and live on there.
func (n *NS) killCommands() {
	n.mu.Lock()
	cmds := n.cmds
	n.cmds = nil
	n.mu.Unlock()
	for _, cmd := range cmds {
		if cmd.Process != nil {
			_ = cmd.Process.Kill() // os.Process knows when it was reaped: no pid reuse risk
		}
	}
}

// Sysctl sets a sysctl such as "net.ipv4.icmp_echo_ignore_all" inside n.
// Only per-namespace (net.*) keys make sense; others would change the host.
func (n *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	if !strings.HasPrefix(key, "net.") {
		t.Fatalf("sysctl %q: only net.* keys are per namespace", key)
	}
	if err := n.writeSysctl(key, value); err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v", key, value, n.Name, err)
	}
}

// writeSysctl writes a net.* sysctl inside n.
func (n *NS) writeSysctl(key, value string) error {
	return n.Do(func() error {
		return os.WriteFile(sysctlPath(key), []byte(value+"\n"), 0o644)
	})
}

// sysctlPath is the file of a sysctl key. Under /proc/sys/net it resolves
// to the network namespace of the thread that opens it.
func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

// Listen is net.Listen inside n, e.g. n.Listen("tcp", "198.18.0.1:0").
func (n *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// HTTPClient returns a client whose connections are dialed from inside n.
// It uses no proxy and no keep-alives, so no connection outlives a request.
func (n *NS) HTTPClient() *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := n.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
		Timeout:   30 * time.Second,
	}
}

// run runs a command and returns its output in the error when it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %s: %w", name, strings.Join(args, " "), strings.TrimSpace(string(out)), err)
	}
	return nil
}

// randHex returns 2*n random hex digits.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}
