package render

import (
	"strings"
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

// The alerts below carry the labels and annotations that
// rules/downtime.rules.yml gives them (rules/README.md, "The contract for
// the receiver").

// parentAlert is a router's HostDown with hosts behind it unreachable too;
// hosts (comma-separated) is what the receiver learnt from Alertmanager,
// "-" for nothing learnt.
func parentAlert(behind, hosts string) amtemplate.Alert {
	a := alert("router1", "instance", "prober-fra:9426")
	a.Annotations["description"] = "No echo reply from router1 for 25 s or more (checked by prober-fra:9426)."
	a.Annotations["downtime_for"] = "25s"
	a.Annotations[BehindKey] = behind
	a.Annotations[VantagesDownKey], a.Annotations[VantagesTotalKey] = "", ""
	a.StartsAt = start.Add(25 * time.Second)
	if hosts != "-" {
		a.Annotations[BehindHostsKey] = hosts
	}
	return a
}

func cutOffAlert() amtemplate.Alert {
	return amtemplate.Alert{
		Status: "firing",
		Labels: amtemplate.KV{"alertname": CutOffAlert, "instance": "prober-fra:9426", "job": "ping",
			"severity": "critical", "vantage": "fra"},
		Annotations: amtemplate.KV{
			"summary":      "prober prober-fra:9426 cannot reach any of its 5 hosts",
			"description":  "prober prober-fra:9426 (vantage fra) cannot reach any of its 5 hosts: its own network is likely down. Its hosts are not reported down while this lasts.",
			HostsKey:       "5",
			"downtime_for": "25s",
		},
		StartsAt:    start.Add(25 * time.Second),
		Fingerprint: "fp-cutoff",
	}
}

func vantageAlert() amtemplate.Alert {
	a := alert("mail.example.com")
	a.Annotations["description"] = "No echo reply from mail.example.com for 25 s or more (down from ams, fra: 2 of 2 vantages)."
	a.Annotations["downtime_for"] = "25s"
	a.Annotations[VantagesDownKey], a.Annotations[VantagesTotalKey] = "ams,fra", "2"
	a.Annotations[BehindKey] = "0"
	a.StartsAt = start.Add(25 * time.Second)
	return a
}

func pathAlert() amtemplate.Alert {
	return amtemplate.Alert{
		Status: "firing",
		Labels: amtemplate.KV{"alertname": PathDownAlert, "target": "mail.example.com", "job": "ping", "severity": "warning"},
		Annotations: amtemplate.KV{
			"summary":        "mail.example.com is unreachable from ams only",
			"description":    "mail.example.com does not answer ping from 1 of 2 vantages, but the others reach it: a network path problem, not an outage.",
			VantagesDownKey:  "ams",
			VantagesTotalKey: "2",
			"downtime_for":   "1m",
		},
		StartsAt:    start.Add(time.Minute),
		Fingerprint: "fp-path",
	}
}

func TestGoldenTopology(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	now := start.Add(time.Minute)
	tests := []struct {
		name string
		data Data
	}{
		{"parent_firing_count", Data{Kind: Firing, Alerts: []amtemplate.Alert{parentAlert("3", "-")}, Now: now}},
		{"parent_firing_list", Data{Kind: Firing, Alerts: []amtemplate.Alert{parentAlert("3", "db1,db2,web1")}, Now: now}},
		{"parent_firing_none", Data{Kind: Firing, Alerts: []amtemplate.Alert{parentAlert("0", "-")}, Now: now}},
		{"parent_resolved_edit", Data{Kind: ResolvedEdit, Alerts: []amtemplate.Alert{resolved(parentAlert("3", "db1,db2,web1"), 12*time.Minute)}, Now: start.Add(13 * time.Minute)}},
		{"cutoff_firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{cutOffAlert()}, Now: now}},
		{"cutoff_reminder", Data{Kind: Reminder, Alerts: []amtemplate.Alert{cutOffAlert()}, Now: start.Add(31 * time.Minute), Reminder: 2, Reminders: 3}},
		{"cutoff_resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(cutOffAlert(), 3*time.Minute)}, Now: start.Add(4 * time.Minute)}},
		{"cutoff_resolved_edit", Data{Kind: ResolvedEdit, Alerts: []amtemplate.Alert{resolved(cutOffAlert(), 3*time.Minute)}, Now: start.Add(4 * time.Minute)}},
		{"vantage_firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{vantageAlert()}, Now: now}},
		{"path_firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{pathAlert()}, Now: now}},
		{"path_resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(pathAlert(), 5*time.Minute)}, Now: start.Add(6 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := r.Render(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			checkMessages(t, msgs, len(tt.data.Alerts))
			golden(t, tt.name, msgs)
		})
	}
}

// TestTopologyWording pins the phrases users read, independently of the
// golden files.
func TestTopologyWording(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	many := make([]string, 25)
	for i := range many {
		many[i] = "h" + strings.Repeat("x", i%3) + string(rune('a'+i%26))
	}
	child := alert("db1")
	tests := []struct {
		name    string
		a       amtemplate.Alert
		kind    Kind
		want    []string
		notWant []string
	}{
		{"count without list", parentAlert("3", "-"), Firing,
			[]string{"🔴 <b>router1</b> is down — 3 hosts behind it are unreachable too\n"}, []string{": db1"}},
		{"list", parentAlert("3", "db1,db2,web1"), Firing,
			[]string{"🔴 <b>router1</b> is down — 3 hosts behind it are unreachable too: db1, db2, web1\n"}, nil},
		{"list wins over a stale count", parentAlert("3", "db1"), Firing,
			[]string{"is down — 1 host behind it is unreachable too: db1\n"}, nil},
		{"empty list: none behind any more", parentAlert("3", ""), Firing,
			[]string{"🔴 <b>router1</b> is down\n"}, []string{"behind"}},
		{"long list is cut", parentAlert("25", strings.Join(many, ",")), Firing,
			[]string{"25 hosts behind it are unreachable too: ", " and 5 more\n"}, nil},
		{"escaped names", parentAlert("1", "<b>x</b>"), Firing,
			[]string{"unreachable too: &lt;b&gt;x&lt;/b&gt;\n"}, nil},
		{"a child alone is a normal message", child, Firing,
			[]string{"🔴 <b>db1</b> is down\n"}, []string{"behind", "from", "prober"}},
		{"cut-off prober", cutOffAlert(), Firing,
			[]string{"⚠️ prober <b>prober-fra:9426</b> (vantage fra) cannot reach any of its 5 hosts: its own network is likely down\n"},
			[]string{"is down", "🔴"}},
		{"cut-off recovery", resolved(cutOffAlert(), 3*time.Minute), Resolved,
			[]string{"✅ prober <b>prober-fra:9426</b> reaches its hosts again after 3m"}, nil},
		{"vantages", vantageAlert(), Firing,
			[]string{"🔴 <b>mail.example.com</b> is down from ams and fra (2 of 2)\n"}, []string{"behind"}},
		{"path problem", pathAlert(), Firing,
			[]string{"🟠 <b>mail.example.com</b> is unreachable from ams only: a path problem, not down\n"},
			[]string{"is down", "🔴", "down since"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := r.Render(Data{Kind: tt.kind, Alerts: []amtemplate.Alert{tt.a}, Now: start.Add(2 * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			checkMessages(t, msgs, 1)
			for _, w := range tt.want {
				if !strings.Contains(msgs[0].Text, w) {
					t.Errorf("got\n%s\nwant it to contain %q", msgs[0].Text, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msgs[0].Text, w) {
					t.Errorf("got\n%s\nwant no %q", msgs[0].Text, w)
				}
			}
		})
	}
}

func TestAnd(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"ams"}, "ams"}, {[]string{"ams", "fra"}, "ams and fra"},
		{[]string{"ams", "fra", "lon"}, "ams, fra and lon"},
	} {
		if got := and(tt.in); got != tt.want {
			t.Errorf("and(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
