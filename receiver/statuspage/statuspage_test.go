package statuspage

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestPageHTML(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	p := newPage(t, fixtureLog(t), Config{
		Title: "Home <lab>", Location: berlin, Refresh: 30 * time.Second,
		GrafanaURL: "http://127.0.0.1:3000/d/downtime-hosts", PrometheusURL: "http://127.0.0.1:9090/",
	})
	rec := get(t, p.Handler(nil), "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d, want 200: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<title>1 down · Home &lt;lab&gt;</title>`,
		`1 down now`,
		`nas.example.lan`, `1h15m`, `acknowledged by @alice`,
		`2026-11-24 11:45:00 CET`, // down since, in Berlin time
		`db1.example.lan`, `42m`,
		`note=&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`printer.example.lan`,
		`href="http://127.0.0.1:3000/d/downtime-hosts?var-target=nas.example.lan"`,
		`href="http://127.0.0.1:9090/graph?g0.expr=ping_up%7Btarget%3D%22nas.example.lan%22%7D&amp;g0.range_input=1d"`,
		`<td class="num" data-label="24h"><span class="bad">94.79%</span>`, // nas: 75m of 24h down
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "old.example.lan", "src=\"http", "@import", "url("} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("got CSP %q, want default-src 'none'", csp)
	}
}

func TestPageQuiet(t *testing.T) {
	p := newPage(t, incident.NewMemory(), Config{})
	body := get(t, p.Handler(nil), "/").Body.String()
	for _, want := range []string{"Everything is up", "No host is down.", "No downtime in the last 30d.", `content="60"`} {
		if !strings.Contains(body, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	p := newPage(t, fixtureLog(t), Config{})
	rec := get(t, p.Handler(nil), "/api/v1/status")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %q, want 200 JSON", rec.Code, rec.Header().Get("Content-Type"))
	}
	var s struct {
		Down []struct {
			Target          string  `json:"target"`
			State           string  `json:"state"`
			DurationSeconds float64 `json:"duration_seconds"`
			Start           string  `json:"start"`
			AcknowledgedBy  string  `json:"acknowledged_by"`
		} `json:"down"`
		Availability []incident.HostStats `json:"availability"`
		Windows      []string             `json:"windows"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Down) != 1 || s.Down[0].Target != "nas.example.lan" || s.Down[0].State != "open" ||
		s.Down[0].DurationSeconds != 4500 || s.Down[0].Start != "2026-11-24T10:45:00Z" || s.Down[0].AcknowledgedBy != "@alice" {
		t.Errorf("down: got %+v, want nas.example.lan open for 4500s since 10:45Z, acknowledged by @alice", s.Down)
	}
	if strings.Join(s.Windows, ",") != "24h,7d,30d" {
		t.Errorf("windows: got %v", s.Windows)
	}
	var targets []string
	for _, h := range s.Availability {
		targets = append(targets, h.Target)
	}
	if strings.Join(targets, ",") != "db1.example.lan,nas.example.lan,printer.example.lan" {
		t.Errorf("availability targets: got %v", targets)
	}
	if w := s.Availability[0].Windows[0]; w.DowntimeSeconds != 42*60 || w.Incidents != 1 {
		t.Errorf("db1 24h: got %+v, want 2520s down, 1 incident", w)
	}
	if rec := get(t, p.Handler(nil), "/api/v1/status?x=1"); rec.Code != http.StatusBadRequest {
		t.Errorf("status with a parameter: got %d, want 400", rec.Code)
	}
}

