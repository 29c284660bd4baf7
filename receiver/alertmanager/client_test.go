package alertmanager

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commoncfg "github.com/prometheus/common/config"

	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
)

const secret = "s3cret-Pa55"

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:9093", ""},
		{"https://am.example/prefix/", ""},
		{"ftp://am.example", "scheme must be http or https"},
		{"http://", "missing host"},
		{"http://bob:" + secret + "@am.example", "credentials in the URL are not allowed"},
		{"http://am.example/?x=1", "must not have a query"},
		{"http://am.example:port/" + secret, "invalid port"},
	} {
		_, err := ParseURL(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ParseURL(%q): %v, want ok", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ParseURL(%q): %v, want error containing %q", tc.in, err, tc.want)
		case err != nil && strings.Contains(err.Error(), secret) && !strings.HasSuffix(tc.in, "/"+secret):
			t.Errorf("ParseURL(%q): error %q prints the password", tc.in, err)
		}
	}
}

// TestErrors: every failure names the Alertmanager and the status, shows
// Alertmanager's text, and never the password.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		want    string
		reason  string
		checkOp func(*Client) error
	}{
		{"bad request", 400, `"silence invalid: matcher value empty"`, `create silence: HTTP 400: silence invalid: matcher value empty`, "4xx", createOne},
		{"unauthorized", 401, "Unauthorized\n", `create silence: HTTP 401: Unauthorized`, "4xx", createOne},
		{"internal error", 500, "boom", `list silences: HTTP 500: boom`, "5xx", listOne},
		{"proxy says down", 503, "<html>no upstream</html>", `list alerts: HTTP 503: <html>no upstream</html>`, "5xx", alertsOne},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, gotAuth, _ = r.BasicAuth()
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			u, _ := url.Parse(srv.URL + "/am")
			reg := prometheus.NewRegistry()
			c, err := New(Config{URLs: []*url.URL{u}, HTTPClientConfig: commoncfg.HTTPClientConfig{
				BasicAuth: &commoncfg.BasicAuth{Username: "bob", Password: commoncfg.Secret(secret)}}}, nil, reg)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.checkOp(c)
			if err == nil || !strings.Contains(err.Error(), "alertmanager "+srv.URL+"/am: "+tc.want) {
				t.Fatalf("got error %v, want it to contain %q", err, "alertmanager "+srv.URL+"/am: "+tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q prints the password", err)
			}
			if gotAuth != secret {
				t.Errorf("server saw password %q, want the configured one", gotAuth)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status {
				t.Errorf("error %#v, want *Error with status %d", err, tc.status)
			}
			n, _ := testutil.GatherAndCount(reg, "downtime_receiver_alertmanager_requests_failed_total")
			if n == 0 {
				t.Fatal("no failed-requests metric")
			}
			mfs, _ := reg.Gather()
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if strings.Contains(l.GetValue(), secret) {
							t.Errorf("metric %s label %s has the password", mf.GetName(), l.GetName())
						}
					}
				}
			}
		})
	}
}

func createOne(c *Client) error {
	now := time.Now()
	_, err := c.CreateSilence(context.Background(), SilenceRequest{Labels: hostA, CreatedBy: "@a", StartsAt: now, EndsAt: now.Add(time.Hour)})
	return err
}

func listOne(c *Client) error { _, err := c.ListSilences(context.Background()); return err }

func alertsOne(c *Client) error { _, err := c.Alerts(context.Background(), nil); return err }

func TestDown(t *testing.T) {
	down := &url.URL{Scheme: "http", Host: amtest.FreeAddr(t)}
	c := newTestClient(t, down)
	err := createOne(c)
	if err == nil || !strings.Contains(err.Error(), "alertmanager "+down.String()+": create silence:") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %v, want an error naming %s and connection refused", err, down)
	}
}

// TestNoSecondSilenceAfterAmbiguousFailure: a 500 from the first peer may
// mean it stored the silence; the second peer must not get a duplicate.
func TestNoSecondSilenceAfterAmbiguousFailure(t *testing.T) {
	calls := 0
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer fail.Close()
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++; w.WriteHeader(500) }))
	defer second.Close()
	u1, _ := url.Parse(fail.URL)
	u2, _ := url.Parse(second.URL)
	if err := createOne(newTestClient(t, u1, u2)); err == nil {
		t.Fatal("got nil error, want the 500")
	}
	if calls != 0 {
		t.Errorf("second peer got %d requests, want 0", calls)
	}
}

func TestSilenceMatchers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   string
		err    string
	}{
		{"all identifying", hostA, `[alertname="HostDown" target="host-a" job="ping" instance="exporter:9426"]`, ""},
		{"target only", map[string]string{"alertname": "HostDown", "target": "h", "severity": "x"}, `[alertname="HostDown" target="h"]`, ""},
		{"instance only", map[string]string{"alertname": "ExporterDown", "instance": "e:1", "job": "ping"}, `[alertname="ExporterDown" job="ping" instance="e:1"]`, ""},
		{"no alertname", map[string]string{"target": "h"}, "", "no alertname"},
		{"too broad", map[string]string{"alertname": "Watchdog", "job": "x"}, "", "neither a target nor an instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := SilenceMatchers(tc.labels)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(fmtMatchers(ms), "\n", " "), " ")), " "); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func fmtMatchers(ms []Matcher) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestCreateSilenceRejects(t *testing.T) {
	c := newTestClient(t, &url.URL{Scheme: "http", Host: "127.0.0.1:1"})
	now := time.Now()
	for _, tc := range []struct {
		r    SilenceRequest
		want string
	}{
		{SilenceRequest{Labels: hostA, StartsAt: now, EndsAt: now.Add(time.Hour)}, "empty createdBy"},
		{SilenceRequest{Labels: hostA, CreatedBy: "@a", StartsAt: now, EndsAt: now}, "is not after startsAt"},
	} {
		if _, err := c.CreateSilence(context.Background(), tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	if err := c.ExpireSilence(context.Background(), "../../alerts"); err == nil || !strings.Contains(err.Error(), "not a UUID") {
		t.Errorf("expire forged id: %v, want not a UUID", err)
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Config{URLs: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}}, nil, reg); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := New(Config{URLs: []*url.URL{{Scheme: "http", Host: amtest.FreeAddr(t)}}}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	_ = createOne(c)
	want := `
# HELP downtime_receiver_alertmanager_requests_failed_total Failed requests to Alertmanager's API v2, by operation and reason (network, 4xx, 5xx).
# TYPE downtime_receiver_alertmanager_requests_failed_total counter
downtime_receiver_alertmanager_requests_failed_total{operation="create_silence",reason="4xx"} 0
downtime_receiver_alertmanager_requests_failed_total{operation="create_silence",reason="5xx"} 0
downtime_receiver_alertmanager_requests_failed_total{operation="create_silence",reason="network"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want+otherOps()), "downtime_receiver_alertmanager_requests_failed_total"); err != nil {
		t.Error(err)
	}
}

func otherOps() string {
	var b strings.Builder
	for _, op := range Operations[1:] {
		for _, r := range []string{"4xx", "5xx", "network"} {
			b.WriteString(`downtime_receiver_alertmanager_requests_failed_total{operation="` + op + `",reason="` + r + `"} 0` + "\n")
		}
	}
	return b.String()
}
