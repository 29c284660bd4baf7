package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// The alerts below are what Alertmanager posts for the incidents of
// rules/README.md "One cause, one message", with the labels and
// annotations the rules give them. The hosts behind a dead router, the
// cut-off prober's hosts and the HostUnreachableBehindParent alerts never
// reach the webhook (the rules hold them back, or Alertmanager routes them
// to the silent receiver): one notification per incident arrives.

func topoAlert(status, name, fp string, start time.Time, labels, annotations template.KV) template.Alert {
	a := template.Alert{Status: status, Fingerprint: fp, StartsAt: start,
		Labels:      template.KV{"alertname": name, "job": "ping"},
		Annotations: template.KV{"downtime_for": "25s"}}
	for k, v := range labels {
		a.Labels[k] = v
	}
	for k, v := range annotations {
		a.Annotations[k] = v
	}
	if status == "resolved" {
		a.EndsAt = start.Add(3 * time.Minute)
	}
	return a
}

// routerDown is the router's HostDown, 3 hosts behind it down too.
func routerDown(status string, start time.Time) template.Alert {
	return topoAlert(status, "HostDown", "fp-router1", start,
		template.KV{"instance": "prober:9426", "target": "router1", "severity": "critical"},
		template.KV{"summary": "router1 does not answer ping", "unreachable_behind": "3",
			"vantages_down": "", "vantages_total": ""})
}

// childDown is a host behind the router, still down when the router is
// back: its own HostDown from Prometheus, nothing behind it.
func childDown(status string, start time.Time) template.Alert {
	return topoAlert(status, "HostDown", "fp-db1", start,
		template.KV{"instance": "prober:9426", "target": "db1", "severity": "critical"},
		template.KV{"summary": "db1 does not answer ping", "unreachable_behind": "0",
			"vantages_down": "", "vantages_total": ""})
}

func cutOff(status string, start time.Time) template.Alert {
	return topoAlert(status, "ProberCutOff", "fp-cutoff", start,
		template.KV{"instance": "prober:9426", "severity": "critical"},
		template.KV{"summary": "prober prober:9426 cannot reach any of its 5 hosts",
			"description": "prober prober:9426 cannot reach any of its 5 hosts: its own network is likely down. Its hosts are not reported down while this lasts.",
			"hosts":       "5"})
}

func vantageDown(status string, start time.Time) template.Alert {
	return topoAlert(status, "HostDown", "fp-mail", start,
		template.KV{"target": "mail", "severity": "critical"},
		template.KV{"summary": "mail does not answer ping", "unreachable_behind": "0",
			"description":   "No echo reply from mail for 25 s or more (down from ams, fra: 2 of 2 vantages).",
			"vantages_down": "ams,fra", "vantages_total": "2"})
}

func pathDown(status string, start time.Time) template.Alert {
	return topoAlert(status, "HostPathDown", "fp-dns", start,
		template.KV{"target": "dns", "severity": "warning"},
		template.KV{"summary": "dns is unreachable from ams only", "downtime_for": "1m",
			"description":   "dns does not answer ping from 1 of 2 vantages, but the others reach it: a network path problem, not an outage.",
			"vantages_down": "ams", "vantages_total": "2"})
}

// TestOneCauseOneMessage: each incident is exactly one Telegram message
// naming its cause (and its recovery one reply).
func TestOneCauseOneMessage(t *testing.T) {
	t.Parallel()
	start := t0.Add(-2 * time.Minute)
	tests := []struct {
		name     string
		firing   template.Alert
		want     string // first line of the message, as a user reads it
		resolved template.Alert
		wantBack string
	}{
		{"router down with 3 hosts behind", routerDown("firing", start),
			"🔴 router1 is down — 3 hosts behind it are unreachable too",
			routerDown("resolved", start), "✅ router1 is up after 3m"},
		{"cut-off prober", cutOff("firing", start),
			"⚠️ prober prober:9426 cannot reach any of its 5 hosts: its own network is likely down",
			cutOff("resolved", start), "✅ prober prober:9426 reaches its hosts again after 3m"},
		{"down from every vantage", vantageDown("firing", start),
			"🔴 mail is down from ams and fra (2 of 2)",
			vantageDown("resolved", start), "✅ mail is up after 3m"},
		{"down from one vantage: a path problem", pathDown("firing", start),
			"🟠 dns is unreachable from ams only: a path problem, not down",
			pathDown("resolved", start), "✅ resolved after 4m: dns is unreachable from ams only"},
		{"the router back, a host behind it still down", childDown("firing", start),
			"🔴 db1 is down",
			childDown("resolved", start), "✅ db1 is up after 3m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := telegramtest.NewServer(t, testToken)
			opts := newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL)
			opts.now = func() time.Time { return t0 }
			r := startReceiver(t, opts)
			mustPost(t, r.url+"/webhook", body("firing", tt.firing))
			mustPost(t, r.url+"/webhook", body("firing", tt.firing)) // Alertmanager's repeat
			settle(t, r.url)
			msgs := tg.Messages()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want exactly 1: %+v", len(msgs), msgs)
			}
			checkFirstLine(t, msgs[0].Plain, tt.want)
			if strings.Contains(tt.name, "still down") && strings.Contains(msgs[0].Plain, "behind") {
				t.Errorf("got %q, want a normal message without the parent wording", msgs[0].Plain)
			}
			mustPost(t, r.url+"/webhook", body("resolved", tt.resolved))
			tg.WaitMessages(t, 2, 10*time.Second)
			settle(t, r.url)
			if msgs = tg.Messages(); len(msgs) != 2 {
				t.Fatalf("got %d messages after the recovery, want 2", len(msgs))
			}
			checkFirstLine(t, msgs[1].Plain, tt.wantBack)
			if msgs[1].ReplyTo != msgs[0].MessageID {
				t.Errorf("recovery: got reply to %d, want %d", msgs[1].ReplyTo, msgs[0].MessageID)
			}
		})
	}
}

