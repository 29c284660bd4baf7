package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/internal/fakes"
	"github.com/downtime-detector/downtime/internal/webtest"
)

// TestLimitScrapes: beyond maxInFlight concurrent scrapes the answer is
// 503 at once; a slot frees when a scrape ends.
func TestLimitScrapes(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	h := webLimits{maxInFlight: 2, scrapeTimeout: time.Minute}.limitScrapes(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered.Done()
		<-release
		fmt.Fprintln(w, "ok")
	}))
	codes := make(chan int, 2)
	entered.Add(2)
	for range 2 {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			codes <- rec.Code
		}()
	}
	entered.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := "too many concurrent scrapes (limit 2, --web.max-requests): try again later\n"; rec.Code != 503 || rec.Body.String() != want {
		t.Errorf("third scrape: got %d %q, want 503 %q", rec.Code, rec.Body.String(), want)
	}
	close(release)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("blocked scrape: got %d, want 200", c)
		}
	}
	entered.Add(1)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Errorf("scrape after the others ended: got %d, want 200", rec.Code)
	}
}

// dial opens a raw connection to the test app.
func dial(t *testing.T, a *testApp) net.Conn { return webtest.Dial(t, a.url) }

// TestSlowAndIdleClients: connections that send half a request header or
// sit idle after a request do not keep /-/ready and /metrics from
// answering, and the server closes them after its timeouts.
func TestSlowAndIdleClients(t *testing.T) {
	a := start(t, options{args: []string{"127.0.0.1"}, newEngine: fakes.NewEngine().New,
		webLimits: webLimits{readHeader: 300 * time.Millisecond, read: 300 * time.Millisecond, idle: 300 * time.Millisecond}})
	var slow, idle []net.Conn
	for range 100 {
		c := dial(t, a)
		if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	for range 100 {
		c := dial(t, a)
		if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request: got %v, %v, want 200", resp, err)
		}
		resp.Body.Close()
		idle = append(idle, c)
	}
	for _, path := range []string{"/-/ready", "/metrics"} {
		var body string
		if code, err := httpGetBody(a.url+path, &body); err != nil || code != 200 {
			t.Errorf("GET %s with 200 slow and idle connections open: got %d, %v, want 200", path, code, err)
		}
	}
	for name, conns := range map[string][]net.Conn{"half a header": slow, "idle keep-alive": idle} {
		open := 0
		for _, c := range conns {
			if !webtest.ClosedByServer(c, 10*time.Second) {
				open++
			}
		}
		if open > 0 {
			t.Errorf("%s: got %d of %d connections still open 10 s after a 300 ms timeout, want all closed by the server", name, open, len(conns))
		}
	}
}

// manyTargets writes a config with n targets in 127.1.0.0/16.
func manyTargets(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("targets:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - host: 127.1.%d.%d\n", i/250, i%250+1)
	}
	return tempConfig(t, b.String())
}

// TestStalledScrape: a scraper that stops reading a large scrape holds the
// only scrape slot until the scrape timeout, then the slot is free again.
func TestStalledScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 targets: skipped with -short")
	}
	a := start(t, options{configFile: manyTargets(t, 5000), newEngine: fakes.NewEngine().New,
		webLimits: webLimits{scrapeTimeout: 8 * time.Second, maxInFlight: 1}})
	c := dial(t, a)
	// A small receive window: the 8 MB scrape cannot fit in the buffers.
	if err := c.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Read the status line only: the rest stalls.
	line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
	if err != nil || !strings.Contains(line, "200") {
		t.Fatalf("stalled scrape: got %q, %v, want a 200 status line", line, err)
	}
	// 8 s: a whole 7.5 MB scrape takes up to 4 s under -race.
	deadline := time.Now().Add(60 * time.Second)
	var codes []int
	for {
		var body string
		code, err := httpGetBody(a.url+"/metrics", &body)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
		if code == 200 {
			if !strings.Contains(body, `ping_up{target="127.1.19.250"} 0`) {
				t.Errorf("scrape after the stalled one: got %d bytes without the last target, want it complete", len(body))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrapes while one stalls: got %v for 60 s, want a 200 once its 8 s scrape timeout passed", codes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if codes[0] != 503 {
		t.Errorf("first scrape while one stalls: got %d, want 503 (one slot, taken)", codes[0])
	}
}
