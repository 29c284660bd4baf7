package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// These tests need neither root nor Prometheus running: the dashboard's
// structure, its datasources against the provisioning files and its
// variables. TestPipeline evaluates its queries for real.

// staticValues stands in for a query variable's values without Prometheus.
func staticValues(variable, string) ([]string, error) { return []string{"198.18.0.2"}, nil }

var uidRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

func TestDashboard(t *testing.T) {
	ds := provisionedDatasources(t)
	uids, titles := map[string]string{}, map[string]string{}
	for _, d := range loadDashboards(t) {
		name := filepath.Base(d.path)
		t.Run(name, func(t *testing.T) {
			if !uidRE.MatchString(d.UID) {
				t.Errorf("got uid %q, want 1-40 characters of [a-zA-Z0-9_-]", d.UID)
			}
			if other, ok := uids[d.UID]; ok {
				t.Errorf("got uid %q also in %s, want unique", d.UID, other)
			}
			if other, ok := titles[d.Title]; ok || d.Title == "" {
				t.Errorf("got title %q (also in %q), want a unique non-empty title", d.Title, other)
			}
			uids[d.UID], titles[d.Title] = name, name
			checkPanels(t, d, ds)
			checkAnnotations(t, d, ds)
			checkVariables(t, d, ds)
			checkExprs(t, d)
		})
	}
}

// checkPanels: unique ids, a layout inside the 24 columns, and every panel
// with queries on a provisioned datasource (rows hold no queries).
func checkPanels(t *testing.T, d *dashboard, ds []provisioned) {
	t.Helper()
	ids := map[int]string{}
	for _, p := range allPanels(d.Panels) {
		if other, ok := ids[p.ID]; ok || p.ID <= 0 {
			t.Errorf("panel %q: got id %d (also %q), want a unique positive id", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: got gridPos %+v, want inside the 24 columns", p.Title, g)
		}
		if p.Type == "row" && len(p.Targets) == 0 {
			continue
		}
		own, err := d.resolveDatasource(p.Datasource, ds)
		if err != nil {
			t.Errorf("panel %q: %v", p.Title, err)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: got no targets, want at least one query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: got target refId %q expr %q, want a unique refId and an expression", p.Title, tg.RefID, tg.Expr)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil {
				continue // inherits the panel's
			}
			if got, err := d.resolveDatasource(tg.Datasource, ds); err != nil || got.UID != own.UID {
				t.Errorf("panel %q target %s: got datasource %q (error %v), want the panel's %q", p.Title, tg.RefID, got.UID, err, own.UID)
			}
		}
	}
}

func checkAnnotations(t *testing.T, d *dashboard, ds []provisioned) {
	t.Helper()
	for _, a := range d.Annotations.List {
		if a.BuiltIn != 0 {
			continue // Grafana's own annotations and alerts
		}
		if _, err := d.resolveDatasource(a.Datasource, ds); err != nil {
			t.Errorf("annotation %q: %v", a.Name, err)
		}
		if strings.TrimSpace(a.Expr) == "" {
			t.Errorf("annotation %q: got no expr, want a query", a.Name)
		}
	}
}

// checkVariables: unique names; query variables on a provisioned
// datasource with a well-formed label_values query that "definition"
// (what Grafana's editor shows) repeats; a valid "All" regex.
func checkVariables(t *testing.T, d *dashboard, ds []provisioned) {
	t.Helper()
	names := map[string]bool{}
	for _, v := range d.Templating.List {
		if !regexp.MustCompile(`^\w+$`).MatchString(v.Name) || names[v.Name] {
			t.Errorf("variable %q: want a unique name of word characters", v.Name)
		}
		names[v.Name] = true
		if v.Type != "query" {
			continue
		}
		if _, err := d.resolveDatasource(v.Datasource, ds); err != nil {
			t.Errorf("variable %q: %v", v.Name, err)
		}
		q, err := v.queryText()
		if err != nil {
			t.Errorf("variable %q: %v", v.Name, err)
			continue
		}
		if _, _, err := parseVariableQuery(q); err != nil {
			t.Errorf("variable %q: %v", v.Name, err)
		}
		if v.Definition != "" && v.Definition != q {
			t.Errorf("variable %q: got definition %q, want the query %q", v.Name, v.Definition, q)
		}
		if v.Refresh < 0 || v.Refresh > 2 {
			t.Errorf("variable %q: got refresh %d, want 0, 1 (on load) or 2 (on time range change)", v.Name, v.Refresh)
		}
		if _, err := regexp.Compile(v.AllValue); err != nil {
			t.Errorf("variable %q: allValue %q: %v", v.Name, v.AllValue, err)
		}
	}
}

