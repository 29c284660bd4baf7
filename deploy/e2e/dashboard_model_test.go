package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The Grafana dashboard cannot be loaded into a Grafana here (not packaged
// in Debian), so this file models the part of its JSON that matters for
// correctness: datasources, template variables and PromQL expressions.
// dashboard_live_test.go evaluates the expressions in the end-to-end test's
// Prometheus; the tests below check the rest without root.

// dashboard is the part of a Grafana dashboard JSON the tests read.
type dashboard struct {
	path        string
	UID         string `json:"uid"`
	Title       string `json:"title"`
	Time        struct{ From, To string }
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []target       `json:"targets"`
	GridPos    struct{ X, Y, W, H int }
	Panels     []panel `json:"panels"` // a collapsed row's panels
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type annotation struct {
	BuiltIn    int            `json:"builtIn"`
	Name       string         `json:"name"`
	Datasource *datasourceRef `json:"datasource"`
	Expr       string         `json:"expr"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Refresh    int             `json:"refresh"`
	Current    struct {
		Text  any `json:"text"`
		Value any `json:"value"`
	} `json:"current"`
}

// datasourceRef is {"type": ..., "uid": ...} or, in older dashboards, a
// plain string (a name or "${var}").
type datasourceRef struct {
	Type, UID string
}

func (r *datasourceRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		r.UID = s
		return nil
	}
	var o struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("datasource: want a string or {\"type\", \"uid\"}: %w", err)
	}
	r.Type, r.UID = o.Type, o.UID
	return nil
}

// queryText is a query variable's PromQL-ish query: a string or, since
// Grafana 10, {"query": "...", "refId": "..."}.
func (v variable) queryText() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query *string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil || o.Query == nil {
		return "", fmt.Errorf("query %s: want a string or an object with a string \"query\"", compact(v.Query))
	}
	return *o.Query, nil
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// dashboardDir holds the shipped dashboards.
func dashboardDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "deploy", "grafana", "dashboards")
}

// loadDashboards parses every shipped dashboard.
func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dashboardDir(t), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("got dashboards %v (error %v) in %s, want at least one", paths, err, dashboardDir(t))
	}
	var out []*dashboard
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read dashboard: %v", err)
		}
		d := &dashboard{path: p}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		out = append(out, d)
	}
	return out
}

// promExpr is one PromQL expression of a dashboard and where it is.
type promExpr struct {
	key  string // "<panel title>/<refId>" or "annotation <name>"
	expr string
}

// allPanels flattens rows (collapsed rows keep their panels inside).
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// exprs lists the PromQL of every panel target and annotation.
func (d *dashboard) exprs() []promExpr {
	var out []promExpr
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, promExpr{key: p.Title + "/" + tg.RefID, expr: tg.Expr})
		}
	}
	for _, a := range d.Annotations.List {
		if a.BuiltIn == 0 {
			out = append(out, promExpr{key: "annotation " + a.Name, expr: a.Expr})
		}
	}
	return out
}

// varRE matches Grafana's variable syntaxes: ${name}, ${name:format},
// $name and [[name]].
var varRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// interpolate substitutes Grafana variables; an unknown one is an error (a
// typo would otherwise reach Prometheus as a literal "$targte").
func interpolate(s string, vars map[string]string) (string, error) {
	var unknown []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, m)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown variables %v", unknown)
	}
	return out, nil
}

// builtinVars are Grafana's global variables for a dashboard time range
// and a datasource scrape interval ("timeInterval"): $__interval is at
// least the scrape interval, $__rate_interval is max($__interval + scrape,
// 4 x scrape).
func builtinVars(scrape, rng time.Duration) map[string]string {
	interval := scrape
	rate := max(interval+scrape, 4*scrape)
	return map[string]string{
		"__interval":      dur(interval),
		"__interval_ms":   fmt.Sprint(interval.Milliseconds()),
		"__rate_interval": dur(rate),
		"__range":         fmt.Sprintf("%ds", int(rng.Seconds())),
		"__range_s":       fmt.Sprint(int(rng.Seconds())),
		"__range_ms":      fmt.Sprint(rng.Milliseconds()),
	}
}

// timeRange is the dashboard's default range ("now-3h" to "now").
func (d *dashboard) timeRange() (time.Duration, error) {
	from, ok := strings.CutPrefix(d.Time.From, "now-")
	if !ok || d.Time.To != "now" {
		return 0, fmt.Errorf("time %q to %q: want \"now-<duration>\" to \"now\"", d.Time.From, d.Time.To)
	}
	r, err := model.ParseDuration(from)
	return time.Duration(r), err
}

// regexEscape is how Grafana's Prometheus datasource writes one selected
// value of a multi-value or "All" variable into a query (used with =~):
// prometheusSpecialRegexEscape, doubled backslashes for the PromQL string.
func regexEscape(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\\\`)
	return regexp.MustCompile(`[$^*{}\[\]'+?.()|]`).ReplaceAllString(v, `\\$0`)
}

// labelValuesRE parses Grafana's label_values([selector,] label).
var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// parseVariableQuery splits a query variable's query; only label_values is
// used (and supported) here: extend this for query_result and friends.
func parseVariableQuery(q string) (selector, label string, err error) {
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return "", "", fmt.Errorf("query %q: want label_values([selector,] label)", q)
	}
	return m[1], m[2], nil
}

// varSet is one way of filling in a dashboard's variables.
type varSet struct {
	name string
	vars map[string]string
}

// variableSets returns the variables with every multi-value variable at
// "All" and with the first value its query returns; values answers a
// query variable's (interpolated) query.
func (d *dashboard) variableSets(scrape time.Duration, values func(v variable, query string) ([]string, error)) ([]varSet, error) {
	rng, err := d.timeRange()
	if err != nil {
		return nil, err
	}
	all, first := builtinVars(scrape, rng), builtinVars(scrape, rng)
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource", "constant", "custom", "interval", "textbox":
			all[v.Name], first[v.Name] = fmt.Sprint(v.Current.Value), fmt.Sprint(v.Current.Value)
			continue
		case "query":
		default:
			return nil, fmt.Errorf("variable %q: type %q not supported by this test", v.Name, v.Type)
		}
		q, err := v.queryText()
		if err == nil {
			q, err = interpolate(q, all)
		}
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		vals, err := values(v, q)
		if err != nil || len(vals) == 0 {
			return nil, fmt.Errorf("variable %q: query %q: got values %v (error %v), want at least one", v.Name, q, vals, err)
		}
		all[v.Name], first[v.Name] = allValue(v, vals), vals[0]
		if v.Multi || v.IncludeAll {
			first[v.Name] = regexEscape(vals[0])
		}
	}
	return []varSet{{"All", all}, {"first value", first}}, nil
}

