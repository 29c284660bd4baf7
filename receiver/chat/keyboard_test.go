package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin without the system zoneinfo
)

func TestUntilMorning(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		loc  *time.Location
		want time.Time
		text string
	}{
		{"evening", time.Date(2026, 11, 30, 22, 15, 0, 0, berlin), berlin, time.Date(2026, 12, 1, 9, 0, 0, 0, berlin), "🔕 until 09:00"},
		{"early morning: same day", time.Date(2026, 12, 1, 3, 0, 0, 0, berlin), berlin, time.Date(2026, 12, 1, 9, 0, 0, 0, berlin), "🔕 until 09:00"},
		{"08:30: tomorrow, not 30 min", time.Date(2026, 12, 1, 8, 30, 0, 0, berlin), berlin, time.Date(2026, 12, 2, 9, 0, 0, 0, berlin), "🔕 until 09:00"},
		{"now given in UTC", time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), berlin, time.Date(2026, 12, 1, 9, 0, 0, 0, berlin), "🔕 until 09:00"},
		{"DST change night", time.Date(2026, 3, 28, 23, 0, 0, 0, berlin), berlin, time.Date(2026, 3, 29, 9, 0, 0, 0, berlin), "🔕 until 09:00"},
		{"no timezone: 24h", time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC), nil, time.Date(2026, 12, 2, 8, 30, 0, 0, time.UTC), "🔕 24h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, text := UntilMorning(tc.now, tc.loc)
			if !got.Equal(tc.want) || text != tc.text {
				t.Errorf("got %s %q, want %s %q", got, text, tc.want, tc.text)
			}
		})
	}
}

func TestKeyboard(t *testing.T) {
	const graph = "https://prometheus.example/graph?g0.expr=ping_up"
	form := SilenceFormURL("https://am.example/", []string{`alertname="HostDown"`, `target="h.example"`})
	for _, tc := range []struct {
		name string
		k    Keyboard
		want string
	}{
		{"firing with everything", Keyboard{Key: "K", CanSilence: true, MorningText: "🔕 until 09:00", GeneratorURL: graph,
			GrafanaURL: "https://grafana.example/d/x", SilenceFormURL: form},
			"[🔕 1h] [🔕 until 09:00] [✅ Ack]\n[📈 graph ↗] [📊 Grafana ↗] [🔕 in Alertmanager ↗]"},
		{"no alertmanager: ack only", Keyboard{Key: "K", GeneratorURL: graph, SilenceFormURL: form}, "[✅ Ack]\n[📈 graph ↗]"},
		{"no morning text: 24h", Keyboard{Key: "K", CanSilence: true}, "[🔕 1h] [🔕 24h] [✅ Ack]"},
		{"silenced", Keyboard{Key: "K", CanSilence: true, Silenced: true, GeneratorURL: graph, SilenceFormURL: form}, "[🔔 Unsilence]\n[📈 graph ↗]"},
		{"acked", Keyboard{Key: "K", CanSilence: true, Acked: true}, "[🔕 1h] [🔕 24h] [↩️ Unack]"},
		{"silenced and acked", Keyboard{Key: "K", CanSilence: true, Silenced: true, Acked: true}, "[🔔 Unsilence] [↩️ Unack]"},
		{"default generatorURL left out", Keyboard{Key: "K", GeneratorURL: "http://prom-1:9090/graph"}, "[✅ Ack]"},
		{"no key, no urls", Keyboard{CanSilence: true}, "(no buttons)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.k.Markup()
			if got := TextView(m); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if m == nil {
				return
			}
			for _, row := range m.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData != nil {
						c, err := ParseCallback(*b.CallbackData)
						if err != nil || c.Key != "K" {
							t.Errorf("button %q data %q: %v", b.Text, *b.CallbackData, err)
						}
					}
				}
			}
			b, _ := json.Marshal(m)
			if !strings.Contains(string(b), `"inline_keyboard":[[`) {
				t.Errorf("JSON %s lacks inline_keyboard", b)
			}
		})
	}
}

func TestSilenceFormURL(t *testing.T) {
	got := SilenceFormURL("http://am.example:9093/prefix/", []string{`alertname="HostDown"`, `target="a b"`})
	want := "http://am.example:9093/prefix/#/silences/new?filter=%7Balertname%3D%22HostDown%22%2Ctarget%3D%22a+b%22%7D"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if SilenceFormURL("", []string{"a"}) != "" || SilenceFormURL("http://x", nil) != "" {
		t.Error("want empty without URL or matchers")
	}
}

func TestButtonURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://grafana.example/d/x": true, "http://198.18.0.1:9090/graph": true,
		"http://prom-1:9090/graph": false, "http://localhost:9090": false, "http://127.0.0.1:9090": false,
		"http://[::1]:9090": false, "ftp://files.example": false, "javascript:alert(1)": false, "": false,
		"https://u:p@grafana.example": false, "http://a.localhost/": false,
	} {
		if got := ButtonURL(u); got != want {
			t.Errorf("ButtonURL(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestLinkTemplate(t *testing.T) {
	lt, err := ParseLinkTemplate("grafana_url", `https://grafana.example/d/downtime?var-target={{ .Labels.target | urlquery }}&from={{ .StartsAt.UnixMilli }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lt.Execute(LinkData{Labels: map[string]string{"target": "a b&c"}, StartsAt: time.Unix(1, 0)})
	want := "https://grafana.example/d/downtime?var-target=a+b%26c&from=1000"
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	for _, tc := range []struct{ tmpl, want string }{
		{`https://x.example/{{ .Labels.target `, `"grafana_url": template: grafana_url:1: unclosed action`},
		{`{{ .Labels.target }}`, `"grafana_url": link template "grafana_url": result "host.example" is not an http(s) URL`},
		{`https://x.example/{{ .Nope }}`, `can't evaluate field Nope`},
	} {
		if _, err := ParseLinkTemplate("grafana_url", tc.tmpl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLinkTemplate(%q): %v, want %q", tc.tmpl, err, tc.want)
		}
	}
	var nilT *LinkTemplate
	if s, err := nilT.Execute(LinkData{}); s != "" || err != nil {
		t.Errorf("nil template: %q %v", s, err)
	}
}
