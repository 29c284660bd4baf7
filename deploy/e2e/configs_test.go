package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Timings of the test pipeline. The shipped defaults are 1 s / 10 s / 10 s /
// 20 s / 10 s / 10 s; the test shortens them, nothing else.
const (
	pingInterval   = 200 * time.Millisecond
	upWindow       = 5 * pingInterval // the exporter's ping_up window
	scrapeInterval = time.Second
	evalInterval   = time.Second
	hostDownFor    = 3 * time.Second
	// exporterDownFor is PingExporterDown's "for" (shipped: 1m).
	exporterDownFor = 2 * time.Second
	// outageLength is how long the host's link stays down.
	outageLength  = 25 * time.Second
	groupWait     = time.Second
	groupInterval = time.Second
	// sendBudget covers the receiver (durable queue, worker, one Bot API
	// call) and process scheduling on a loaded 2-core machine.
	sendBudget = 3 * time.Second
)

// detectionBound is the longest a firing message may take after the link
// goes down (deploy/README.md, "Detection latency"): ping_up turns 0 one
// up-window after the last reply (at the latest the one to a request sent
// just before the outage), the next scrape sees it, the next evaluation
// starts "for", Alertmanager waits group_wait for the new group, the
// receiver sends.
func detectionBound() time.Duration {
	return upWindow + scrapeInterval + evalInterval + hostDownFor + groupWait + sendBudget
}

// recoveryBound is the same for the resolved message after the link is up:
// the first reply, the next scrape, the next evaluation, the next flush of
// the group (group_interval), the receiver.
func recoveryBound() time.Duration {
	return pingInterval + scrapeInterval + evalInterval + groupInterval + sendBudget
}

// replySlack covers a reply in flight while the link goes down and the
// exporter stamping a reply a little after it arrived.
const replySlack = 100 * time.Millisecond

// The reported start is the host's last reply (HostDown's downtime_since
// annotation): one ping interval before the link went down when no probe
// is lost or late, but a lost or late probe (seen: 569 ms under -race on 2
// busy cores) moves it back, by at most the up-window while the host still
// counted as up. startEarly and startLate bound reported start minus link
// down.
const (
	startEarly = -upWindow
	startLate  = replySlack
)

// endLag is how long after the link comes up the alert resolves (its
// endsAt, the reported end): the first reply (ping interval), the next
// scrape, the next evaluation.
const endLag = pingInterval + scrapeInterval + evalInterval

// durationBounds bound the reported downtime minus the real outage: the
// start may be late by startLate or early by -startEarly, the end late by
// endLag (plus slack for the scrape itself), and the message shows whole
// seconds (truncated: up to 1 s less; its "from → to" clock times each
// truncated: up to 1 s either way).
func durationBounds() (lo, hi time.Duration) {
	return -startLate - time.Second, -startEarly + endLag + replySlack + time.Second
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

type doc = map[string]any

func readYAML(t *testing.T, path string) doc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read shipped config: %v", err)
	}
	var d doc
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return d
}

