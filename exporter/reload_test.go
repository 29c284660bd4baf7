package main

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/internal/fakes"
	"github.com/downtime-detector/downtime/exporter/prober"
)

const reloadBefore = `
targets:
  - host: 127.0.0.1
    labels:
      site: lab
  - host: 127.0.0.2
`

const reloadAfter = `
targets:
  - host: 127.0.0.1
    labels:
      site: lab
  - host: 127.0.0.3
    labels:
      role: new
`

// TestReload drives reloads through run(): a good one keeps the counters of
// an unchanged target and drops a removed target's series; a bad one keeps
// the running config and sets the gauge to 0; SIGHUP applies a change of
// settings and keeps the counters.
func TestReload(t *testing.T) {
	fe := fakes.NewEngine()
	path := tempConfig(t, reloadBefore)
	a := start(t, options{configFile: path, newEngine: fe.New})
	for range 3 {
		fe.Probe(t, "127.0.0.1", true, time.Now())
	}
	fe.Probe(t, "127.0.0.2", true, time.Now())
	before, _ := fe.Get("127.0.0.1")

	body := a.scrape(t)
	if got := mustValue(t, body, `ping_requests_total{site="lab",target="127.0.0.1"}`); got != 3 {
		t.Fatalf("requests before reload: got %v, want 3", got)
	}
	if got := mustValue(t, body, `downtime_exporter_config_last_reload_successful`); got != 1 {
		t.Errorf("reload gauge at start: got %v, want 1", got)
	}

	t.Run("good", func(t *testing.T) {
		writeConfig(t, path, reloadAfter)
		if code, msg := a.post(t, "/-/reload"); code != 200 {
			t.Fatalf("POST /-/reload: got %d %q, want 200", code, msg)
		}
		body := a.scrape(t)
		if got := mustValue(t, body, `ping_requests_total{role="",site="lab",target="127.0.0.1"}`); got != 3 {
			t.Errorf("unchanged target's requests: got %v, want 3 (kept)", got)
		}
		if got := mustValue(t, body, `ping_rtt_seconds_count{role="",site="lab",target="127.0.0.1"}`); got != 3 {
			t.Errorf("unchanged target's histogram count: got %v, want 3 (kept)", got)
		}
		if strings.Contains(body, `target="127.0.0.2"`) {
			t.Errorf("removed target: got series with target=\"127.0.0.2\", want none")
		}
		if got := mustValue(t, body, `ping_requests_total{role="new",site="",target="127.0.0.3"}`); got != 0 {
			t.Errorf("added target's requests: got %v, want 0", got)
		}
		if _, ok := fe.Get("127.0.0.2"); ok {
			t.Errorf("removed target: still in the engine, want removed")
		}
		if now, _ := fe.Get("127.0.0.1"); now.Obs != before.Obs {
			t.Errorf("unchanged target: got a new observer, want the same")
		}
		if got := mustValue(t, body, `downtime_exporter_targets`); got != 2 {
			t.Errorf("targets gauge: got %v, want 2", got)
		}
	})

	t.Run("bad", func(t *testing.T) {
		writeConfig(t, path, reloadAfter+"    interval: soon\n")
		code, msg := a.post(t, "/-/reload")
		if want := `line 9: "interval": invalid duration "soon"`; code != 500 || !strings.Contains(msg, want) {
			t.Errorf("POST /-/reload: got %d %q, want 500 containing %q", code, msg, want)
		}
		body := a.scrape(t)
		if got := mustValue(t, body, `downtime_exporter_config_last_reload_successful`); got != 0 {
			t.Errorf("reload gauge: got %v, want 0", got)
		}
		if _, ok := value(body, `ping_requests_total{role="new",site="",target="127.0.0.3"}`); !ok {
			t.Errorf("running config: got 127.0.0.3 gone, want kept")
		}
		if _, ok := fe.Get("127.0.0.1"); !ok {
			t.Errorf("running config: got 127.0.0.1 gone from the engine, want kept")
		}
	})

	t.Run("sighup", func(t *testing.T) {
		writeConfig(t, path, strings.Replace(reloadAfter, "site: lab", "site: lab\n    interval: 2s", 1))
		a.reload <- struct{}{}
		body, ok := a.waitFor(t, 5*time.Second, is(`downtime_exporter_config_last_reload_successful`, 1))
		if !ok {
			t.Fatalf("reload gauge after SIGHUP: got %q, want 1", body)
		}
		now, _ := fe.Get("127.0.0.1")
		if got, want := now.T.Interval, 2*time.Second; got != want {
			t.Errorf("interval after reload: got %s, want %s", got, want)
		}
		if now.Obs != before.Obs {
			t.Errorf("changed settings: got a new observer, want the same (counters kept)")
		}
		if got := mustValue(t, body, `ping_requests_total{role="",site="lab",target="127.0.0.1"}`); got != 3 {
			t.Errorf("requests after a settings change: got %v, want 3 (kept)", got)
		}
	})
}

