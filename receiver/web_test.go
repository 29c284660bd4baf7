package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/webtest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func dialReceiver(t *testing.T, r *receiver) net.Conn { return webtest.Dial(t, r.url) }

// slowWebhook starts a webhook request whose body never finishes.
func slowWebhook(t *testing.T, r *receiver) net.Conn {
	t.Helper()
	c := dialReceiver(t, r)
	if _, err := io.WriteString(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100000\r\n\r\n{\"version\": \"4\", "); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowAndIdleClients: slow bodies, half headers and idle keep-alives
// against the real server do not keep the webhook and /-/ready from
// answering, and the server closes them after its timeouts.
func TestSlowAndIdleClients(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	opts := newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL)
	opts.webLimits = webLimits{readHeader: 300 * time.Millisecond, read: 300 * time.Millisecond, idle: 300 * time.Millisecond}
	r := startReceiver(t, opts)
	conns := map[string][]net.Conn{}
	for range 100 {
		conns["slow body"] = append(conns["slow body"], slowWebhook(t, r))
		c := dialReceiver(t, r)
		if _, err := io.WriteString(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns["half a header"] = append(conns["half a header"], c)
		c = dialReceiver(t, r)
		if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request: got %v, %v, want 200", resp, err)
		}
		resp.Body.Close()
		conns["idle keep-alive"] = append(conns["idle keep-alive"], c)
	}
	// The slow bodies hold up to --web.max-requests slots until the read
	// timeout cuts them off: until then the webhook may be answered 503
	// (Alertmanager retries), never left hanging.
	payload := body("firing", hostAlert("firing", "app1", time.Now()))
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, resp := post(t, r.url+"/webhook", payload)
		if code == 200 {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("webhook with 300 slow and idle connections open: got %d %s, want 200 (503 while the slow bodies hold the slots)", code, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, err := http.Get(r.url + "/-/ready"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/-/ready with 300 slow and idle connections open: got %v, %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	for name, cs := range conns {
		open := 0
		for _, c := range cs {
			if !webtest.ClosedByServer(c, 10*time.Second) {
				open++
			}
		}
		if open > 0 {
			t.Errorf("%s: got %d of %d connections still open 10 s after a 300 ms timeout, want all closed by the server", name, open, len(cs))
		}
	}
	tg.WaitMessages(t, 1, 5*time.Second)
}

// TestMaxRequests: beyond --web.max-requests in flight the webhook is
// answered 503 with Retry-After; /-/ready and /metrics still answer; once
// the slow requests go, the webhook is served again.
func TestMaxRequests(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	opts := newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL)
	opts.webLimits = webLimits{maxInFlight: 2}
	r := startReceiver(t, opts)
	held := []net.Conn{slowWebhook(t, r), slowWebhook(t, r)}
	waitMetric(t, r.url, "downtime_receiver_http_requests_in_flight", "2")
	payload := body("firing", hostAlert("firing", "app1", time.Now()))
	req, _ := http.NewRequest(http.MethodPost, r.url+"/webhook", strings.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "--web.max-requests") {
		t.Errorf("webhook beyond the limit: got %d Retry-After %q %q, want 503 with Retry-After naming --web.max-requests",
			resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if resp, err := http.Get(r.url + "/-/ready"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/-/ready at the limit: got %v, %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	if got := metric(t, r.url, "downtime_receiver_http_requests_refused_total"); got != "1" {
		t.Errorf("refused requests: got %q, want 1", got)
	}
	for _, c := range held {
		c.Close()
	}
	waitMetric(t, r.url, "downtime_receiver_http_requests_in_flight", "0")
	mustPost(t, r.url+"/webhook", payload)
	tg.WaitMessages(t, 1, 5*time.Second)
}

// waitMetric polls /metrics until series has value want (an outcome, not a time).
func waitMetric(t *testing.T, url, series, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, url, series) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q after 10s, want %s", series, metric(t, url, series), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebLimitFlags(t *testing.T) {
	opts, err := parseFlags([]string{"--web.read-timeout=5s", "--web.idle-timeout=1m", "--web.max-requests=3"}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := opts.webLimits.withDefaults()
	want := webLimits{readHeader: 5 * time.Second, read: 5 * time.Second, write: defaultWebLimits.write, idle: time.Minute, maxInFlight: 3}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	opts, err = parseFlags(nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.webLimits.withDefaults(); got != defaultWebLimits {
		t.Errorf("defaults: got %+v, want %+v", got, defaultWebLimits)
	}
}
