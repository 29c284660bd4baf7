package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// TestTopology builds a small network and checks that one cause gives one
// notification (rules/README.md, "One cause, one message"):
//
//	            ┌─ router ─┬─ h1     exporter "main" in mon (no vantage label):
//	mon ────────┤          └─ h2       router; h1, h2 with parent router;
//	 │          ├─ out1                out1, out2
//	 │          └─ out2
//	 ├──────────── t          exporters "a" (in mon) and "b" (in v2), with
//	 └── v2 ────── t             vantage labels a and b, both ping t
//
// Alertmanager's webhook notifications go to a listener of the test, so the
// notifications themselves are counted, and to the real receiver, whose
// Telegram messages (to a fake Bot API) are counted too: one per incident,
// naming the cause.
func TestTopology(t *testing.T) {
	netns.Require(t, "nft")
	tools := requireTools(t, "go", "prometheus", "prometheus-alertmanager|alertmanager")
	top := startTopology(t, tools)

	t.Run("dead router: one notification, for the router", func(t *testing.T) {
		top.incident(t, func() { top.router.nft(t, routerDrop) }, func() { top.router.nft(t, "") },
			[]string{"HostDown/" + top.routerAddr}, "is down — 2 hosts behind it are unreachable too")
		top.checkBehind(t)
	})
	t.Run("one host behind the router down alone: its own HostDown", func(t *testing.T) {
		top.incident(t, func() { top.lan[0].Down(t) }, func() { top.lan[0].Up(t); top.routes(t) },
			[]string{"HostDown/" + top.lan[0].AddrB.String()}, top.lan[0].AddrB.String()+" is down\n")
	})
	t.Run("a host cut off from one vantage only: HostPathDown, no HostDown", func(t *testing.T) {
		top.incident(t, func() { top.tFromV2.Down(t) }, func() { top.tFromV2.Up(t) },
			[]string{"HostPathDown/" + top.tAddr}, "is unreachable from b only: a path problem, not down")
	})
	t.Run("the prober's own links down: one ProberCutOff", func(t *testing.T) {
		top.incident(t, func() { top.monLinks(t, "down") }, func() { top.monLinks(t, "up"); top.routes(t) },
			[]string{"ProberCutOff/"}, "cannot reach any of its 5 hosts: its own network is likely down")
	})
}

// routerDrop makes the router forward and answer nothing.
const routerDrop = `table inet dtkill {
	chain input { type filter hook input priority filter - 20; policy drop; }
	chain forward { type filter hook forward priority filter - 20; policy drop; }
}
`

type nsT struct{ *netns.NS }

// nft replaces the test's nftables table in n with script ("" removes it).
func (n nsT) nft(t *testing.T, script string) {
	t.Helper()
	full := "table inet dtkill\ndelete table inet dtkill\n" + script
	cmd := n.Command(t.Context(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(full)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v: %s", n.Name, err, out)
	}
}

type topology struct {
	mon        *netns.NS
	router     nsT
	routerAddr string
	monRouter  *netns.Link
	lan        []*netns.Link // router - h1, h2
	out        []*netns.Link // mon - out1, out2
	tFromV2    *netns.Link   // v2 - t
	tAddr      string
	hook       *hook
	tg         *telegramtest.Server
}

func ipIn(t *testing.T, ns *netns.NS, args ...string) {
	t.Helper()
	if out, err := ns.Command(t.Context(), "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v in %s: %v: %s", args, ns.Name, err, out)
	}
}

