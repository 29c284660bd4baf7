package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func TestDefaultListenAddressIsLoopback(t *testing.T) {
	opts, err := parseFlags(nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := *opts.web.WebListenAddresses; len(got) != 1 || got[0] != "127.0.0.1:9427" {
		t.Errorf("got --web.listen-address %q, want [127.0.0.1:9427]", got)
	}
}

func TestWarnExposed(t *testing.T) {
	tests := []struct {
		name  string
		addrs []string
		auth  bool
		warn  []string // addresses warned about
	}{
		{"loopback v4", []string{"127.0.0.1:9427"}, false, nil},
		{"loopback v6", []string{"[::1]:9427"}, false, nil},
		{"localhost", []string{"localhost:9427"}, false, nil},
		{"all interfaces", []string{":9427"}, false, []string{":9427"}},
		{"0.0.0.0", []string{"0.0.0.0:9427"}, false, []string{"0.0.0.0:9427"}},
		{"[::]", []string{"[::]:9427"}, false, []string{"[::]:9427"}},
		{"host name", []string{"receiver.example.com:9427"}, false, []string{"receiver.example.com:9427"}},
		{"one of two", []string{"127.0.0.1:9427", ":9428"}, false, []string{":9428"}},
		{"with auth", []string{":9427"}, true, nil},
		{"none (systemd socket)", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnExposed(slog.New(slog.NewTextHandler(&buf, nil)), tt.addrs, tt.auth)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tt.warn) {
				t.Fatalf("got %d log lines, want %d:\n%s", len(lines), len(tt.warn), buf.String())
			}
			for i, addr := range tt.warn {
				if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], "without webhook_auth") ||
					!strings.Contains(lines[i], "address="+addr) {
					t.Errorf("got log line %q, want a warning about %s", lines[i], addr)
				}
			}
		})
	}
}

func TestServeWarnsWhenExposed(t *testing.T) {
	// The test listener is on 127.0.0.1: no warning. (Binding beyond
	// loopback in a test is not allowed; warnExposed is tested above.)
	s := telegramtest.NewServer(t, testToken)
	r := startReceiver(t, newOptions(t, writeConfig(t, "-100", ""), t.TempDir(), s.URL))
	if strings.Contains(r.logs.String(), "beyond loopback") {
		t.Errorf("got a warning for a loopback listener:\n%s", r.logs.String())
	}
}