// allValue is what Grafana puts in a query for "All": allValue when set,
// else every value, escaped, as an alternation.
func allValue(v variable, vals []string) string {
	if v.IncludeAll && v.AllValue != "" {
		return v.AllValue
	}
	esc := make([]string, len(vals))
	for i, s := range vals {
		esc[i] = regexEscape(s)
	}
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

// provisioned is a datasource of deploy/grafana/provisioning/datasources.
type provisioned struct {
	Name     string `yaml:"name"`
	UID      string `yaml:"uid"`
	Type     string `yaml:"type"`
	URL      string `yaml:"url"`
	JSONData struct {
		TimeInterval string `yaml:"timeInterval"`
	} `yaml:"jsonData"`
}

func provisionedDatasources(t *testing.T) []provisioned {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy/grafana/provisioning/datasources/*.yml"))
	var out []provisioned
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read datasource provisioning: %v", err)
		}
		var f struct {
			APIVersion  int           `yaml:"apiVersion"`
			Datasources []provisioned `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		if f.APIVersion != 1 {
			t.Errorf("%s: got apiVersion %d, want 1", p, f.APIVersion)
		}
		out = append(out, f.Datasources...)
	}
	if len(out) == 0 {
		t.Fatalf("got no provisioned datasource, want the Prometheus")
	}
	return out
}

// resolveDatasource names the provisioned datasource ref means: its uid,
// or a datasource variable whose current value is one.
func (d *dashboard) resolveDatasource(ref *datasourceRef, ds []provisioned) (provisioned, error) {
	if ref == nil {
		return provisioned{}, fmt.Errorf("no datasource")
	}
	uid := ref.UID
	if m := varRE.FindStringSubmatch(uid); m != nil && m[0] == uid {
		name := m[1] + m[2] + m[3]
		v, ok := d.variable(name)
		if !ok || v.Type != "datasource" {
			return provisioned{}, fmt.Errorf("datasource %q: no datasource variable %q", uid, name)
		}
		var typ string
		if err := json.Unmarshal(v.Query, &typ); err != nil {
			return provisioned{}, fmt.Errorf("datasource variable %q: query %s: want the plugin type as a string", name, compact(v.Query))
		}
		p, err := findDatasource(fmt.Sprint(v.Current.Value), ds)
		if err == nil && p.Type != typ {
			err = fmt.Errorf("datasource variable %q lists type %q, its current %q is %q", name, typ, p.UID, p.Type)
		}
		if err != nil {
			return provisioned{}, err
		}
		uid = p.UID
	}
	p, err := findDatasource(uid, ds)
	if err == nil && ref.Type != "" && ref.Type != p.Type {
		err = fmt.Errorf("datasource %q: got type %q, the provisioned one is %q", ref.UID, ref.Type, p.Type)
	}
	return p, err
}

func findDatasource(uidOrName string, ds []provisioned) (provisioned, error) {
	for _, p := range ds {
		if p.UID == uidOrName || p.Name == uidOrName {
			return p, nil
		}
	}
	return provisioned{}, fmt.Errorf("datasource %q is not provisioned (deploy/grafana/provisioning/datasources)", uidOrName)
}

func (d *dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}
