package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

const (
	// latencyFor is HostHighLatency's "for" here (shipped: 10m).
	latencyFor = 2 * time.Second
	// slowRTT is the host's RTT in the latency phase: far above its
	// baseline (tens of microseconds in a namespace) and the 10 ms floor.
	slowRTT = 30 * time.Millisecond
)

// TestNativeHistograms runs the pinned Prometheus 3 with
// scrape_native_histograms: true on the ping job, so ping_rtt_seconds is
// stored as a native histogram and ping_rtt_seconds_bucket does not exist:
// the RTT recording rules, the latency baseline, the dashboard's RTT panels
// and HostHighLatency must work from the native histogram, up to the
// Telegram message. The baseline group runs every evaluation instead of
// every 5 m, and HostHighLatency's for is 2 s.
func TestNativeHistograms(t *testing.T) {
	t.Parallel()
	netns.Require(t, "nft")
	requireTools(t, "go")
	s := pinnedStack(t)
	p := startPipelineWith(t, s.find(t), pipelineOptions{
		nativeHistograms: true,
		fors:             map[string][2]time.Duration{"HostHighLatency": {latencyFor, latencyFor}},
		groupInterval:    evalInterval,
	})
	p.checkVersions(t, s)
	hc := p.ns.HTTPClient()
	target := `{target="` + p.host + `"}`

	waitQuery(t, hc, `ping_rtt_seconds`+target, 30*time.Second)
	res, err := query(hc, `ping_rtt_seconds`+target)
	if err != nil || len(res) != 1 || res[0].Histogram[1] == nil {
		t.Fatalf("ping_rtt_seconds: got %v (error %v), want one native histogram", res, err)
	}
	if res, err := query(hc, `ping_rtt_seconds_bucket`); err != nil || len(res) != 0 {
		t.Fatalf("ping_rtt_seconds_bucket: got %v (error %v), want no classic buckets stored", res, err)
	}
	p90 := `target:ping_rtt_seconds:quantile_rate5m{quantile="0.9",target="` + p.host + `"}`
	for _, q := range []string{
		`target:ping_rtt_seconds:quantile_rate5m{quantile="0.5",target="` + p.host + `"} > 0`,
		p90 + ` > 0 < 0.005`,
		`target:ping_rtt_seconds:quantile_rate5m{quantile="0.99",target="` + p.host + `"} > 0`,
		`target:ping_rtt_seconds:p50_median_1d` + target + ` > 0 < 0.005`,
	} {
		waitQuery(t, hc, q, 20*time.Second)
	}
	t.Run("dashboard queries evaluate, with data", func(t *testing.T) {
		p.checkDashboard(t, wantHealthy)
	})
	if res, err := query(hc, `ALERTS{alertname="HostHighLatency"}`); err != nil || len(res) != 0 {
		t.Fatalf("HostHighLatency before the latency phase: got %v (error %v), want none", res, err)
	}

	// HostHighLatency compares the p90 with the median over a day of the
	// 5 m median, and this Prometheus holds seconds, not a day: once the
	// replies are slow, that baseline turns slow too, after about three
	// times as long as the fast history. With a few seconds of history a
	// loaded machine let it turn before the alert fired (two misses in CI;
	// the diagnosis below showed the baseline at 30 ms). A minute of fast
	// history leaves minutes for the alert.
	waitQuery(t, hc, `count_over_time(target:ping_rtt_seconds:quantile_rate5m{quantile="0.5",target="`+p.host+`"}[1d]) >= 60`, 3*time.Minute)
	// If the message does not come, say what Prometheus saw (runs before
	// the pipeline's own clean-ups stop it): a miss was seen once in CI
	// with nothing in the logs.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, q := range []string{
			`ALERTS`, p90, `target:ping_rtt_seconds:p50_median_1d` + target, `ping_up` + target,
			`increase(ping_responses_total` + target + `[1m])`, `increase(ping_requests_total` + target + `[1m])`,
			`histogram_count(rate(ping_rtt_seconds` + target + `[1m]))`,
		} {
			res, err := query(hc, q)
			t.Logf("diagnosis: %s = %v (error %v)", q, res, err)
		}
	})
	slow := time.Now()
	p.link.B.EchoResponder(t, slowRTT)
	// p90 crosses 10 ms once a tenth of the 5 m window's replies are slow
	// (a few seconds after a minute of fast ones), then scrape, evaluation,
	// for, group_wait and the receiver.
	// How soon the p90 crosses depends on how many fast replies the 5 m
	// window holds; this is a wait, not a documented latency bound, so it
	// is generous (28 s was missed once on a loaded CI machine).
	bound := 60*time.Second + scrapeInterval + evalInterval + latencyFor + groupWait + sendBudget
	m := p.waitSent(t, "HostHighLatency message naming "+p.host, bound, func(m telegramtest.Sent) bool {
		return strings.Contains(m.Plain, p.host) && strings.Contains(m.Plain, "RTT p90")
	})
	t.Logf("HostHighLatency message %v after the RTT went to %v (bound %v): %q",
		m.At.Sub(slow).Round(time.Millisecond), slowRTT, bound, m.Plain)
	res, err = query(hc, p90)
	if err != nil || len(res) != 1 {
		t.Fatalf("%s: got %v (error %v), want one sample", p90, res, err)
	}
	if v := sampleValue(res[0]); v < 0.01 || v > 0.05 {
		t.Errorf("%s: got %v s, want about %v (above the 10 ms floor)", p90, v, slowRTT)
	}
	checkRuleHealth(t, hc)
}
