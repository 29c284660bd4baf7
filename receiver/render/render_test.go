package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // TestTimeZoneAndFormat needs Europe/Berlin, also where /usr/share/zoneinfo is missing

	amtemplate "github.com/prometheus/alertmanager/template"
	"gopkg.in/yaml.v3"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// start is when the host really went down; the alert fires 1m later (its
// rule has for: 1m, carried by the downtime_for annotation).
var start = time.Date(2026, 11, 24, 19, 2, 11, 0, time.UTC)

func alert(host string, extra ...string) amtemplate.Alert {
	a := amtemplate.Alert{
		Status: "firing",
		Labels: amtemplate.KV{"alertname": "HostDown", "target": host, "job": "ping", "severity": "critical"},
		Annotations: amtemplate.KV{
			"summary":      host + " does not answer ping",
			"downtime_for": "1m",
		},
		StartsAt:    start.Add(time.Minute),
		Fingerprint: "fp-" + host,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		a.Labels[extra[i]] = extra[i+1]
	}
	return a
}

// lossAlert is a HostPacketLoss alert as rules/downtime.rules.yml
// annotates it: not a host-down alert, so its summary heads the messages.
func lossAlert(host string) amtemplate.Alert {
	a := alert(host)
	a.Labels["alertname"], a.Labels["severity"] = "HostPacketLoss", "warning"
	a.Annotations = amtemplate.KV{
		"summary":      host + " loses 23.5% of pings",
		"description":  host + " answers, but 23.5% of its pings were lost over the last 5 minutes (threshold 10 %, sustained for 10 minutes).",
		"downtime_for": "10m",
	}
	a.StartsAt = start.Add(10 * time.Minute)
	a.Fingerprint = "fp-loss-" + host
	return a
}

// exporterDownAlert is PingExporterDown: its summary names the host (the
// instance label) in the middle.
func exporterDownAlert() amtemplate.Alert {
	return amtemplate.Alert{
		Status:      "firing",
		Labels:      amtemplate.KV{"alertname": "PingExporterDown", "instance": "127.0.0.1:9426", "job": "ping", "severity": "critical"},
		Annotations: amtemplate.KV{"summary": "ping exporter 127.0.0.1:9426 is not scraped", "downtime_for": "1m"},
		StartsAt:    start.Add(time.Minute),
		Fingerprint: "fp-exporter",
	}
}

func resolved(a amtemplate.Alert, after time.Duration) amtemplate.Alert {
	a.Status = "resolved"
	a.EndsAt = start.Add(after)
	return a
}

func newRenderer(t testing.TB, tmpl config.Templates) *Renderer {
	t.Helper()
	r, err := New(tmpl, time.UTC, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkMessages checks the invariants of every rendering: each message fits,
// is well-formed Telegram HTML, and the alerts appear exactly once, in order.
func checkMessages(t testing.TB, msgs []Message, alerts int) {
	t.Helper()
	next := 0
	for i, m := range msgs {
		if l := Length(m.Text); l > MaxLength {
			t.Errorf("message %d: got length %d, want <= %d", i, l, MaxLength)
		}
		if err := Validate(m.Text); err != nil {
			t.Errorf("message %d: got invalid HTML (%v), want well-formed:\n%s", i, err, m.Text)
		}
		// Cross-check with the fake Telegram API's parser (tdlib's rules).
		if _, _, err := telegramtest.ParseHTML(m.Text); err != nil {
			t.Errorf("message %d: Telegram would reject it (%v):\n%s", i, err, m.Text)
		}
		if e := entities(m.Text); e > MaxEntities && len(m.Alerts) > 1 {
			t.Errorf("message %d: got %d entities, want <= %d", i, e, MaxEntities)
		}
		if len(m.Alerts) == 0 {
			t.Errorf("message %d: got no alerts, want at least one", i)
		}
		for _, a := range m.Alerts {
			if a != next {
				t.Fatalf("message %d: got alert %d, want %d (each alert once, in order)", i, a, next)
			}
			next++
		}
	}
	if next != alerts {
		t.Errorf("got %d alerts in messages, want %d", next, alerts)
	}
}

func golden(t *testing.T, name string, msgs []Message) {
	t.Helper()
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "----- message %d of %d: alerts %v, length %d\n%s\n", i+1, len(msgs), span(m.Alerts), Length(m.Text), m.Text)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("got\n%s\nwant (%s)\n%s", b.String(), path, want)
	}
}