func writeYAML(t *testing.T, path string, d doc) {
	t.Helper()
	b, err := yaml.Marshal(d)
	if err != nil {
		t.Fatalf("marshal %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("config dir: %v", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func dur(d time.Duration) string { return model.Duration(d).String() }

// configs are the paths of the generated configuration files.
type configs struct {
	prometheus, alertmanager, receiver string
}

// pipelineOptions change the test's configs beyond the shortened
// intervals every pipeline has.
type pipelineOptions struct {
	// nativeHistograms sets scrape_native_histograms: true on the ping
	// job (Prometheus 3): ping_rtt_seconds arrives as a native histogram
	// only, without ping_rtt_seconds_bucket.
	nativeHistograms bool
	// fors shortens more alerts: alert name -> {for, downtime_for}.
	fors map[string][2]time.Duration
	// groupInterval, when set, replaces every rule group's own interval
	// (the 5 m of downtime-recording-long, the latency baseline).
	groupInterval time.Duration
}

// writeConfigs derives the test's configs from the shipped ones into dir.
func writeConfigs(t *testing.T, dir string) configs {
	t.Helper()
	root := repoRoot(t)
	c := configs{
		prometheus:   filepath.Join(dir, "prometheus.yml"),
		alertmanager: filepath.Join(dir, "alertmanager.yml"),
		receiver:     filepath.Join(dir, "receiver.yml"),
	}
	password := filepath.Join(dir, "webhook_password")
	if err := os.WriteFile(password, []byte("e2e-webhook-password\n"), 0o600); err != nil {
		t.Fatalf("write password: %v", err)
	}
	rules := filepath.Join(dir, "rules", "downtime.rules.yml")
	writeYAML(t, rules, rulesConfig(t, filepath.Join(root, "rules", "downtime.rules.yml")))
	writeYAML(t, c.prometheus, prometheusConfig(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"), rules))
	writeYAML(t, c.alertmanager, alertmanagerConfig(t, filepath.Join(root, "deploy/alertmanager/alertmanager.yml"), password))
	writeYAML(t, c.receiver, receiverConfig(t, filepath.Join(root, "deploy/receiver/receiver.yml"), password))
	return c
}

// writeConfigsWith is writeConfigs, then opts applied to the rules and the
// Prometheus config it wrote.
func writeConfigsWith(t *testing.T, dir string, opts pipelineOptions) configs {
	t.Helper()
	c := writeConfigs(t, dir)
	if len(opts.fors) > 0 || opts.groupInterval > 0 {
		rules := filepath.Join(dir, "rules", "downtime.rules.yml")
		writeYAML(t, rules, rulesConfigWith(t, filepath.Join(repoRoot(t), "rules", "downtime.rules.yml"), opts))
	}
	if opts.nativeHistograms {
		prom := readYAML(t, c.prometheus)
		setNativeHistograms(t, prom)
		writeYAML(t, c.prometheus, prom)
	}
	return c
}

// rulesConfig shortens the "for" of HostDown and PingExporterDown and keeps
// their downtime_for annotations consistent with it.
func rulesConfig(t *testing.T, path string) doc {
	t.Helper()
	return rulesConfigWith(t, path, pipelineOptions{})
}

// rulesConfigWith is rulesConfig plus opts.fors and opts.groupInterval.
func rulesConfigWith(t *testing.T, path string, opts pipelineOptions) doc {
	t.Helper()
	d := readYAML(t, path)
	changes := map[string][2]time.Duration{ // alert: for, downtime_for
		"HostDown":         {hostDownFor, upWindow + hostDownFor},
		"PingExporterDown": {exporterDownFor, exporterDownFor},
	}
	for name, c := range opts.fors {
		changes[name] = c
	}
	found := 0
	for _, g := range d["groups"].([]any) {
		group := g.(doc)
		if _, ok := group["interval"]; ok && opts.groupInterval > 0 {
			group["interval"] = dur(opts.groupInterval)
		}
		for _, r := range group["rules"].([]any) {
			rule := r.(doc)
			c, ok := changes[fmt.Sprint(rule["alert"])]
			if !ok {
				continue
			}
			rule["for"] = dur(c[0])
			rule["annotations"].(doc)["downtime_for"] = dur(c[1])
			found++
		}
	}
	if found != len(changes) {
		t.Fatalf("%s: found %d of the rules %v", path, found, changes)
	}
	return d
}

func prometheusConfig(t *testing.T, path, rules string) doc {
	t.Helper()
	d := readYAML(t, path)
	g := d["global"].(doc)
	g["scrape_interval"] = dur(scrapeInterval)
	g["scrape_timeout"] = dur(scrapeInterval)
	g["evaluation_interval"] = dur(evalInterval)
	d["rule_files"] = []any{rules}
	return d
}

// setNativeHistograms turns native histograms on for the ping job, as
// deploy/README.md tells Prometheus 3 users to.
func setNativeHistograms(t *testing.T, d doc) {
	t.Helper()
	for _, sc := range d["scrape_configs"].([]any) {
		if job := sc.(doc); job["job_name"] == "ping" {
			job["scrape_native_histograms"] = true
			return
		}
	}
	t.Fatalf("prometheus config: no scrape config for job ping")
}

func alertmanagerConfig(t *testing.T, path, password string) doc {
	t.Helper()
	d := readYAML(t, path)
	r := d["route"].(doc)
	r["group_wait"] = dur(groupWait)
	r["group_interval"] = dur(groupInterval)
	for _, rc := range d["receivers"].([]any) {
		for _, wh := range asList(rc.(doc)["webhook_configs"]) {
			auth := wh.(doc)["http_config"].(doc)["basic_auth"].(doc)
			auth["password_file"] = password
		}
	}
	return d
}

func receiverConfig(t *testing.T, path, password string) doc {
	t.Helper()
	d := readYAML(t, path)
	d["timezone"] = "UTC"
	auth := d["webhook_auth"].(doc)["basic_auth"].(doc)
	auth["password_file"] = password
	return d
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// String of the bounds for logs and failure messages.
func boundsText() string {
	return fmt.Sprintf("detection bound %v = up-window %v + scrape %v + eval %v + for %v + group_wait %v + send %v; "+
		"recovery bound %v = ping interval %v + scrape + eval + group_interval %v + send",
		detectionBound(), upWindow, scrapeInterval, evalInterval, hostDownFor, groupWait, sendBudget,
		recoveryBound(), pingInterval, groupInterval)
}
