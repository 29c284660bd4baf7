package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

type testRouter struct{}

func (testRouter) Route(path, _ string, _ map[string]string) (config.Route, error) {
	switch path {
	case "":
		return config.Route{Name: "default", ChatID: "-1", Reminders: reminders}, nil
	case "ops":
		silent := reminders
		silent.Silent = true
		return config.Route{Name: "ops", ChatID: "-2", Reminders: silent}, nil
	}
	return config.Route{}, fmt.Errorf("route %q: %w", path, config.ErrUnknownRoute)
}

type testRenderer struct{}

func (testRenderer) Render(d render.Data) ([]render.Message, error) {
	var fps []string
	for _, a := range d.Alerts {
		fps = append(fps, a.Fingerprint)
	}
	return []render.Message{{Text: fmt.Sprintf("%s%d %s", d.Kind, d.Reminder, strings.Join(fps, ","))}}, nil
}

type env struct {
	h   *Handler
	st  store.Store
	reg *prometheus.Registry
	now time.Time
}

func newEnv(t *testing.T, auth config.WebhookAuth) *env {
	t.Helper()
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, reg: prometheus.NewRegistry(), now: t0}
	e.h = New(Options{Store: st, Router: testRouter{}, Renderer: testRenderer{}, Auth: func() config.WebhookAuth { return auth },
		Registerer: e.reg, Now: func() time.Time { return e.now }})
	return e
}

func payload(status string, alerts ...template.Alert) string {
	b, _ := json.Marshal(Message{Version: "4", GroupKey: "g",
		Data: &template.Data{Receiver: "tg", Status: status, Alerts: alerts}})
	return string(b)
}

func (e *env) post(t *testing.T, path, body string, hdr ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (e *env) texts(t *testing.T) []string {
	t.Helper()
	jobs, err := e.st.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.ChatID+":"+j.Text)
	}
	return out
}

func checkTexts(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("queued: got %q, want %q", got, want)
	}
}

func TestHandlerLifecycle(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	a, b := alert("firing", "a"), alert("firing", "b")
	if code, body := e.post(t, "/webhook", payload("firing", a, b)); code != 200 {
		t.Fatalf("firing: got %d %s, want 200", code, body)
	}
	// Alertmanager retry and the HA peer: same alerts, nothing new.
	e.post(t, "/webhook", payload("firing", a, b))
	e.now = t0.Add(12 * time.Minute)
	e.post(t, "/webhook", payload("firing", a, b))
	e.post(t, "/webhook", payload("firing", a, b))
	a.Status, a.EndsAt = "resolved", t0.Add(20*time.Minute)
	e.now = t0.Add(21 * time.Minute)
	e.post(t, "/webhook", payload("firing", a, b))
	e.post(t, "/webhook", payload("firing", a, b))
	checkTexts(t, e.texts(t), "-1:firing0 a,b", "-1:reminder1 a,b", "-1:resolved0 a", "-1:resolved_edit0 a")
}

func TestHandlerRoutesSeparately(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	a := alert("firing", "a")
	e.post(t, "/webhook", payload("firing", a))
	e.post(t, "/webhook/ops", payload("firing", a))
	checkTexts(t, e.texts(t), "-1:firing0 a", "-2:firing0 a")
}

func TestHandlerBadInput(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	good := alert("firing", "a")
	noFP := good
	noFP.Fingerprint = ""
	noStart := good
	noStart.StartsAt = time.Time{}
	badStatus := good
	badStatus.Status = "pending"
	for _, tc := range []struct {
		name, path, body string
		code             int
		reason, errPart  string
	}{
		{"malformed json", "/webhook", `{"version":"4",`, 400, ReasonMalformedJSON, "malformed JSON"},
		{"not an object", "/webhook", `[1,2]`, 400, ReasonMalformedJSON, "malformed JSON"},
		{"trailing data", "/webhook", payload("firing", good) + "{}", 400, ReasonMalformedJSON, "after the top-level"},
		{"wrong type", "/webhook", `{"version":"4","status":"firing","alerts":"x"}`, 400, ReasonMalformedJSON, `"alerts"`},
		{"empty object", "/webhook", `{}`, 400, ReasonVersion, `"version" is ""`},
		{"only version", "/webhook", `{"version":"4"}`, 400, ReasonMissingField, `"status"`},
		{"wrong version", "/webhook", strings.Replace(payload("firing", good), `"version":"4"`, `"version":"3"`, 1), 400, ReasonVersion, `"version" is "3"`},
		{"missing status", "/webhook", `{"version":"4","alerts":[]}`, 400, ReasonMissingField, `"status"`},
		{"missing alerts", "/webhook", `{"version":"4","status":"firing"}`, 400, ReasonMissingField, `"alerts"`},
		{"missing fingerprint", "/webhook", payload("firing", noFP), 400, ReasonMissingField, `alerts[0]: missing "fingerprint"`},
		{"missing startsAt", "/webhook", payload("firing", noStart), 400, ReasonMissingField, `alerts[0]: missing "startsAt"`},
		{"bad alert status", "/webhook", payload("firing", badStatus), 400, ReasonInvalidField, `alerts[0]: "status" is "pending"`},
		{"too large", "/webhook", `{"version":"4","x":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, ReasonTooLarge, "larger than"},
		{"unknown route", "/webhook/nope", payload("firing", good), 404, ReasonUnknownRoute, `route "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(e.h.metrics.invalid.WithLabelValues(tc.reason))
			code, body := e.post(t, tc.path, tc.body)
			if code != tc.code {
				t.Errorf("code: got %d, want %d (%s)", code, tc.code, body)
			}
			var resp struct{ Error string }
			if err := json.Unmarshal([]byte(body), &resp); err != nil || !strings.Contains(resp.Error, tc.errPart) {
				t.Errorf("body: got %s, want JSON error containing %q", body, tc.errPart)
			}
			if got := testutil.ToFloat64(e.h.metrics.invalid.WithLabelValues(tc.reason)) - before; got != 1 {
				t.Errorf("invalid_total{reason=%q}: got +%v, want +1", tc.reason, got)
			}
		})
	}
	checkTexts(t, e.texts(t)) // nothing queued
	// Still works afterwards.
	if code, _ := e.post(t, "/webhook", payload("firing", good)); code != 200 {
		t.Errorf("good request after bad ones: got %d, want 200", code)
	}
	req := httptest.NewRequest(http.MethodGet, "/webhook", nil)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: got %d, want 405", rec.Code)
	}
}