// TestReloadLabelsChange: new labels make a new series with fresh counters.
func TestReloadLabelsChange(t *testing.T) {
	fe := fakes.NewEngine()
	path := tempConfig(t, reloadBefore)
	a := start(t, options{configFile: path, newEngine: fe.New})
	fe.Probe(t, "127.0.0.1", true, time.Now())
	writeConfig(t, path, strings.Replace(reloadBefore, "site: lab", "site: attic", 1))
	if code, msg := a.post(t, "/-/reload"); code != 200 {
		t.Fatalf("POST /-/reload: got %d %q, want 200", code, msg)
	}
	body := a.scrape(t)
	if strings.Contains(body, `site="lab"`) {
		t.Errorf("old labels: got series with site=\"lab\", want none")
	}
	if got := mustValue(t, body, `ping_requests_total{site="attic",target="127.0.0.1"}`); got != 0 {
		t.Errorf("requests with new labels: got %v, want 0", got)
	}
}

func TestEndpoints(t *testing.T) {
	a := start(t, options{args: []string{"127.0.0.1"}, newEngine: fakes.NewEngine().New})
	tests := []struct {
		path     string
		want     int
		contains string
	}{
		{"/", 200, "Downtime Exporter"},
		{"/metrics", 200, "downtime_exporter_build_info{"},
		{"/-/healthy", 200, "Healthy"},
		{"/-/ready", 200, "Ready"},
		{"/-/reload", 405, "reload needs POST"},
		{"/nothing", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(a.url + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.contains) {
				t.Errorf("GET %s: got %d %.80q, want %d containing %q", tt.path, resp.StatusCode, b, tt.want, tt.contains)
			}
		})
	}
}

// TestWebConfig checks that --web.config.file is applied (basic auth).
func TestWebConfig(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webCfg := "testdata/web-config.yml"
	o := options{args: []string{"127.0.0.1"}, defaults: defaultsForTest(), newEngine: fakes.NewEngine().New,
		listeners: []net.Listener{l},
		web:       &web.FlagConfig{WebListenAddresses: &[]string{}, WebSystemdSocket: new(bool), WebConfigFile: &webCfg}}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, o) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: got error %v, want none", err)
		}
	}()
	url := "http://" + l.Addr().String() + "/metrics"
	status := func(user, pass string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		for range 100 { // until the server is up
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("GET %s: no answer", url)
		return 0
	}
	if got := status("", ""); got != http.StatusUnauthorized {
		t.Errorf("without credentials: got %d, want 401", got)
	}
	if got := status("prometheus", "s3cret-test"); got != http.StatusOK {
		t.Errorf("with credentials: got %d, want 200", got)
	}
}

