package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/render"
)

func TestHelpText(t *testing.T) {
	with, without := HelpText(true), HelpText(false)
	for _, s := range []string{"/status", "/silences", "/help", "✅ Ack"} {
		if !strings.Contains(with, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	if !strings.Contains(with, "🔕 1h") || strings.Contains(without, "🔕 1h") {
		t.Error("silence buttons must be described only with an Alertmanager")
	}
	if err := render.Validate(with); err != nil {
		t.Errorf("help is not valid Telegram HTML: %v", err)
	}
}

func TestStatusText(t *testing.T) {
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	got := StatusText([]StatusEntry{
		{Host: "b<1>.example", Alertname: "HostDown", Since: now.Add(-10 * time.Minute), AckedBy: "@bob_oncall"},
		{Host: "a.example", Alertname: "HostDown", Since: now.Add(-63 * time.Minute), SilencedBy: "@alice_ops", SilencedUntil: now.Add(time.Hour)},
		{Host: "c.example", Alertname: "HostDown", Since: now.Add(-2 * time.Minute), Suppressed: true},
	}, now, nil)
	want := "🔴 3 down:\n" +
		"• <b>a.example</b> HostDown since Nov 30 20:57 UTC (1h03m) · 🔕 @alice_ops until 23:00 UTC\n" +
		"• <b>b&lt;1&gt;.example</b> HostDown since Nov 30 21:50 UTC (10m) · ✅ @bob_oncall\n" +
		"• <b>c.example</b> HostDown since Nov 30 21:58 UTC (2m) · 🔕 suppressed in Alertmanager"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := render.Validate(got); err != nil {
		t.Errorf("invalid HTML: %v", err)
	}
	if got := StatusText(nil, now, nil); got != "✅ Nothing is down." {
		t.Errorf("empty: %q", got)
	}
}

func TestSilencesAnswer(t *testing.T) {
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	sils := []alertmanager.Silence{
		{ID: "1", CreatedBy: "@alice_ops (Telegram)", EndsAt: now.Add(time.Hour), Matchers: []alertmanager.Matcher{
			{Name: "alertname", Value: "HostDown", IsEqual: true}, {Name: "target", Value: "a.example", IsEqual: true}}},
		{ID: "2", CreatedBy: "ops<team>", EndsAt: now.Add(48 * time.Hour), Matchers: []alertmanager.Matcher{
			{Name: "job", Value: "ping.*", IsRegex: true, IsEqual: true}}},
	}
	text, kb := SilencesAnswer(sils, []string{"K1", ""}, now, nil)
	want := "🔕 2 active silences:\n" +
		"1. <code>alertname=&quot;HostDown&quot;, target=&quot;a.example&quot;</code> until 23:00 UTC by @alice_ops (Telegram)\n" +
		"2. <code>job=~&quot;ping.*&quot;</code> until Dec 2 22:00 UTC by ops&lt;team&gt;"
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	if got := TextView(kb); got != "[🔔 Unsilence 1]" {
		t.Errorf("keyboard %s, want one Unsilence button for the keyed silence", got)
	}
	if d := *kb.InlineKeyboard[0][0].CallbackData; d != "d1:uns:K1" {
		t.Errorf("data %q", d)
	}
	if text, kb := SilencesAnswer(nil, nil, now, nil); text != "No active silences." || kb != nil {
		t.Errorf("empty: %q %v", text, kb)
	}
}