func startTopology(t *testing.T, tools map[string]string) *topology {
	t.Helper()
	dir := t.TempDir()
	exporter, receiver := buildBinaries(t, dir)
	mon, router, v2, tns := netns.New(t), netns.New(t), netns.New(t), netns.New(t)
	top := &topology{mon: mon, router: nsT{router}}
	top.monRouter = netns.Connect(t, mon, router)
	top.routerAddr = top.monRouter.AddrB.String()
	router.Sysctl(t, "net.ipv4.ip_forward", "1")
	for range 2 {
		top.lan = append(top.lan, netns.Connect(t, router, netns.New(t)))
	}
	top.routes(t)
	for range 2 {
		top.out = append(top.out, netns.Connect(t, mon, netns.New(t)))
	}
	// t has one address (its end of mon - t); v2 reaches it over its own link.
	monT := netns.Connect(t, mon, tns)
	top.tAddr = monT.AddrB.String()
	top.tFromV2 = netns.Connect(t, v2, tns)
	ipIn(t, v2, "route", "add", top.tAddr+"/32", "via", top.tFromV2.AddrB.String())
	monV2 := netns.Connect(t, mon, v2)

	top.hook = listenHook(t, mon)
	l, err := mon.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for fake Telegram in %s: %v", mon.Name, err)
	}
	top.tg = telegramtest.NewServerOn(l, botToken)
	t.Cleanup(top.tg.Close)
	mainCfg := filepath.Join(dir, "targets.yml")
	targets := fmt.Sprintf("targets:\n  - host: %s\n", top.routerAddr)
	for _, l := range top.lan {
		targets += fmt.Sprintf("  - host: %s\n    parent: %s\n", l.AddrB, top.routerAddr)
	}
	for _, l := range top.out {
		targets += fmt.Sprintf("  - host: %s\n", l.AddrB)
	}
	if err := os.WriteFile(mainCfg, []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}
	v2Addr := monV2.AddrB.String() + ":9426"
	cfg := writeTopologyConfigs(t, dir, top.hook.url, v2Addr)
	ping := []string{"--ping.interval=" + dur(pingInterval), "--ping.timeout=" + dur(pingInterval)}
	hc := mon.HTTPClient()
	exporters := []*proc{
		start(t, mon, dir, "exporter-main", nil, exporter,
			append(ping, "--web.listen-address=127.0.0.1:9426", "--config.file="+mainCfg)...),
		start(t, mon, dir, "exporter-a", nil, exporter,
			append(ping, "--web.listen-address=127.0.0.1:9436", top.tAddr)...),
		start(t, v2, dir, "exporter-b", nil, exporter,
			append(ping, "--web.listen-address="+v2Addr, top.tAddr)...),
	}
	for i, u := range []string{"127.0.0.1:9426", "127.0.0.1:9436", v2Addr} {
		waitReady(t, hc, exporters[i], "http://"+u+"/-/ready")
	}
	rcv := start(t, mon, dir, "receiver", []string{"TELEGRAM_BOT_TOKEN=" + botToken, "TELEGRAM_CHAT_ID=" + chatID}, receiver,
		"--config.file="+cfg.receiver, "--web.listen-address=127.0.0.1:9427",
		"--storage.path="+dir+"/receiver-data", "--telegram.api-url="+top.tg.URL)
	waitReady(t, hc, rcv, "http://127.0.0.1:9427/-/ready")
	am := start(t, mon, dir, "alertmanager", nil, tools["prometheus-alertmanager|alertmanager"],
		"--config.file="+cfg.alertmanager, "--storage.path="+dir+"/alertmanager-data",
		"--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=")
	prom := start(t, mon, dir, "prometheus", nil, tools["prometheus"],
		"--config.file="+cfg.prometheus, "--storage.tsdb.path="+dir+"/prometheus-data",
		"--web.listen-address=127.0.0.1:9090")
	waitReady(t, hc, am, "http://127.0.0.1:9093/-/ready")
	waitReady(t, hc, prom, "http://127.0.0.1:9090/-/ready")
	// Every target answers, from every exporter, and the topology is known.
	waitQuery(t, hc, `count(ping_up == 1) == 7`, 30*time.Second)
	waitQuery(t, hc, `count(target:ping_parent:info) == 2`, 10*time.Second)
	checkRuleHealth(t, hc)
	return top
}

// routes sets the routes through the router (again: the kernel drops the
// routes of a link that goes down).
func (top *topology) routes(t *testing.T) {
	t.Helper()
	for _, l := range top.lan {
		ipIn(t, l.B, "route", "replace", "default", "via", l.AddrA.String())
		ipIn(t, top.mon, "route", "replace", l.AddrB.String()+"/32", "via", top.monRouter.AddrB.String())
	}
}