func TestConfigCheck(t *testing.T) {
	noEngine := func(prober.Options) (prober.Engine, error) {
		t.Error("config check: got an engine started, want none")
		return nil, errors.New("unexpected")
	}
	good := tempConfig(t, reloadBefore)
	if err := run(t.Context(), options{configFile: good, configCheck: true, defaults: defaultsForTest(), newEngine: noEngine}); err != nil {
		t.Errorf("good config: got error %v, want none", err)
	}
	bad := tempConfig(t, "targets:\n  - host: 127.0.0.1\n    colour: red\n")
	err := run(t.Context(), options{configFile: bad, configCheck: true, defaults: defaultsForTest(), newEngine: noEngine})
	if want := `line 3: unknown field "colour"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad config: got error %v, want one containing %q", err, want)
	}
}

// TestModeError: when the prober cannot open its sockets, run fails with
// the prober's error, which says how to allow the mode.
func TestModeError(t *testing.T) {
	howTo := errors.New("raw ICMP sockets need CAP_NET_RAW: run as root or `setcap cap_net_raw+ep BINARY`")
	failing := func(prober.Options) (prober.Engine, error) { return nil, howTo }
	err := run(t.Context(), options{args: []string{"127.0.0.1"}, defaults: defaultsForTest(), newEngine: failing})
	if !errors.Is(err, howTo) {
		t.Errorf("got error %v, want it to wrap %v", err, howTo)
	}
}

// TestExampleConfig keeps the README's example valid.
func TestExampleConfig(t *testing.T) {
	o := options{configFile: "testdata/example.yml", configCheck: true, defaults: defaultsForTest()}
	if err := run(t.Context(), o); err != nil {
		t.Errorf("testdata/example.yml: got error %v, want none", err)
	}
}

// TestMetricsFormats: protobuf (native histograms) through promhttp, text
// through the fast path, gzipped when asked.
func TestMetricsFormats(t *testing.T) {
	fe := fakes.NewEngine()
	a := start(t, options{args: []string{"127.0.0.1"}, newEngine: fe.New})
	fe.Probe(t, "127.0.0.1", true, time.Now())
	get := func(header, value string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", a.url+"/metrics", nil)
		req.Header.Set(header, value)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	t.Run("protobuf", func(t *testing.T) {
		resp := get("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
		format := expfmt.ResponseFormat(resp.Header)
		if format.FormatType() != expfmt.TypeProtoDelim {
			t.Fatalf("content type: got %q, want delimited protobuf", resp.Header.Get("Content-Type"))
		}
		dec := expfmt.NewDecoder(resp.Body, format)
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				t.Fatalf("got no ping_rtt_seconds (%v), want one", err)
			}
			if mf.GetName() != "ping_rtt_seconds" {
				continue
			}
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 || len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) != len(collector.RTTBuckets) {
				t.Errorf("got %v, want 1 sample in classic and native buckets", h)
			}
			return
		}
	})

	t.Run("text gzip", func(t *testing.T) {
		resp := get("Accept-Encoding", "gzip")
		if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("content encoding: got %q, want gzip", got)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustValue(t, string(b), `ping_rtt_seconds_count{target="127.0.0.1"}`); got != 1 {
			t.Errorf("rtt count: got %v, want 1", got)
		}
		if _, ok := value(string(b), "downtime_exporter_config_last_reload_successful"); !ok {
			t.Errorf("got no self-metrics in the text scrape, want them")
		}
	})
}

// TestReloadRefusesEmpty: a reload that would drop every target (a file
// emptied, truncated or cleared) is refused and the running targets keep
// probing, unless --config.allow-empty; starting without targets is refused
// the same way.
func TestReloadRefusesEmpty(t *testing.T) {
	fe := fakes.NewEngine()
	path := tempConfig(t, reloadBefore)
	a := start(t, options{configFile: path, newEngine: fe.New})
	for _, tt := range []struct{ name, text, want string }{
		{"empty", "", config.ErrNoDocument.Error()},
		{"comments", "# all gone\n", config.ErrNoDocument.Error()},
		{"null", "null\n", config.ErrNoDocument.Error()},
		{"no targets", "targets: []\n", `no targets: config file "` + path + `" lists none and none are given as arguments (run with --config.allow-empty to start or reload without targets)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			writeConfig(t, path, tt.text)
			if code, msg := a.post(t, "/-/reload"); code != 500 || !strings.Contains(msg, tt.want) {
				t.Errorf("POST /-/reload: got %d %q, want 500 containing %q", code, msg, tt.want)
			}
			if _, ok := fe.Get("127.0.0.2"); !ok {
				t.Errorf("running targets: got 127.0.0.2 gone from the engine, want kept")
			}
			if got := mustValue(t, a.scrape(t), `downtime_exporter_config_last_reload_successful`); got != 0 {
				t.Errorf("reload gauge: got %v, want 0", got)
			}
		})
	}

	t.Run("start", func(t *testing.T) {
		err := run(t.Context(), options{configFile: path, defaults: defaultsForTest(), newEngine: fakes.NewEngine().New})
		if want := "no targets: config file"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run without targets: got %v, want an error containing %q", err, want)
		}
	})

	t.Run("allowed", func(t *testing.T) {
		fe := fakes.NewEngine()
		path := tempConfig(t, reloadBefore)
		a := start(t, options{configFile: path, newEngine: fe.New, limits: config.Limits{AllowEmpty: true}})
		writeConfig(t, path, "targets: []\n")
		if code, msg := a.post(t, "/-/reload"); code != 200 {
			t.Fatalf("POST /-/reload with --config.allow-empty: got %d %q, want 200", code, msg)
		}
		if got := mustValue(t, a.scrape(t), `downtime_exporter_targets`); got != 0 {
			t.Errorf("targets gauge: got %v, want 0", got)
		}
		writeConfig(t, path, "")
		if code, _ := a.post(t, "/-/reload"); code != 500 {
			t.Errorf("POST /-/reload of an empty file with --config.allow-empty: got %d, want 500 (a file must say so)", code)
		}
	})
}