// checkExprs: every variable an expression uses exists, and every recorded
// series it reads (level:metric:operations) is recorded by rules/.
func checkExprs(t *testing.T, d *dashboard) {
	t.Helper()
	sets, err := d.variableSets(scrapeInterval, staticValues)
	if err != nil {
		t.Fatalf("variables: %v", err)
	}
	recorded := recordedNames(t)
	for _, e := range d.exprs() {
		for _, s := range sets {
			if _, err := interpolate(e.expr, s.vars); err != nil {
				t.Errorf("%s: %q: %v", e.key, e.expr, err)
				break // the same for every set
			}
		}
		for _, name := range recordedRefs(e.expr) {
			if !recorded[name] {
				t.Errorf("%s: reads %s, which no rule in rules/ records", e.key, name)
			}
		}
	}
}

var (
	stringRE      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	recordedRefRE = regexp.MustCompile(`\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_]`)
)

func recordedRefs(expr string) []string {
	return recordedRefRE.FindAllString(stringRE.ReplaceAllString(expr, `""`), -1)
}

func recordedNames(t *testing.T) map[string]bool {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(repoRoot(t), "rules", "*.rules.yml"))
	names := map[string]bool{}
	for _, p := range paths {
		for _, g := range asList(readYAML(t, p)["groups"]) {
			for _, r := range asList(g.(doc)["rules"]) {
				if rec, ok := r.(doc)["record"].(string); ok {
					names[rec] = true
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("got no recording rules in rules/*.rules.yml")
	}
	return names
}

// TestDashboardPromQL parses every expression, variables filled in, with
// promtool (as recording rules), Debian's and the pinned Prometheus 3's: a
// syntax error fails here without root. TestPipeline evaluates them in a
// running Prometheus.
func TestDashboardPromQL(t *testing.T) {
	t.Run("debian", func(t *testing.T) {
		checkDashboardPromQL(t, requireTools(t, "promtool")["promtool"])
	})
	t.Run("prometheus-"+pinnedVersions(t)["PROMETHEUS3_VERSION"], func(t *testing.T) {
		path := filepath.Join(toolsDir(t), "prometheus-"+pinnedVersions(t)["PROMETHEUS3_VERSION"], "promtool")
		checkDashboardPromQL(t, requireFiles(t, map[string]string{"promtool": path})["promtool"])
	})
}

func checkDashboardPromQL(t *testing.T, promtool string) {
	t.Helper()
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	var keys, exprs []string
	for _, d := range loadDashboards(t) {
		sets, err := d.variableSets(scrapeInterval, staticValues)
		if err != nil {
			t.Fatalf("%s: variables: %v", d.path, err)
		}
		for _, e := range d.exprs() {
			for _, s := range sets {
				q, err := interpolate(e.expr, s.vars)
				if err != nil {
					continue // TestDashboard reports it
				}
				keys = append(keys, fmt.Sprintf("%s: %s (%s)", filepath.Base(d.path), e.key, s.name))
				exprs = append(exprs, q)
				fmt.Fprintf(&rules, "      - record: dashboard_expr_%d\n        expr: %q\n", len(keys), q)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err == nil {
		return
	}
	t.Errorf("promtool check rules on the dashboard's %d expressions: %v\n%s", len(keys), err, out)
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`dashboard_expr_(\d+)`).FindAllStringSubmatch(string(out), -1) {
		if i, _ := strconv.Atoi(m[1]); i > 0 && i <= len(keys) && !seen[m[1]] {
			seen[m[1]] = true
			t.Errorf("%s: got a parse error for %s", keys[i-1], exprs[i-1])
		}
	}
}

// TestGrafanaProvisioning: the datasource is the shipped Prometheus, with
// its scrape interval as timeInterval (Grafana derives $__rate_interval
// from it), and the dashboard provider reads where compose mounts the
// dashboards.
func TestGrafanaProvisioning(t *testing.T) {
	root := repoRoot(t)
	prom := readYAML(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"))
	scrape := fmt.Sprint(prom["global"].(doc)["scrape_interval"])
	for _, p := range provisionedDatasources(t) {
		if p.Type != "prometheus" || p.UID == "" || p.URL != "http://127.0.0.1:9090" {
			t.Errorf("datasource %q: got type %q uid %q url %q, want a prometheus with a uid at http://127.0.0.1:9090", p.Name, p.Type, p.UID, p.URL)
		}
		if p.JSONData.TimeInterval != scrape {
			t.Errorf("datasource %q: got timeInterval %q, want the scrape_interval %q of prometheus.yml", p.Name, p.JSONData.TimeInterval, scrape)
		}
	}
	prov := readYAML(t, filepath.Join(root, "deploy/grafana/provisioning/dashboards/downtime.yml"))
	compose, err := os.ReadFile(filepath.Join(root, "deploy/docker/compose.yml"))
	if err != nil {
		t.Fatalf("read compose file: %v", err)
	}
	for _, p := range asList(prov["providers"]) {
		path := fmt.Sprint(p.(doc)["options"].(doc)["path"])
		if mount := "../grafana/dashboards:" + path; !strings.Contains(string(compose), mount) {
			t.Errorf("dashboard provider path %q: compose.yml has no volume %q", path, mount)
		}
	}
}
