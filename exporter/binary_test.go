package main

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
)

// buildBinary builds downtime_exporter into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "downtime_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinary runs the real binary: --version, --config.check, then serving,
// SIGHUP reload and SIGTERM shutdown with exit status 0.
func TestBinary(t *testing.T) {
	netns.Require(t) // raw ICMP sockets need root
	bin := buildBinary(t)

	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "downtime_exporter") {
		t.Errorf("--version: got %v %q, want exit 0 and the program name", err, out)
	}
	bad := tempConfig(t, "targets:\n  - host: 127.0.0.1\n    timeout: 2s\n")
	out, err = exec.Command(bin, "--config.check", "--config.file="+bad).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), `line 3: \"timeout\" (2s) must not exceed \"interval\" (1s)`) {
		t.Errorf("--config.check of a bad file: got %v %q, want exit 1 and the error", err, out)
	}

	cfg := tempConfig(t, "targets:\n  - host: 127.0.0.1\n")
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr, "--ping.interval=200ms", "--ping.timeout=200ms")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	a := &testApp{url: "http://" + addr}
	if body, ok := waitScrape(t, a, is(`ping_up{target="127.0.0.1"}`, 1)); !ok {
		t.Fatalf("ping_up: got %q, want 1\nlog:\n%s", body, stderr.String())
	}

	writeConfig(t, cfg, "targets:\n  - host: 127.0.0.1\n  - host: 127.0.0.2\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if body, ok := waitScrape(t, a, is(`ping_up{target="127.0.0.2"}`, 1)); !ok {
		t.Errorf("after SIGHUP: got %q, want 127.0.0.2 up", body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("after SIGTERM: got %v, want exit status 0\nlog:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("after SIGTERM: still running after 10 s, want it stopped")
	}
}

// waitScrape is testApp.waitFor that tolerates a server not yet listening.
func waitScrape(t *testing.T, a *testApp, cond func(string) bool) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	body := ""
	for time.Now().Before(deadline) {
		if code, err := httpGetBody(a.url+"/metrics", &body); err == nil && code == 200 && cond(body) {
			return body, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return body, false
}

// freePort returns a 127.0.0.1 address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
