package e2e

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const (
	botToken = "123456:e2e-secret-token"
	chatID   = "-1001234567890"
)

// pipeline is the running stack.
type pipeline struct {
	ns   *netns.NS
	link *netns.Link
	host string // the monitored address, also the alert's target label
	tg   *telegramtest.Server
	// exporter is stalled once during the outage.
	exporter *proc
}

// TestPipeline takes a host down and up again and checks what reaches
// Telegram, and when: once per stack (Debian's Prometheus 2 and
// Alertmanager 0.25, the pinned Prometheus 3 and Alertmanager 0.31), all at
// the same time.
func TestPipeline(t *testing.T) {
	t.Parallel() // with TestNativeHistograms
	netns.Require(t, "nft")
	requireTools(t, "go")
	forEachStack(t, func(t *testing.T, s stack) {
		p := startPipeline(t, s.find(t))
		p.checkVersions(t, s)

		t.Run("no alert while the host answers, also with 20% loss", func(t *testing.T) {
			p.noAlert(t)
		})
		if t.Failed() {
			return
		}
		t.Run("dashboard queries evaluate, with data", func(t *testing.T) {
			p.checkDashboard(t, wantHealthy)
		})
		p.outage(t)
	})
}

func startPipeline(t *testing.T, tools map[string]string) *pipeline {
	t.Helper()
	return startPipelineWith(t, tools, pipelineOptions{})
}

// startPipelineWith is startPipeline with the configs changed by opts.
func startPipelineWith(t *testing.T, tools map[string]string, opts pipelineOptions) *pipeline {
	t.Helper()
	dir := t.TempDir()
	exporter, receiver := buildBinaries(t, dir)
	cfg := writeConfigsWith(t, dir, opts)
	ns, host := netns.New(t), netns.New(t)
	link := netns.Connect(t, ns, host)
	l, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for fake Telegram in %s: %v", ns.Name, err)
	}
	tg := telegramtest.NewServerOn(l, botToken)
	t.Cleanup(tg.Close)
	p := &pipeline{ns: ns, link: link, host: link.AddrB.String(), tg: tg}
	hc := ns.HTTPClient()

	procs := []*proc{
		start(t, ns, dir, "exporter", nil, exporter,
			"--web.listen-address=127.0.0.1:9426", "--ping.interval="+dur(pingInterval),
			"--ping.timeout="+dur(pingInterval), p.host),
		start(t, ns, dir, "receiver", []string{"TELEGRAM_BOT_TOKEN=" + botToken, "TELEGRAM_CHAT_ID=" + chatID}, receiver,
			"--config.file="+cfg.receiver, "--web.listen-address=127.0.0.1:9427",
			"--storage.path="+dir+"/receiver-data", "--telegram.api-url="+tg.URL),
		start(t, ns, dir, "alertmanager", nil, tools["prometheus-alertmanager|alertmanager"],
			"--config.file="+cfg.alertmanager, "--storage.path="+dir+"/alertmanager-data",
			"--web.listen-address=127.0.0.1:9093", "--cluster.listen-address="),
		start(t, ns, dir, "prometheus", nil, tools["prometheus"],
			"--config.file="+cfg.prometheus, "--storage.tsdb.path="+dir+"/prometheus-data",
			"--web.listen-address=127.0.0.1:9090",
			// Targets reach the scrape manager at most every 5 s (hidden
			// flag, in 2.42 too); Prometheus 3 applies even the first
			// ones only then, and the shortened PingExporterDown (2 s)
			// would fire on absent(up) at every start.
			"--scrape.discovery-reload-interval="+dur(scrapeInterval)),
	}
	for i, port := range []string{"9426", "9427", "9093", "9090"} {
		waitReady(t, hc, procs[i], "http://127.0.0.1:"+port+"/-/ready")
	}
	p.exporter = procs[0]
	waitQuery(t, hc, `ping_up{target="`+p.host+`"} == 1`, 30*time.Second)
	waitQuery(t, hc, `ALERTS{alertname="Watchdog",alertstate="firing"}`, 10*time.Second)
	return p
}