// monLinks takes mon's ends of the links of exporter "main" down or up: its
// own network fails, the vantage exporters' links stay.
func (top *topology) monLinks(t *testing.T, state string) {
	t.Helper()
	for _, l := range append([]*netns.Link{top.monRouter}, top.out...) {
		ipIn(t, top.mon, "link", "set", l.IfA, state)
	}
}

// incident causes a failure, waits for the notifications, checks that
// exactly the wanted alerts (alertname/target) were notified as firing and
// that the receiver sent exactly one Telegram message, containing say,
// repairs it and waits until they are resolved and nothing fires.
func (top *topology) incident(t *testing.T, fail, repair func(), want []string, say string) {
	t.Helper()
	start := len(top.hook.all())
	tgStart := len(top.tg.Messages())
	fail()
	failedAt := time.Now()
	// Long enough for a HostDown of any host behind to fire too, had the
	// rules let it (ProberCutOff and HostPathDown have the same "for").
	deadline := failedAt.Add(detectionBound() + 5*time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	got := firing(top.hook.all()[start:])
	var sent []telegramtest.Sent // firing messages; a late recovery of the previous incident is not one
	for _, m := range top.tg.Messages()[tgStart:] {
		if !strings.HasPrefix(m.Plain, "✅") {
			sent = append(sent, m)
		}
	}
	repair()
	if !slices.Equal(got, want) {
		t.Errorf("got firing notifications for %v, want exactly %v", got, want)
	}
	if len(sent) != 1 || !strings.Contains(sent[0].Plain, say) {
		t.Errorf("got Telegram messages %q, want exactly one containing %q", plains(sent), say)
	}
	// Resolved, and nothing left firing, before the next incident.
	hc := top.mon.HTTPClient()
	waitQuery(t, hc, `count(ping_up == 1) == 7`, 20*time.Second)
	if err := waitFor(hc, `ALERTS{alertname=~"HostDown|HostPathDown|HostUnreachableBehindParent|ProberCutOff"}`, 20*time.Second); err != nil {
		t.Errorf("after the repair: %v", err)
	}
	end := time.Now().Add(recoveryBound())
	for time.Now().Before(end) && !top.hook.resolved(want, start) {
		time.Sleep(200 * time.Millisecond)
	}
	if !top.hook.resolved(want, start) {
		t.Errorf("no resolved notification for %v within %v", want, recoveryBound())
	}
	t.Logf("%v: firing %v, Telegram %q, repaired after %v", want, got, plains(sent), time.Since(failedAt).Round(time.Second))
}

// waitFor waits until q returns nothing.
func waitFor(hc *http.Client, q string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		res, err := query(hc, q)
		if err == nil && len(res) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("query %q: got %v (error %v) after %v, want nothing", q, res, err, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkBehind: while the router was down, the hosts behind it were listed
// as HostUnreachableBehindParent in Alertmanager (for the receiver), routed
// to no chat. Checked from Prometheus's record of the alert.
func (top *topology) checkBehind(t *testing.T) {
	t.Helper()
	res, err := query(top.mon.HTTPClient(),
		fmt.Sprintf(`count(max_over_time(ALERTS{alertname="HostUnreachableBehindParent",alertstate="firing",parent=%q}[2m]))`, top.routerAddr))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if len(res) != 1 || res[0].Value[1] != "2" {
		t.Errorf("got HostUnreachableBehindParent count %v, want 2 (h1 and h2)", res)
	}
}

// notification is the part of Alertmanager's webhook payload the test reads.
type notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

type hook struct {
	url  string
	mu   sync.Mutex
	got  []notification
	errs []error
}

// listenHook receives Alertmanager's webhook notifications inside ns.
func listenHook(t *testing.T, ns *netns.NS) *hook {
	t.Helper()
	l, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &hook{url: "http://" + l.Addr().String() + "/webhook"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		err := json.NewDecoder(r.Body).Decode(&n)
		h.mu.Lock()
		if err != nil {
			h.errs = append(h.errs, err)
		} else {
			h.got = append(h.got, n)
		}
		h.mu.Unlock()
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, err := range h.errs {
			t.Errorf("webhook payload: %v", err)
		}
	})
	return h
}

func (h *hook) all() []notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// key names an alert as alertname/target.
func key(labels map[string]string) string { return labels["alertname"] + "/" + labels["target"] }

// firing lists the alerts notified as firing, sorted, each once.
func firing(ns []notification) []string {
	var out []string
	for _, n := range ns {
		for _, a := range n.Alerts {
			if k := key(a.Labels); a.Status == "firing" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// resolved reports whether every alert of want was notified as resolved
// since notification number start.
func (h *hook) resolved(want []string, start int) bool {
	var done []string
	for _, n := range h.all()[start:] {
		for _, a := range n.Alerts {
			if a.Status == "resolved" {
				done = append(done, key(a.Labels))
			}
		}
	}
	for _, w := range want {
		if !slices.Contains(done, w) {
			return false
		}
	}
	return true
}

// writeTopologyConfigs derives the configs from the shipped ones: the e2e
// timings (writeConfigs), the same short "for" for the new alerts, three
// exporters in job "ping" (two with a vantage label), and every
// notification to the test's webhook.
func writeTopologyConfigs(t *testing.T, dir, hookURL, v2Addr string) configs {
	t.Helper()
	root := repoRoot(t)
	c := configs{prometheus: filepath.Join(dir, "prometheus.yml"), alertmanager: filepath.Join(dir, "alertmanager.yml")}
	rules := filepath.Join(dir, "rules", "downtime.rules.yml")
	rd := rulesConfig(t, filepath.Join(root, "rules", "downtime.rules.yml"))
	for _, g := range rd["groups"].([]any) {
		var kept []any
		for _, r := range g.(doc)["rules"].([]any) {
			switch rule := r.(doc); rule["alert"] {
			case "ProberCutOff", "HostUnreachableBehindParent", "HostPathDown":
				rule["for"] = dur(hostDownFor)
			case "HostFlapping":
				// The test takes the hosts behind the router down 3 times
				// within 10 minutes: flapping by HostFlapping's definition,
				// which the test does not exercise.
				continue
			case "Watchdog", "DowntimeReceiverDown":
				// Every webhook goes to the test's hook here: the heartbeat
				// (every minute) and the receiver this test does not run
				// would be notifications of their own.
				continue
			}
			kept = append(kept, r)
		}
		g.(doc)["rules"] = kept
	}
	writeYAML(t, rules, rd)
	pd := prometheusConfig(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"), rules)
	pd["scrape_configs"] = []any{doc{"job_name": "ping", "static_configs": []any{
		doc{"targets": []any{"127.0.0.1:9426"}},
		doc{"targets": []any{"127.0.0.1:9436"}, "labels": doc{"vantage": "a"}},
		doc{"targets": []any{v2Addr}, "labels": doc{"vantage": "b"}},
	}}}
	writeYAML(t, c.prometheus, pd)
	password := filepath.Join(dir, "webhook_password")
	if err := os.WriteFile(password, []byte("e2e-webhook-password\n"), 0o600); err != nil {
		t.Fatalf("write password: %v", err)
	}
	ad := alertmanagerConfig(t, filepath.Join(root, "deploy/alertmanager/alertmanager.yml"), password)
	for _, rc := range ad["receivers"].([]any) {
		var whs []any
		for _, wh := range asList(rc.(doc)["webhook_configs"]) {
			// The receiver as shipped (127.0.0.1:9427), and the test's listener.
			toHook := doc{}
			for k, v := range wh.(doc) {
				toHook[k] = v
			}
			toHook["url"] = hookURL
			whs = append(whs, wh, toHook)
		}
		if whs != nil {
			rc.(doc)["webhook_configs"] = whs
		}
	}
	writeYAML(t, c.alertmanager, ad)
	c.receiver = filepath.Join(dir, "receiver.yml")
	writeYAML(t, c.receiver, receiverConfig(t, filepath.Join(root, "deploy/receiver/receiver.yml"), password))
	return c
}