func TestHandlerAuth(t *testing.T) {
	body := payload("firing", alert("firing", "a"))
	basic := func(u, p string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header.Get("Authorization")
	}
	for _, tc := range []struct {
		name  string
		auth  config.WebhookAuth
		hdr   string
		code  int
		wwwAu string
	}{
		{"no auth configured", config.WebhookAuth{}, "", 200, ""},
		{"basic missing", config.WebhookAuth{BasicAuth: &config.BasicAuth{Username: "am", Password: "pw"}}, "", 401, "Basic"},
		{"basic wrong", config.WebhookAuth{BasicAuth: &config.BasicAuth{Username: "am", Password: "pw"}}, basic("am", "nope"), 401, "Basic"},
		{"basic ok", config.WebhookAuth{BasicAuth: &config.BasicAuth{Username: "am", Password: "pw"}}, basic("am", "pw"), 200, ""},
		{"bearer missing", config.WebhookAuth{BearerToken: "s3cret"}, "", 401, "Bearer"},
		{"bearer wrong", config.WebhookAuth{BearerToken: "s3cret"}, "Bearer s3cre", 401, "Bearer"},
		{"bearer ok", config.WebhookAuth{BearerToken: "s3cret"}, "Bearer s3cret", 200, ""},
		{"bearer lower-case scheme", config.WebhookAuth{BearerToken: "s3cret"}, "bearer s3cret", 200, ""},
		{"either, basic given", config.WebhookAuth{BasicAuth: &config.BasicAuth{Username: "am", Password: "pw"}, BearerToken: "s3cret"}, basic("am", "pw"), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.auth)
			req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
			if tc.hdr != "" {
				req.Header.Set("Authorization", tc.hdr)
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("got %d, want %d", rec.Code, tc.code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tc.wwwAu) || (tc.wwwAu == "") != (got == "") {
				t.Errorf("WWW-Authenticate: got %q, want prefix %q", got, tc.wwwAu)
			}
			if tc.code == 401 && len(e.texts(t)) != 0 {
				t.Errorf("unauthorized request queued jobs")
			}
		})
	}
}

func TestMetricsRegister(t *testing.T) {
	e := newEnv(t, config.WebhookAuth{})
	e.post(t, "/webhook", payload("firing", alert("firing", "a")))
	n, err := testutil.GatherAndCount(e.reg, "downtime_receiver_notifications_received_total")
	if err != nil || n != 1 {
		t.Errorf("gather: got %d, %v, want 1 series", n, err)
	}
	if got := testutil.ToFloat64(e.h.metrics.requests.WithLabelValues("200")); got != 1 {
		t.Errorf("requests_total{code=200}: got %v, want 1", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(payload("firing", alert("firing", "a"))))
	f.Add([]byte(payload("resolved", alert("resolved", "a"), alert("firing", "b"))))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":"x","startsAt":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":1}}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	st, err := bolt.OpenWith(f.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	h := New(Options{Store: st, Router: testRouter{}, Renderer: testRenderer{}})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(bytes.NewReader(body))
		if (m == nil) == (err == nil) {
			t.Fatalf("Decode: got message %v and error %v, want exactly one", m != nil, err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body)))
		if rec.Code != 200 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("got status %d (%s), want 200 or 4xx", rec.Code, rec.Body)
		}
	})
}