func checkFirstLine(t *testing.T, text, want string) {
	t.Helper()
	if first, _, _ := strings.Cut(text, "\n"); !strings.HasPrefix(first, want) {
		t.Errorf("got first line %q, want it to start with %q", first, want)
	}
}

// TestParentListFromAlertmanager: with a (real) Alertmanager holding the
// HostUnreachableBehindParent alerts, the router's one message is edited
// to list the hosts behind it, and again when the list changes; no host
// behind it gets a message of its own.
func TestParentListFromAlertmanager(t *testing.T) {
	t.Parallel()
	u := amtest.Start(t)
	am, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{u}, Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	real := time.Now()
	behindRouter := func(target, instance string, ends time.Time) {
		amtest.PostAlert(t, u, map[string]string{"alertname": "HostUnreachableBehindParent", "job": "ping",
			"instance": instance, "target": target, "parent": "router1", "severity": "info"}, real.Add(-time.Minute), ends)
	}
	for _, h := range []string{"db1", "db2", "web1"} {
		behindRouter(h, "prober:9426", real.Add(time.Hour))
	}
	behindRouter("db1", "prober-ams:9426", real.Add(time.Hour)) // the same host from a second vantage
	amtest.PostAlert(t, u, map[string]string{"alertname": "HostUnreachableBehindParent", "job": "ping",
		"instance": "prober:9426", "target": "x1", "parent": "router2"}, real.Add(-time.Minute), real.Add(time.Hour))

	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(t0)
	opts := newOptions(t, writeConfig(t, "4242", ""), t.TempDir(), tg.URL)
	opts.clock, opts.alerts = clk, am
	r := startReceiver(t, opts)

	mustPost(t, r.url+"/webhook", body("firing", routerDown("firing", t0.Add(-time.Minute))))
	msgs := tg.WaitMessages(t, 1, 10*time.Second)
	checkFirstLine(t, msgs[0].Plain, "🔴 router1 is down — 3 hosts behind it are unreachable too")

	edits := advanceUntilEdits(t, clk, tg, 1)
	checkFirstLine(t, edits[0].Plain, "🔴 router1 is down — 3 hosts behind it are unreachable too: db1, db2, web1")
	if edits[0].MessageID != msgs[0].MessageID {
		t.Errorf("edited message %d, want the router's %d", edits[0].MessageID, msgs[0].MessageID)
	}

	behindRouter("db2", "prober:9426", time.Now().Add(-time.Second)) // db2 answers again
	edits = advanceUntilEdits(t, clk, tg, 2)
	checkFirstLine(t, edits[1].Plain, "🔴 router1 is down — 2 hosts behind it are unreachable too: db1, web1")

	mustPost(t, r.url+"/webhook", body("resolved", routerDown("resolved", t0.Add(-time.Minute))))
	advanceUntil(t, clk, time.Second, func() bool { return len(tg.Messages()) >= 2 && len(tg.Edits()) >= 3 })
	settle(t, r.url)
	if msgs = tg.Messages(); len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2 (the router's, its recovery): %+v", len(msgs), msgs)
	}
	checkFirstLine(t, msgs[1].Plain, "✅ router1 is up after")
	if edits = tg.Edits(); len(edits) != 3 {
		t.Fatalf("got %d edits, want 3 (two lists, the recovery)", len(edits))
	}
	checkFirstLine(t, edits[2].Plain, "✅ router1 is down resolved after")
	if got := metric(t, r.url, "downtime_receiver_parent_list_edits_total"); got != "2" {
		t.Errorf("downtime_receiver_parent_list_edits_total: got %q, want 2", got)
	}
}

// advanceUntilEdits moves the fake clock by the parents' interval until
// the fake Telegram has n edits (the receiver asks Alertmanager at every
// tick).
func advanceUntilEdits(t *testing.T, clk *clocktest.Fake, tg *telegramtest.Server, n int) []telegramtest.Edited {
	t.Helper()
	advanceUntil(t, clk, parentsInterval, func() bool { return len(tg.Edits()) >= n })
	return tg.Edits()
}

// advanceUntil moves the fake clock by step until done (the worker's flood
// limits wait on the same clock); it polls an outcome and times nothing.
func advanceUntil(t *testing.T, clk *clocktest.Fake, step time.Duration, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached after 20 s")
		}
		clk.Advance(step)
		time.Sleep(20 * time.Millisecond)
	}
}