// noAlert: a healthy host, then 20 % random loss, and no HostDown at all.
func (p *pipeline) noAlert(t *testing.T) {
	hc := p.ns.HTTPClient()
	time.Sleep(3 * time.Second)
	hostNS := p.link.B // drops incoming echo requests at random
	hostNS.SetLoss(t, 20)
	time.Sleep(20 * time.Second)
	loss, err := query(hc, `1 - increase(ping_responses_total[15s]) / increase(ping_requests_total[15s])`)
	hostNS.SetLoss(t, 0)
	if err != nil {
		t.Fatalf("loss query: %v", err)
	}
	if len(loss) == 1 {
		t.Logf("measured loss over 15 s at 20%% nft loss: %v", loss[0].Value[1])
	}
	fired, err := query(hc, `max_over_time(ALERTS{alertname="HostDown",alertstate="firing"}[1m])`)
	if err != nil {
		t.Fatalf("ALERTS query: %v", err)
	}
	if len(fired) != 0 {
		t.Errorf("got HostDown firing during the loss phase: %v, want none", fired)
	}
	if m := p.tg.Messages(); len(m) != 0 {
		t.Errorf("got %d Telegram messages (first: %q), want none", len(m), m[0].Plain)
	}
	checkRuleHealth(t, hc)
}

var resolvedRE = regexp.MustCompile(`is up after (\S+) \(down (\d\d:\d\d:\d\d) → (\d\d:\d\d:\d\d)\)`)

// outage takes the link down, waits for the firing message, stalls the
// exporter for a moment, keeps the host down a while, brings it back and
// checks the resolved message.
func (p *pipeline) outage(t *testing.T) {
	t.Logf("%s", boundsText())
	down := time.Now()
	p.link.Down(t)
	firing := p.waitSent(t, "firing message naming "+p.host, detectionBound(), func(m telegramtest.Sent) bool {
		return strings.Contains(m.Plain, p.host) && strings.Contains(m.Plain, "is down")
	})
	detection := firing.At.Sub(down)
	t.Logf("firing message after %v (bound %v): %q", detection.Round(time.Millisecond), detectionBound(), firing.Plain)
	p.checkReportedStart(t, down)
	t.Run("dashboard shows the host down", func(t *testing.T) {
		p.checkDashboard(t, wantDown)
	})

	p.exporterStall(t)
	time.Sleep(time.Until(down.Add(outageLength)))
	p.link.Up(t)
	up := time.Now()
	outage := up.Sub(down)
	resolved := p.waitSent(t, "resolved message naming "+p.host, recoveryBound(), func(m telegramtest.Sent) bool {
		return strings.Contains(m.Plain, p.host) && strings.Contains(m.Plain, "is up after")
	})
	recovery := resolved.At.Sub(up)
	t.Logf("resolved message after %v (bound %v): %q", recovery.Round(time.Millisecond), recoveryBound(), resolved.Plain)
	t.Logf("detection %v, recovery %v, real outage %v", detection.Round(time.Millisecond),
		recovery.Round(time.Millisecond), outage.Round(time.Millisecond))
	if resolved.ReplyTo != firing.MessageID {
		t.Errorf("got resolved message replying to %d, want the firing message %d", resolved.ReplyTo, firing.MessageID)
	}
	checkReportedDowntime(t, resolved.Plain, p.host, outage)
	p.checkEdited(t, firing.MessageID)
	p.checkOnlyOnce(t)
}

