package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// testToken must never show up in logs, errors or metrics.
const testToken = "424242:SECRET-token-Zq9"

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// receiver is one in-process downtime_receiver serving on 127.0.0.1:0.
type receiver struct {
	url  string
	dir  string
	logs *syncBuffer
	out  *syncBuffer
	stop func() error
}

// writeConfig writes a config file with the fake's token and chat, plus extra YAML.
func writeConfig(t *testing.T, chat, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "receiver.yml")
	rewriteConfig(t, path, chat, extra)
	return path
}

// rewriteConfig replaces the config file at path (for reload tests).
func rewriteConfig(t *testing.T, path, chat, extra string) {
	t.Helper()
	body := fmt.Sprintf("telegram:\n  bot_token: %q\n  chat_id: %q\ntimezone: UTC\n%s", testToken, chat, extra)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newOptions(t *testing.T, configFile, dir, apiURL string) *options {
	t.Helper()
	empty, sock := "", false
	return &options{command: "serve", configFile: configFile, storagePath: dir, apiURL: apiURL,
		web: &web.FlagConfig{WebListenAddresses: &[]string{}, WebSystemdSocket: &sock, WebConfigFile: &empty}}
}

// startReceiver runs serve until the test ends (or stop is called).
func startReceiver(t *testing.T, opts *options) *receiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{url: "http://" + l.Addr().String(), dir: opts.storagePath, logs: &syncBuffer{}, out: &syncBuffer{}}
	opts.listener = l
	opts.logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.stdout = r.out
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, opts) }()
	r.stop = sync.OnceValue(func() error { cancel(); return <-errc })
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
		checkNoSecret(t, "logs", r.logs.String())
		checkNoSecret(t, "stdout", r.out.String())
	})
	waitReady(t, r.url)
	return r
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receiver at %s not ready after 10s", url)
}

func checkNoSecret(t *testing.T, where, s string) {
	t.Helper()
	if strings.Contains(s, testToken) || strings.Contains(s, "SECRET-token") {
		t.Errorf("%s contain the bot token", where)
	}
}

func hostAlert(status, host string, start time.Time) template.Alert {
	a := template.Alert{Status: status, Fingerprint: "fp-" + host, StartsAt: start,
		Labels:      template.KV{"alertname": "HostDown", "instance": host, "severity": "page"},
		Annotations: template.KV{"summary": host + " does not answer ping"}}
	if status == "resolved" {
		a.EndsAt = start.Add(42 * time.Minute)
	}
	return a
}

func body(status string, alerts ...template.Alert) string {
	b, err := json.Marshal(map[string]any{"version": "4", "groupKey": "{}:{}", "receiver": "telegram",
		"status": status, "alerts": alerts, "groupLabels": map[string]string{},
		"commonLabels": map[string]string{}, "commonAnnotations": map[string]string{}, "externalURL": "http://127.0.0.1:9093"})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func post(t *testing.T, url, payload string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustPost(t *testing.T, url, payload string) {
	t.Helper()
	if code, b := post(t, url, payload); code != 200 {
		t.Fatalf("POST %s: got %d %s, want 200", url, code, b)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of one series line of /metrics ("" when absent).
func metric(t *testing.T, url, series string) string {
	t.Helper()
	for _, line := range strings.Split(get(t, url+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// settle waits until the queue is empty: every job the webhooks queued (the
// answers came after the commit) was sent or dead-lettered, so no further
// (wrong) message can arrive. It polls an outcome; it times nothing.
func settle(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, url, "downtime_receiver_queue_depth") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = telegramtest.BotUsername
