package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// statusJSON is what the tests read of /api/v1/status.
type statusJSON struct {
	Down         []incident.Record `json:"down"`
	Availability []struct {
		Target  string `json:"target"`
		Windows []struct {
			Window          string  `json:"window"`
			DowntimeSeconds float64 `json:"downtime_seconds"`
			Incidents       int     `json:"incidents"`
		} `json:"windows"`
	} `json:"availability"`
	Links map[string]string `json:"links"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: got %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestStatusFromWebhooks feeds real webhooks and reads what the page and
// the API say: the host down now with its real start, the resolved one
// with its duration, availability from the log, CSV, escaping.
func TestStatusFromWebhooks(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(t0)
	opts := newOptions(t, writeConfig(t, "-100",
		"status_page:\n  title: Home lab\n  prometheus_url: http://127.0.0.1:9090\n"), t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)

	nas := hostAlert("firing", "nas", t0.Add(-15*time.Minute))
	nas.Annotations["downtime_for"] = "5m" // the real start is 20m ago
	db := hostAlert("firing", "db", t0.Add(-2*time.Hour))
	mustPost(t, r.url+"/webhook", body("firing", nas, db))
	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "db", t0.Add(-2*time.Hour))))
	evil := hostAlert("firing", "<script>alert(1)</script>", t0.Add(-time.Minute))
	mustPost(t, r.url+"/webhook", body("firing", evil))
	settle(t, r.url)

	var st statusJSON
	getJSON(t, r.url+"/api/v1/status", &st)
	if len(st.Down) != 2 {
		t.Fatalf("down: got %d hosts %+v, want nas and the hostile one", len(st.Down), st.Down)
	}
	var nasRec incident.Record
	for _, d := range st.Down {
		if d.Target == "nas" {
			nasRec = d
		}
	}
	if nasRec.DurationSeconds != (20*time.Minute).Seconds() || !nasRec.Start.Equal(t0.Add(-20*time.Minute)) || nasRec.Route != "" {
		t.Errorf("nas: got start %v duration %vs, want %v and 1200s", nasRec.Start, nasRec.DurationSeconds, t0.Add(-20*time.Minute))
	}
	if len(nasRec.Messages) != 1 || nasRec.Messages[0].ChatID != -100 || nasRec.Messages[0].MessageID == 0 {
		t.Errorf("nas: got messages %+v, want its firing message in chat -100", nasRec.Messages)
	}
	found := false
	for _, h := range st.Availability {
		if h.Target == "db" {
			found = true
			if w := h.Windows[0]; w.Window != "24h" || w.DowntimeSeconds != (42*time.Minute).Seconds() || w.Incidents != 1 {
				t.Errorf("db availability over %s: got %+v, want 42m of downtime in 1 incident", w.Window, w)
			}
		}
	}
	if !found || st.Links["prometheus"] != "http://127.0.0.1:9090" {
		t.Errorf("availability %+v, links %v: want db listed and the Prometheus link", st.Availability, st.Links)
	}

	var list struct{ Incidents []incident.Record }
	getJSON(t, r.url+"/api/v1/incidents?state=resolved", &list)
	if len(list.Incidents) != 1 || list.Incidents[0].Target != "db" || list.Incidents[0].Duration != "42m" {
		t.Errorf("resolved incidents: got %+v, want db for 42m", list.Incidents)
	}
	csv := get(t, r.url+"/api/v1/incidents.csv?target=db")
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "id,route,target") ||
		!strings.Contains(lines[1], ",db,HostDown,resolved,") {
		t.Errorf("CSV: got %q, want the header and db's line", csv)
	}
	if code, b := getStatus(t, r.url+"/api/v1/incidents?since=yesterday", nil); code != 400 || !strings.Contains(b, `\"since\" parameter`) {
		t.Errorf("bad since: got %d %s, want 400 naming the parameter", code, b)
	}
	page := get(t, r.url+"/")
	for _, want := range []string{"Home lab", "nas", "db", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Errorf("page renders a hostile label as HTML")
	}
}

func getStatus(t *testing.T, url string, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStatusPageAuth: with webhook_auth the page and the API want its
// credentials, as the dead-letters API does.
func TestStatusPageAuth(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	opts := newOptions(t, writeConfig(t, "-100", "webhook_auth:\n  basic_auth:\n    username: am\n    password: hunter2\n"), t.TempDir(), tg.URL)
	r := startReceiver(t, opts)
	for _, path := range []string{"/", "/api/v1/status", "/api/v1/incidents", "/api/v1/incidents.csv"} {
		code, _ := getStatus(t, r.url+path, nil)
		if code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: got %d, want 401", path, code)
		}
		req, _ := http.NewRequest(http.MethodGet, r.url+path, nil)
		req.SetBasicAuth("am", "hunter2")
		if code, b := getStatus(t, r.url+path, req.Header); code != 200 {
			t.Errorf("GET %s with credentials: got %d %s, want 200", path, code, b)
		}
	}
}

// TestReadAuth: without webhook_auth and --web.config.file only loopback
// clients read the page; with either, the rules above apply.
func TestReadAuth(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	none := func() config.WebhookAuth { return config.WebhookAuth{} }
	for _, tc := range []struct {
		name      string
		remote    string
		webConfig bool
		want      int
	}{
		{"loopback", "127.0.0.1:40000", false, 200},
		{"loopback v6", "[::1]:40000", false, 200},
		{"beyond loopback", "198.18.0.2:40000", false, 403},
		{"beyond loopback with web config", "198.18.0.2:40000", true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			rec := httptest.NewRecorder()
			readAuth(none, tc.webConfig)(ok).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("got %d, want %d", rec.Code, tc.want)
			}
		})
	}
}

// TestIncidentRetentionDefault: the config default is the log's default.
func TestIncidentRetentionDefault(t *testing.T) {
	if config.DefaultRetention != incident.DefaultRetention {
		t.Errorf("config.DefaultRetention %v, incident.DefaultRetention %v: want them equal", config.DefaultRetention, incident.DefaultRetention)
	}
}

// TestStatusPageReloadAndLateResolve: a reload changes the page for the
// next request; a resolved notification for an outage the log never saw
// open is recorded whole.
func TestStatusPageReloadAndLateResolve(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(t0)
	cfg := writeConfig(t, "-100", "status_page:\n  title: Before\n")
	opts := newOptions(t, cfg, t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)
	if page := get(t, r.url+"/"); !strings.Contains(page, "Before") {
		t.Fatalf("page: lacks the title %q", "Before")
	}
	rewriteConfig(t, cfg, "-100", "status_page:\n  title: After\n")
	if code, b := post(t, r.url+"/-/reload", ""); code != 200 {
		t.Fatalf("reload: got %d %s", code, b)
	}
	if page := get(t, r.url+"/"); !strings.Contains(page, "After") || strings.Contains(page, "Before") {
		t.Errorf("page after reload: want the title %q only", "After")
	}

	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "printer", t0.Add(-time.Hour))))
	var list struct{ Incidents []incident.Record }
	getJSON(t, r.url+"/api/v1/incidents?target=printer", &list)
	if len(list.Incidents) != 1 || list.Incidents[0].Open() || list.Incidents[0].Duration != "42m" {
		t.Errorf("late resolved: got %+v, want one resolved incident of 42m", list.Incidents)
	}
}