// exporterStall stops the exporter (SIGSTOP: scrapes time out) until
// PingExporterDown fires and Alertmanager shows HostDown inhibited by it,
// then lets it run again. HostDown must neither resolve nor restart
// meanwhile: the final resolved message still replies to the first firing
// one and counts the whole outage (checked by the caller).
func (p *pipeline) exporterStall(t *testing.T) {
	t.Helper()
	stopped := time.Now()
	if err := p.exporter.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop exporter: %v", err)
	}
	defer func() {
		if err := p.exporter.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatalf("resume exporter: %v", err)
		}
	}()
	bound := scrapeInterval + evalInterval + exporterDownFor + 3*time.Second
	deadline := stopped.Add(bound)
	for {
		state, by, err := alertStatus(p.ns.HTTPClient(), "HostDown")
		if err == nil && state == "suppressed" && len(by) > 0 {
			t.Logf("HostDown inhibited %v after the exporter stalled", time.Since(stopped).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HostDown in Alertmanager: got state %q inhibited by %v (error %v) %v after the exporter stalled, want suppressed by PingExporterDown",
				state, by, err, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSent waits until a message matching ok was sent; bound is how long it
// may take from now.
func (p *pipeline) waitSent(t *testing.T, what string, bound time.Duration, ok func(telegramtest.Sent) bool) telegramtest.Sent {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		for _, m := range p.tg.Messages() {
			if ok(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; messages: %q", what, bound, plains(p.tg.Messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkEdited waits for the firing message to be edited to "resolved".
func (p *pipeline) checkEdited(t *testing.T, id int) {
	t.Helper()
	deadline := time.Now().Add(recoveryBound())
	for {
		for _, e := range p.tg.Edits() {
			if e.MessageID == id && strings.Contains(e.Plain, "resolved after") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("got no edit of firing message %d to \"resolved\" within %v (edits: %v)", id, recoveryBound(), p.tg.Edits())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOnlyOnce: one firing and one resolved message for the host, nothing
// else but PingExporterDown's.
func (p *pipeline) checkOnlyOnce(t *testing.T) {
	t.Helper()
	count := 0
	for _, m := range p.tg.Messages() {
		switch {
		case strings.Contains(m.Plain, p.host):
			count++
		case strings.Contains(m.Plain, "127.0.0.1:9426"): // PingExporterDown
		default:
			t.Errorf("got unexpected message %q", m.Plain)
		}
	}
	if count != 2 {
		t.Errorf("got %d messages naming %s, want 2 (firing, resolved); all: %q", count, p.host, plains(p.tg.Messages()))
	}
}

func plains(msgs []telegramtest.Sent) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Plain)
	}
	return out
}

// checkReportedDowntime parses "is up after 14s (down 10:00:01 → 10:00:15)"
// and compares it with the real outage.
func checkReportedDowntime(t *testing.T, text, host string, outage time.Duration) {
	t.Helper()
	if !strings.Contains(text, host) {
		t.Errorf("got resolved message %q, want it to name %s", text, host)
	}
	m := resolvedRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("got resolved message %q, want \"is up after <duration> (down <from> → <to>)\"", text)
	}
	reported, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("resolved message %q: duration %q: %v", text, m[1], err)
	}
	from, err1 := time.Parse("15:04:05", m[2])
	to, err2 := time.Parse("15:04:05", m[3])
	if err1 != nil || err2 != nil {
		t.Fatalf("resolved message %q: times: %v %v", text, err1, err2)
	}
	lo, hi := durationBounds()
	t.Logf("reported downtime %v (%s → %s), real outage %v, error allowed %v..%v", reported, m[2], m[3],
		outage.Round(time.Millisecond), lo, hi)
	for _, got := range []time.Duration{reported, to.Sub(from)} {
		if diff := got - outage; diff < lo || diff > hi {
			t.Errorf("got reported downtime %v, want the real outage %v %+v..%+v", got, outage.Round(time.Millisecond), lo, hi)
		}
	}
}

// checkReportedStart compares the start the receiver reports for the firing
// HostDown alert (render.Since of what Alertmanager holds) with when the
// link went down, to the millisecond.
func (p *pipeline) checkReportedStart(t *testing.T, down time.Time) {
	t.Helper()
	a, err := amAlert(p.ns.HTTPClient(), "HostDown")
	if err != nil {
		t.Fatalf("HostDown in Alertmanager: %v", err)
	}
	since := render.Since(a)
	diff := since.Sub(down)
	t.Logf("reported start %s (downtime_since %q, downtime_for %q, startsAt %s): %+v from the link going down, allowed %+v..%+v",
		since.Format("15:04:05.000"), a.Annotations[render.SinceKey], a.Annotations[render.ForKey],
		a.StartsAt.Format("15:04:05.000"), diff.Round(time.Millisecond), startEarly, startLate)
	if diff < startEarly || diff > startLate {
		t.Errorf("got reported start %+v from the link going down, want %+v..%+v", diff.Round(time.Millisecond), startEarly, startLate)
	}
}