func span(idx []int) string {
	if len(idx) > 3 {
		return fmt.Sprintf("%d..%d", idx[0], idx[len(idx)-1])
	}
	return fmt.Sprint(idx)
}

func resolveAll(alerts []amtemplate.Alert, after time.Duration) []amtemplate.Alert {
	for i := range alerts {
		alerts[i] = resolved(alerts[i], after)
	}
	return alerts
}

func hostileAlerts() []amtemplate.Alert {
	a := alert(`<script>alert("x")</script>`, "team", `R&D "core" <ops>`, "emoji", "🔥👩‍👩‍👧 ünïcödé")
	a.Annotations["summary"] = `5 < 6 && 7 > 3 "quoted" 'single' &amp; &lt;b&gt;`
	a.Annotations["description"] = "line one\nline two <i>not italic</i>"
	long := alert("db1", "blob", strings.Repeat("x<&>", 1250))
	long.Annotations["description"] = strings.Repeat("🔥", 2100)
	host := alert(strings.Repeat("very-long-host-name.", 20) + "example.com")
	bad := alert("bad\xff\xfeutf8\x00nul")
	return []amtemplate.Alert{a, long, host, bad}
}

func TestGolden(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	five := make([]amtemplate.Alert, 5)
	for i := range five {
		five[i] = alert(fmt.Sprintf("web%d.example.com", i+1), "site", "fra")
	}
	many := make([]amtemplate.Alert, 300)
	for i := range many {
		many[i] = alert(fmt.Sprintf("node%03d.dc1.example.com", i), "rack", fmt.Sprintf("r%02d", i%40))
	}
	db := alert("db1.example.com")
	loss := lossAlert("db1.example.com")
	tests := []struct {
		name string
		data Data
	}{
		{"firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{db}, Now: start.Add(time.Minute)}},
		{"reminder", Data{Kind: Reminder, Alerts: []amtemplate.Alert{db}, Now: start.Add(63 * time.Minute), Reminder: 2, Reminders: 3}},
		{"final_reminder", Data{Kind: FinalReminder, Alerts: []amtemplate.Alert{db}, Now: start.Add(time.Hour), Reminder: 3, Reminders: 3}},
		{"resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(db, 12*time.Minute)}, Now: start.Add(13 * time.Minute)}},
		{"resolved_edit", Data{Kind: ResolvedEdit, Alerts: []amtemplate.Alert{resolved(db, 12*time.Minute)}, Now: start.Add(13 * time.Minute)}},
		{"resolved_edit_partial", Data{Kind: ResolvedEdit, Alerts: []amtemplate.Alert{resolved(five[0], 2*time.Hour), five[1]}, Now: start.Add(3 * time.Hour)}},
		{"resolved_next_day", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(db, 5*time.Hour+30*time.Minute)}, Now: start.Add(6 * time.Hour)}},
		{"grouped", Data{Kind: Firing, Alerts: five, Now: start.Add(time.Minute)}},
		{"grouped_resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(five[0], time.Minute), resolved(five[1], 26*time.Hour)}, Now: start.Add(27 * time.Hour)}},
		{"split", Data{Kind: Firing, Alerts: many, Now: start.Add(time.Minute)}},
		{"hostile", Data{Kind: Firing, Alerts: hostileAlerts(), Now: start.Add(time.Minute)}},
		{"loss_firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{loss}, Now: start.Add(10 * time.Minute)}},
		{"loss_reminder", Data{Kind: Reminder, Alerts: []amtemplate.Alert{loss}, Now: start.Add(31 * time.Minute), Reminder: 2, Reminders: 3}},
		{"loss_final_reminder", Data{Kind: FinalReminder, Alerts: []amtemplate.Alert{loss}, Now: start.Add(time.Hour), Reminder: 3, Reminders: 3}},
		{"loss_resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(loss, 22*time.Minute)}, Now: start.Add(23 * time.Minute)}},
		{"loss_resolved_edit", Data{Kind: ResolvedEdit, Alerts: []amtemplate.Alert{resolved(loss, 22*time.Minute)}, Now: start.Add(23 * time.Minute)}},
		{"exporter_down_firing", Data{Kind: Firing, Alerts: []amtemplate.Alert{exporterDownAlert()}, Now: start.Add(time.Minute)}},
		{"exporter_down_resolved", Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(exporterDownAlert(), 5*time.Minute)}, Now: start.Add(6 * time.Minute)}},
		{"hostile_resolved_edit", Data{Kind: ResolvedEdit, Alerts: resolveAll(hostileAlerts(), time.Hour), Now: start.Add(2 * time.Hour)}},
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

func TestSplit(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	alerts := make([]amtemplate.Alert, 300)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("host-%03d", i))
	}
	msgs, err := r.Render(Data{Kind: Firing, Alerts: alerts, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 {
		t.Fatalf("got %d messages, want several", len(msgs))
	}
	checkMessages(t, msgs, len(alerts))
	all := ""
	for _, m := range msgs {
		all += m.Text + "\n"
	}
	for i := range alerts {
		host := fmt.Sprintf("<b>host-%03d</b>", i)
		if n := strings.Count(all, host); n != 1 {
			t.Errorf("alert %d: got %d occurrences, want 1", i, n)
		}
	}
}

func TestEntityLimit(t *testing.T) {
	r := newRenderer(t, config.Templates{Firing: strings.Repeat("<b>{{ .Host }}</b> ", 10)})
	alerts := make([]amtemplate.Alert, 30)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("h%d", i))
	}
	msgs, err := r.Render(Data{Kind: Firing, Alerts: alerts, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Errorf("got %d messages, want 3 (10 alerts of 10 entities each)", len(msgs))
	}
	checkMessages(t, msgs, len(alerts))
}

func TestResolvedEditIsOneMessage(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	for _, n := range []int{1, 20, 60, 300} {
		alerts := make([]amtemplate.Alert, n)
		for i := range alerts {
			alerts[i] = resolved(alert(fmt.Sprintf("host-%03d", i), "blob", strings.Repeat("v", 300)), time.Hour)
		}
		msgs, err := r.Render(Data{Kind: ResolvedEdit, Alerts: alerts, Now: start.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("%d alerts: got %d messages, want 1", n, len(msgs))
		}
		checkMessages(t, msgs, n)
	}
}

func TestDowntime(t *testing.T) {
	tests := []struct {
		name     string
		forValue string
		label    bool
		status   string
		endsAt   time.Time
		now      time.Time
		since    time.Time
		dur      time.Duration
	}{
		{name: "no for", now: start.Add(10 * time.Minute), since: start, dur: 10 * time.Minute},
		{name: "annotation", forValue: "2m", now: start.Add(10 * time.Minute), since: start.Add(-2 * time.Minute), dur: 12 * time.Minute},
		{name: "label", forValue: "1h", label: true, now: start, since: start.Add(-time.Hour), dur: time.Hour},
		{name: "invalid for ignored", forValue: "soon", now: start.Add(time.Minute), since: start, dur: time.Minute},
		{name: "resolved uses endsAt", status: "resolved", endsAt: start.Add(5 * time.Minute), now: start.Add(time.Hour), since: start, dur: 5 * time.Minute},
		{name: "now before start", now: start.Add(-time.Minute), since: start, dur: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := amtemplate.Alert{Status: "firing", StartsAt: start, EndsAt: tt.endsAt, Labels: amtemplate.KV{}, Annotations: amtemplate.KV{}}
			if tt.status != "" {
				a.Status = tt.status
			}
			if tt.label {
				a.Labels[ForKey] = tt.forValue
			} else if tt.forValue != "" {
				a.Annotations[ForKey] = tt.forValue
			}
			since, _, d := downtime(a, tt.now, a.Status == "resolved")
			if !since.Equal(tt.since) || d != tt.dur {
				t.Errorf("got since %v duration %v, want %v %v", since, d, tt.since, tt.dur)
			}
		})
	}
}

// TestSinceAnnotation: downtime_since wins when valid and not after
// startsAt (nor older than MaxSinceAge before it), else downtime_for, else
// startsAt.
func TestSinceAnnotation(t *testing.T) {
	unix := func(tm time.Time) string { return strconv.FormatFloat(float64(tm.UnixMilli())/1e3, 'f', 3, 64) }
	lastReply := start.Add(-31*time.Second - 250*time.Millisecond)
	withFor := start.Add(-25 * time.Second)
	tests := []struct {
		name       string
		since      string
		sinceLabel bool
		forValue   string
		want       time.Time
	}{
		{name: "since wins over for", since: unix(lastReply), forValue: "25s", want: lastReply},
		{name: "since alone", since: unix(lastReply), want: lastReply},
		{name: "since as label", since: unix(lastReply), sinceLabel: true, forValue: "25s", want: lastReply},
		{name: "since with spaces", since: " " + unix(lastReply) + "\n", forValue: "25s", want: lastReply},
		{name: "since integer seconds", since: strconv.FormatInt(start.Add(-time.Minute).Unix(), 10), want: start.Add(-time.Minute)},
		{name: "since equal to startsAt", since: unix(start), forValue: "25s", want: start},
		{name: "empty since: for", since: "", forValue: "25s", want: withFor},
		{name: "garbage since: for", since: "soon", forValue: "25s", want: withFor},
		{name: "template text: for", since: "{{ $value }}", forValue: "25s", want: withFor},
		{name: "NaN: for", since: "NaN", forValue: "25s", want: withFor},
		{name: "Inf: for", since: "+Inf", forValue: "25s", want: withFor},
		{name: "huge: for", since: "1e300", forValue: "25s", want: withFor},
		{name: "zero: for", since: "0", forValue: "25s", want: withFor},
		{name: "negative: for", since: "-5", forValue: "25s", want: withFor},
		{name: "future: for", since: unix(start.Add(time.Second)), forValue: "25s", want: withFor},
		{name: "older than MaxSinceAge: for", since: unix(start.Add(-MaxSinceAge - time.Second)), forValue: "25s", want: withFor},
		{name: "just within MaxSinceAge", since: unix(start.Add(-MaxSinceAge)), want: start.Add(-MaxSinceAge)},
		{name: "bad since, bad for: startsAt", since: "soon", forValue: "later", want: start},
		{name: "future since, no for: startsAt", since: unix(start.Add(time.Hour)), want: start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := amtemplate.Alert{Status: "firing", StartsAt: start, Labels: amtemplate.KV{}, Annotations: amtemplate.KV{}}
			if tt.sinceLabel {
				a.Labels[SinceKey] = tt.since
			} else {
				a.Annotations[SinceKey] = tt.since
			}
			if tt.forValue != "" {
				a.Annotations[ForKey] = tt.forValue
			}
			if got := Since(a); !got.Equal(tt.want) {
				t.Errorf("got since %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("zero startsAt", func(t *testing.T) {
		a := amtemplate.Alert{Annotations: amtemplate.KV{SinceKey: unix(lastReply)}}
		if got := Since(a); !got.IsZero() {
			t.Errorf("got since %v, want the zero startsAt", got)
		}
	})
}

func TestRenderErrors(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	if _, err := r.Render(Data{Kind: Firing}); err == nil || err.Error() != "render: no alerts" {
		t.Errorf("got %v, want render: no alerts", err)
	}
	if _, err := r.Render(Data{Kind: "bogus", Alerts: []amtemplate.Alert{alert("x")}}); err == nil || err.Error() != `render: unknown kind "bogus"` {
		t.Errorf("got %v, want unknown kind", err)
	}
}

func TestTimeZoneAndFormat(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin") // time/tzdata is embedded below
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(config.Templates{}, berlin, "02.01.2006 15:04 MST")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.Render(Data{Kind: Firing, Alerts: []amtemplate.Alert{alert("db1")}, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	if want := "down since 24.11.2026 20:02 CET"; !strings.Contains(msgs[0].Text, want) {
		t.Errorf("got\n%s\nwant it to contain %q", msgs[0].Text, want)
	}
}

func TestConcurrentRender(t *testing.T) {
	r := newRenderer(t, config.Templates{Firing: `{{ template "builtin.firing" . }}`})
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := r.Render(Data{Kind: Firing, Alerts: hostileAlerts(), Now: start})
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestReminderWithoutCount(t *testing.T) {
	msgs, err := newRenderer(t, config.Templates{}).Render(Data{Kind: Reminder, Alerts: []amtemplate.Alert{alert("db1")}, Now: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(msgs[0].Text, "\n"); first != "🔴 <b>db1</b> still down for 1h" {
		t.Errorf("got %q, want no reminder count", first)
	}
}

func BenchmarkRender300(b *testing.B) {
	r := newRenderer(b, config.Templates{})
	alerts := make([]amtemplate.Alert, 300)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("node%03d.example.com", i))
	}
	for b.Loop() {
		if _, err := r.Render(Data{Kind: Firing, Alerts: alerts, Now: start}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHeadline(t *testing.T) {
	tests := []struct {
		name, summary, host, want string
	}{
		{"host first", "db1 loses 20% of pings", "db1", "<b>db1</b> loses 20% of pings"},
		{"host inside", "ping exporter 127.0.0.1:9426 is not scraped", "127.0.0.1:9426", "ping exporter <b>127.0.0.1:9426</b> is not scraped"},
		{"host last, with a full stop", "cannot reach db1.", "db1", "cannot reach <b>db1</b>."},
		{"host followed by a colon", "db1: disk full", "db1", "<b>db1</b>: disk full"},
		{"not named", "alerting pipeline is alive", "Watchdog", "<b>Watchdog</b>: alerting pipeline is alive"},
		{"only part of a longer name", "db10 and db1.lan are slow", "db1", "<b>db1</b>: db10 and db1.lan are slow"},
		{"longer name first, then the host", "db10 is fine, db1 is slow", "db1", "db10 is fine, <b>db1</b> is slow"},
		{"no summary", "", "db1", ""},
		{"escaped around the host", `a<b & "db1" > c`, "db1", "a&lt;b &amp; &quot;<b>db1</b>&quot; &gt; c"},
		// Matching the escaped host in the escaped summary would put the tag
		// inside "&amp;".
		{"never inside an entity", "& amp;x", "amp;x", "&amp; <b>amp;x</b>"},
		{"host with markup", "<b> is down", "<b>", "<b>&lt;b&gt;</b> is down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headline(tt.summary, tt.host, Escape)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if err := Validate(got); err != nil {
				t.Errorf("got invalid HTML %q: %v", got, err)
			}
		})
	}
}

// TestDownWording: only host-down alerts (alertname HostDown, or no
// summary) say "down"; the others are headed by their summary.
func TestDownWording(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	noSummary := lossAlert("db1")
	delete(noSummary.Annotations, "summary")
	tests := []struct {
		name  string
		alert amtemplate.Alert
		down  bool
	}{
		{"HostDown", alert("db1"), true},
		{"HostPacketLoss", lossAlert("db1"), false},
		{"PingExporterDown", exporterDownAlert(), false},
		{"no summary", noSummary, true},
	}
	for _, tt := range tests {
		for _, k := range Kinds {
			if k == HeartbeatLost || k == HeartbeatBack {
				continue // about Alertmanager, not the alert: TestHeartbeatGolden
			}
			t.Run(tt.name+"/"+string(k), func(t *testing.T) {
				a := tt.alert
				if k == Resolved || k == ResolvedEdit {
					a = resolved(a, time.Hour)
				}
				msgs, err := r.Render(Data{Kind: k, Alerts: []amtemplate.Alert{a}, Now: start.Add(2 * time.Hour), Reminder: 1, Reminders: 3})
				if err != nil {
					t.Fatal(err)
				}
				checkMessages(t, msgs, 1)
				if got := strings.Contains(msgs[0].Text, "down"); got != tt.down {
					t.Errorf("got %q, want it to say \"down\": %v", msgs[0].Text, tt.down)
				}
			})
		}
	}
}

// TestEveryKindHasATemplateKey: config owns the YAML keys of templates,
// render owns the kinds; they must name the same set.
func TestEveryKindHasATemplateKey(t *testing.T) {
	for _, k := range Kinds {
		var tm config.Templates
		if err := yaml.Unmarshal([]byte(string(k)+": x\n"), &tm); err != nil {
			t.Errorf("templates key %q: %v", k, err)
			continue
		}
		if text, origin := tm.Source(string(k)); text != "x" || origin != "templates."+string(k) {
			t.Errorf("Source(%q): got %q from %q, want x from templates.%s", k, text, origin, k)
		}
	}
}
