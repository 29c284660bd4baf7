package reload

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReloader(t *testing.T) {
	reg := prometheus.NewRegistry()
	var fail error
	calls := 0
	now := time.Unix(1700000000, 0)
	r := New("x", reg, slog.New(slog.DiscardHandler), func() time.Time { return now }, func() error { calls++; return fail })
	if got := testutil.ToFloat64(r.ok); got != 1 {
		t.Errorf("gauge at start: got %v, want 1 (the start's load counts)", got)
	}
	if n, err := testutil.GatherAndCount(reg, "x_config_last_reload_successful", "x_config_last_reload_success_timestamp_seconds"); err != nil || n != 2 {
		t.Errorf("registered series: got %d, %v, want 2", n, err)
	}
	if got := testutil.ToFloat64(r.ts); got != 1700000000 {
		t.Errorf("timestamp at start: got %v, want 1700000000", got)
	}
	for _, tc := range []struct {
		method string
		fail   error
		code   int
		body   string
		gauge  float64
	}{
		{http.MethodGet, nil, 405, "reload needs POST", 1},
		{http.MethodPost, errors.New(`line 3: "interval" must be positive`), 500, `failed to reload config: line 3: "interval"`, 0},
		{http.MethodPost, nil, 200, "config reloaded", 1},
	} {
		fail = tc.fail
		now = now.Add(time.Second)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(tc.method, "/-/reload", nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s with error %v: got %d %q, want %d %q", tc.method, tc.fail, rec.Code, rec.Body, tc.code, tc.body)
		}
		if got := testutil.ToFloat64(r.ok); got != tc.gauge {
			t.Errorf("%s with error %v: gauge got %v, want %v", tc.method, tc.fail, got, tc.gauge)
		}
	}
	if got := testutil.ToFloat64(r.ts); got != 1700000003 {
		t.Errorf("timestamp after the last, successful reload: got %v, want 1700000003 (failed ones do not move it)", got)
	}
	if calls != 2 {
		t.Errorf("load calls: got %d, want 2 (GET loads nothing)", calls)
	}
}

func TestCoalesce(t *testing.T) {
	ch := make(chan struct{}, 1)
	for range 3 {
		Coalesce(ch)
	}
	<-ch
	select {
	case <-ch:
		t.Error("three requests while one was pending: got two reloads, want one")
	default:
	}
}

func TestHealth(t *testing.T) {
	var h Health
	mux := http.NewServeMux()
	h.Register(mux, nil)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/-/healthy"); code != 200 || body != "Healthy\n" {
		t.Errorf("healthy: got %d %q, want 200 Healthy", code, body)
	}
	if code, _ := get("/-/ready"); code != 503 {
		t.Errorf("ready before SetReady: got %d, want 503", code)
	}
	h.SetReady(true)
	if code, body := get("/-/ready"); code != 200 || body != "Ready\n" {
		t.Errorf("ready: got %d %q, want 200 Ready", code, body)
	}
	if code, _ := get("/-/reload"); code != 404 {
		t.Errorf("/-/reload without a Reloader: got %d, want 404", code)
	}
}
