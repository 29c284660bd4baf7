package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// panelWant is what one dashboard query must return at a point of the
// test: key is "<panel title>/<refId>" or "annotation <name>".
type panelWant struct {
	key   string
	check func(res []sample, host string) error
}

// tiny is the least RTT or availability taken as "more than 0".
const tiny = 1e-9

// wantHealthy: the host answers, the pipeline has run for half a minute
// (the 20 % loss phase included).
var wantHealthy = []panelWant{
	{"Hosts down now/A", single(0)},
	{"Hosts monitored/A", single(1)},
	{"Exporter scraped/A", single(1)},
	{"Up / down per host/A", forHost(1, 1)},
	{"RTT quantiles (p50, p90, p99)/A", forHost(tiny, 1)},
	{"RTT quantiles (p50, p90, p99)/B", forHost(tiny, 1)},
	{"RTT quantiles (p50, p90, p99)/C", forHost(tiny, 1)},
	{"RTT distribution/A", nonEmpty},
	{"Packet loss/A", forHost(0, 1)},
	{"Availability/A", forHost(tiny, 1)},
}

// wantDown: HostDown is firing for the host.
var wantDown = []panelWant{
	{"Hosts down now/A", single(1)},
	{"Up / down per host/A", forHost(0, 0)},
	{"Packet loss/A", forHost(1, 1)},
	{"Firing alerts/A", alert("HostDown")},
	{"annotation HostDown", alert("HostDown")},
}

// checkDashboard evaluates every PromQL expression of the shipped
// dashboards in the pipeline's Prometheus, as Grafana would send it: once
// with each variable at "All" and once at the first value its query
// returns (the host). Every query must succeed and wants must hold.
func (p *pipeline) checkDashboard(t *testing.T, wants []panelWant) {
	t.Helper()
	hc := p.ns.HTTPClient()
	start, n := time.Now(), 0
	found := map[string]bool{}
	for _, d := range loadDashboards(t) {
		sets, err := d.variableSets(scrapeInterval, func(v variable, q string) ([]string, error) {
			vals, err := variableValues(hc, q)
			if err == nil && v.Name == "target" && !slices.Contains(vals, p.host) {
				err = fmt.Errorf("got %v, want the host %s among them", vals, p.host)
			}
			return vals, err
		})
		if err != nil {
			t.Errorf("dashboard %s: %v", d.UID, err)
			continue
		}
		for _, e := range d.exprs() {
			found[e.key] = true
			for _, s := range sets {
				n++
				res, err := dashboardQuery(hc, e.expr, s.vars)
				if err != nil {
					t.Errorf("dashboard %s, %s (%s): %v", d.UID, e.key, s.name, err)
					continue
				}
				for _, w := range wants {
					if w.key != e.key {
						continue
					}
					if err := w.check(res, p.host); err != nil {
						t.Errorf("dashboard %s, %s (%s): %v", d.UID, e.key, s.name, err)
					}
				}
			}
		}
	}
	for _, w := range wants {
		if !found[w.key] {
			t.Errorf("got no dashboard query %q, want one (renamed panel?)", w.key)
		}
	}
	t.Logf("dashboard: %d queries evaluated in %v", n, time.Since(start).Round(time.Millisecond))
}

// dashboardQuery interpolates expr and runs it as an instant query. A range
// vector result is an error: Grafana graphs with query_range, which
// rejects it.
func dashboardQuery(hc *http.Client, expr string, vars map[string]string) ([]sample, error) {
	q, err := interpolate(expr, vars)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(hc, "/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: got %s (%s), want success", q, r.ErrorType, r.Error)
	}
	var res []sample
	switch r.Data.ResultType {
	case "vector":
		err = json.Unmarshal(r.Data.Result, &res)
	case "scalar", "string":
	default:
		err = fmt.Errorf("got a %s, want an instant vector or a scalar", r.Data.ResultType)
	}
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	return res, nil
}

// variableValues answers a label_values query variable the way Grafana's
// Prometheus datasource does, with the label values API.
func variableValues(hc *http.Client, q string) ([]string, error) {
	selector, label, err := parseVariableQuery(q)
	if err != nil {
		return nil, err
	}
	path := "/api/v1/label/" + label + "/values"
	if selector != "" {
		path += "?match[]=" + url.QueryEscape(selector)
	}
	var r struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := getJSON(hc, path, &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("label values %s: %s", path, r.Error)
	}
	return r.Data, nil
}

func getJSON(hc *http.Client, path string, v any) error {
	resp, err := hc.Get("http://127.0.0.1:9090" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

func sampleValue(s sample) float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// single: exactly one sample, of value want (a stat panel).
func single(want float64) func([]sample, string) error {
	return func(res []sample, _ string) error {
		if len(res) != 1 || sampleValue(res[0]) != want {
			return fmt.Errorf("got %v, want one sample of value %v", res, want)
		}
		return nil
	}
}

// forHost: a sample for the host with a value in [lo, hi] (not NaN).
func forHost(lo, hi float64) func([]sample, string) error {
	return func(res []sample, host string) error {
		for _, s := range res {
			if v := sampleValue(s); s.Metric["target"] == host && v >= lo && v <= hi {
				return nil
			}
		}
		return fmt.Errorf("got %v, want a sample for target %s of value in [%g, %g]", res, host, lo, hi)
	}
}

// nonEmpty: a sample that is a number or a native histogram.
func nonEmpty(res []sample, _ string) error {
	for _, s := range res {
		if !math.IsNaN(sampleValue(s)) || s.Histogram[1] != nil {
			return nil
		}
	}
	return fmt.Errorf("got %v, want a sample that is a number or a histogram", res)
}

// alert: the alert is firing for the host.
func alert(name string) func([]sample, string) error {
	return func(res []sample, host string) error {
		for _, s := range res {
			if s.Metric["alertname"] == name && s.Metric["target"] == host {
				return nil
			}
		}
		return fmt.Errorf("got %v, want alert %s for target %s", res, name, host)
	}
}