func TestIncidentsAPI(t *testing.T) {
	h := newPage(t, fixtureLog(t), Config{}).Handler(nil)
	for _, tc := range []struct {
		query   string
		targets string
	}{
		{"", "nas.example.lan,db1.example.lan,printer.example.lan,old.example.lan"},
		{"?state=open", "nas.example.lan"},
		{"?state=resolved&since=24h", "db1.example.lan"},
		{"?since=7d", "nas.example.lan,db1.example.lan,printer.example.lan"},
		{"?since=2026-11-24T00:00:00Z", "nas.example.lan,db1.example.lan"},
		{"?since=90d&until=2026-11-20T00:00:00Z", "printer.example.lan,old.example.lan"},
		{"?target=printer.example.lan", "printer.example.lan"},
		{"?route=family", "printer.example.lan"},
		{"?limit=2", "nas.example.lan,db1.example.lan"},
		{"?target=nope", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := get(t, h, "/api/v1/incidents"+tc.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("got %d: %s", rec.Code, rec.Body)
			}
			var body struct {
				Incidents []incident.Record `json:"incidents"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Incidents == nil {
				t.Errorf("got null incidents, want a list")
			}
			var got []string
			for _, r := range body.Incidents {
				got = append(got, r.Target)
			}
			if strings.Join(got, ",") != tc.targets {
				t.Errorf("got %v, want %s", got, tc.targets)
			}
		})
	}
}

func TestIncidentsCSV(t *testing.T) {
	h := newPage(t, fixtureLog(t), Config{}).Handler(nil)
	for _, path := range []string{"/api/v1/incidents.csv?since=7d", "/api/v1/incidents?since=7d&format=csv"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("%s: got %d %q, want 200 text/csv", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		rows, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(incident.CSVHeader, ",") ||
			rows[2][2] != "db1.example.lan" || rows[2][7] != "2520" {
			t.Errorf("%s: got %q, want header and 3 rows, db1 down 2520s", path, rows)
		}
	}
}

func TestBadFilters(t *testing.T) {
	h := newPage(t, fixtureLog(t), Config{}).Handler(nil)
	for _, tc := range []struct{ query, want string }{
		{"state=down", `invalid "state" parameter "down": must be "open" or "resolved"`},
		{"since=yesterday", `invalid "since" parameter "yesterday": want a duration before now ("24h", "7d") or an RFC 3339 time ("2026-11-01T00:00:00Z")`},
		{"since=0s", `invalid "since" parameter "0s": duration must be positive`},
		{"until=2026-13-01T00:00:00Z", `invalid "until" parameter`},
		{"since=1h&until=2h", `invalid "until" parameter "2h": must be after "since"`},
		{"limit=-1", `invalid "limit" parameter "-1": must be a positive integer`},
		{"format=xml", `invalid "format" parameter "xml": must be "json" or "csv"`},
		{"stat=open", `invalid "stat" parameter "open": unknown parameter`},
		{"state=open&state=resolved", `invalid "state" parameter "open,resolved": given more than once`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			for _, path := range []string{"/api/v1/incidents?", "/api/v1/incidents.csv?"} {
				rec := get(t, h, path+tc.query)
				var body struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("%s: body %q is not JSON: %v", path, rec.Body, err)
				}
				if rec.Code != http.StatusBadRequest || !strings.HasPrefix(body.Error, tc.want) {
					t.Errorf("%s: got %d %q, want 400 %q", path, rec.Code, body.Error, tc.want)
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	p := newPage(t, fixtureLog(t), Config{})
	wrapped := 0
	deny := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wrapped++
			if r.Header.Get("Authorization") == "" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	h := p.Handler(deny)
	for _, path := range []string{"/", "/api/v1/status", "/api/v1/incidents", "/api/v1/incidents.csv"} {
		if rec := get(t, h, path); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without auth: got %d, want 401 from the wrapper", path, rec.Code)
		}
	}
	if wrapped != 4 {
		t.Errorf("wrapper ran %d times, want 4", wrapped)
	}
	h = p.Handler(nil)
	if rec := get(t, h, "/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("/nope: got %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/status", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d, want 405", rec.Code)
	}
}

type failingLog struct{}

func (failingLog) List(context.Context, incident.Filter) ([]incident.Incident, error) {
	return nil, errors.New("store closed")
}

func TestLogError(t *testing.T) {
	h := newPage(t, failingLog{}, Config{}).Handler(nil)
	for _, path := range []string{"/", "/api/v1/status", "/api/v1/incidents"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "reading the incident log: store closed") {
			t.Errorf("%s: got %d %q, want 500 naming the error", path, rec.Code, rec.Body)
		}
	}
}

func TestNewRejectsBadLinks(t *testing.T) {
	for _, cfg := range []Config{{GrafanaURL: "javascript:alert(1)"}, {PrometheusURL: "127.0.0.1:9090"}} {
		if _, err := New(incident.NewMemory(), cfg, time.Now); err == nil {
			t.Errorf("%+v: got no error", cfg)
		}
	}
}

func TestPercent(t *testing.T) {
	for a, want := range map[float64]string{1: "100%", 0.99995: "99.99%", 0.29: "29.00%", 0: "0.00%", 0.5: "50.00%"} {
		if got := percent(a); got != want {
			t.Errorf("percent(%v): got %q, want %q", a, got, want)
		}
	}
}