// TestReloadParentChange: a new parent shows in ping_target_info at once;
// the target keeps its series and counters; an invalid parent is refused
// and the running config stays.
func TestReloadParentChange(t *testing.T) {
	fe := fakes.NewEngine()
	path := tempConfig(t, reloadBefore)
	a := start(t, options{configFile: path, newEngine: fe.New})
	fe.Probe(t, "127.0.0.2", true, time.Now())
	if body := a.scrape(t); strings.Contains(body, `parent=`) {
		t.Errorf("no parent configured: got a parent label, want none")
	}
	writeConfig(t, path, reloadBefore+"    parent: 127.0.0.1\n")
	if code, msg := a.post(t, "/-/reload"); code != 200 {
		t.Fatalf("POST /-/reload: got %d %q, want 200", code, msg)
	}
	body := a.scrape(t)
	mustValue(t, body, `ping_target_info{family="ip4",ip="127.0.0.2",parent="127.0.0.1",site="",target="127.0.0.2"}`)
	mustValue(t, body, `ping_target_info{family="ip4",ip="127.0.0.1",parent="",site="lab",target="127.0.0.1"}`)
	if got := mustValue(t, body, `ping_requests_total{site="",target="127.0.0.2"}`); got != 1 {
		t.Errorf("requests after a parent change: got %v, want 1 (kept)", got)
	}
	writeConfig(t, path, reloadBefore+"    parent: 127.0.0.9\n")
	code, msg := a.post(t, "/-/reload")
	if want := `"parent": "127.0.0.9" of target "127.0.0.2" is not a configured target`; code != 500 || !strings.Contains(msg, want) {
		t.Errorf("bad parent: got %d %q, want 500 containing %q", code, msg, want)
	}
	mustValue(t, a.scrape(t), `ping_target_info{family="ip4",ip="127.0.0.2",parent="127.0.0.1",site="",target="127.0.0.2"}`)
}
