package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/downtime-detector/downtime/exporter/config"
)

// testApp is run() serving on a real listener on 127.0.0.1:0.
type testApp struct {
	url    string
	reload chan struct{}
}

// start runs the exporter with o until the test ends; o.listeners, o.web,
// o.reload and o.logger are filled in. It waits for /-/ready.
func start(t *testing.T, o options) *testApp {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: "http://" + l.Addr().String(), reload: make(chan struct{})}
	o.listeners = []net.Listener{l}
	o.web = &web.FlagConfig{WebListenAddresses: &[]string{}, WebSystemdSocket: new(bool), WebConfigFile: new(string)}
	o.reload = a.reload
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.defaults == (config.Defaults{}) {
		o.defaults = config.DefaultDefaults
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("run: got error %v, want none", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run: still running 10 s after cancel, want it stopped")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(a.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("exporter not ready after 10 s")
	return nil
}

// scrape returns the text exposition of /metrics.
func (a *testApp) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: got status %d, error %v, want 200", resp.StatusCode, err)
	}
	return string(b)
}

// post sends POST path and returns the status code and body.
func (a *testApp) post(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Post(a.url+path, "", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// value returns the value of series (name{labels...} exactly as exposed,
// labels sorted) in a scrape, and whether it is there.
func value(body, series string) (float64, bool) {
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// mustValue is value that fails the test when the series is missing.
func mustValue(t *testing.T, body, series string) float64 {
	t.Helper()
	v, ok := value(body, series)
	if !ok {
		t.Fatalf("got no series %s, want one", series)
	}
	return v
}

// waitFor scrapes until cond holds or timeout passes, and returns the last
// scrape and whether cond held.
func (a *testApp) waitFor(t *testing.T, timeout time.Duration, cond func(body string) bool) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		body := a.scrape(t)
		if cond(body) {
			return body, true
		}
		if time.Now().After(deadline) {
			return body, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// is returns a condition: series has value want.
func is(series string, want float64) func(string) bool {
	return func(body string) bool {
		v, ok := value(body, series)
		return ok && v == want
	}
}

// writeConfig writes a config file into dir and returns its path.
func writeConfig(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func tempConfig(t *testing.T, text string) string {
	t.Helper()
	return writeConfig(t, filepath.Join(t.TempDir(), "downtime.yml"), text)
}

func defaultsForTest() config.Defaults { return config.DefaultDefaults }

// httpGetBody GETs url into *body and returns the status code.
func httpGetBody(url string, body *string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	*body = string(b)
	return resp.StatusCode, err
}
