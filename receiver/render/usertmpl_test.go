package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

func TestUserTemplates(t *testing.T) {
	db := alert("db1", "team", "R&D")
	tests := []struct {
		name string
		tmpl config.Templates
		data Data
		want string
	}{
		{"values arrive escaped", config.Templates{Firing: `{{ .Labels.team }} {{ .Host | toUpper }}`},
			Data{Kind: Firing, Alerts: []amtemplate.Alert{db}}, "R&amp;D DB1"},
		{"alertmanager functions", config.Templates{Firing: `{{ .Labels.SortedPairs.Names | join "," }} {{ reReplaceAll "[0-9]" "#" .Host }} {{ title "x" }}`},
			Data{Kind: Firing, Alerts: []amtemplate.Alert{db}}, "alertname,job,severity,target,team db# X"},
		{"duration helpers", config.Templates{Reminder: `{{ duration .Duration }} {{ humanizeDuration 3723 }} {{ formatTime .Since "15:04" }} {{ formatTime .Since }}`},
			Data{Kind: Reminder, Alerts: []amtemplate.Alert{db}, Now: start.Add(90 * time.Minute)}, "1h30m 1h 2m 3s 19:02 2026-11-24 19:02:11 UTC"},
		{"htmlEscape for own strings", config.Templates{Firing: `{{ htmlEscape "<b>" }}{{ .Index }}/{{ .Count }} {{ .Kind }} {{ .Receiver }}`},
			Data{Kind: Firing, Receiver: "tg<1>", Alerts: []amtemplate.Alert{db}}, "&lt;b&gt;1/1 firing tg&lt;1&gt;"},
		{"call a built-in", config.Templates{Resolved: `{{ template "builtin.resolved" . }} #{{ .Fingerprint }}`},
			Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(db, time.Minute)}}, "✅ <b>db1</b> is up after 1m (down 19:02:11 → 19:03:11) #fp-db1"},
		{"other kinds keep the built-in", config.Templates{Firing: `x`},
			Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(db, time.Minute)}}, "✅ <b>db1</b> is up after 1m (down 19:02:11 → 19:03:11)"},
		{"reminder numbers", config.Templates{FinalReminder: `{{ .Reminder }}/{{ .Reminders }}`},
			Data{Kind: FinalReminder, Alerts: []amtemplate.Alert{db}, Reminder: 3, Reminders: 3}, "3/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := newRenderer(t, tt.tmpl).Render(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Text != tt.want {
				t.Errorf("got %+v, want %q", msgs, tt.want)
			}
		})
	}
}

func TestUserTemplateErrors(t *testing.T) {
	db := alert("db1")
	tests := []struct {
		name string
		tmpl config.Templates
		kind Kind
		want string // New error, or Render error if New succeeds
	}{
		{"parse error names template and line", config.Templates{Reminder: "ok\n{{ .Host }\n"}, Reminder,
			`template "reminder" (templates.reminder): template: reminder:2: unexpected "}" in operand`},
		{"unknown function", config.Templates{Firing: "{{ nope .Host }}"}, Firing,
			`template "firing" (templates.firing): template: firing:1: function "nope" not defined`},
		{"execution error", config.Templates{Firing: "{{ .Nope }}"}, Firing,
			`template "firing": template: firing:1:3: executing "firing" at <.Nope>: can't evaluate field Nope in type render.Context`},
		{"invalid HTML", config.Templates{Firing: "<b>{{ .Host }}"}, Firing,
			`template "firing" produced invalid Telegram HTML: unclosed <b>`},
		{"span without tg-spoiler class", config.Templates{Resolved: "<span>{{ .Host }}</span>"}, Resolved,
			`template "resolved" produced invalid Telegram HTML: offset 0: <span> must have class="tg-spoiler"`},
		{"custom emoji id", config.Templates{Firing: `<tg-emoji emoji-id="x">🔴</tg-emoji>`}, Firing,
			`template "firing" produced invalid Telegram HTML: offset 0: <tg-emoji> needs a positive numeric emoji-id, got "x"`},
		{"empty output", config.Templates{Firing: "{{ if false }}x{{ end }}"}, Firing,
			`render: template "firing" produced empty messages`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.tmpl, time.UTC, "")
			if err == nil {
				_, err = r.Render(Data{Kind: tt.kind, Alerts: []amtemplate.Alert{db}, Now: start})
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %s", err, tt.want)
			}
		})
	}
}

// TestTemplateFromConfigFile: a template file referenced by the config is
// parsed with its path in errors.
func TestTemplateFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("firing.tmpl", "🔥 {{ .Host }}\n{{ end }}\n")
	write("c.yml", "telegram: {bot_token: \"1:x\", chat_id: \"1\"}\ntemplates: {firing_file: firing.tmpl}\n")
	cfg, err := config.Load(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg.Templates, cfg.Location(), cfg.Format())
	if want := `template "firing" (firing.tmpl): template: firing:2: unexpected {{end}}`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	write("firing.tmpl", "🔥 {{ .Host }}\n")
	if cfg, err = config.Load(filepath.Join(dir, "c.yml")); err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg.Templates, time.UTC, "")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.Render(Data{Kind: Firing, Alerts: []amtemplate.Alert{alert("db<1>")}})
	if err != nil || strings.TrimSpace(msgs[0].Text) != "🔥 db&lt;1&gt;" {
		t.Errorf("got %+v, %v, want %q", msgs, err, "🔥 db&lt;1&gt;")
	}
}

// TestTemplatesExample renders the examples of receiver/TEMPLATES.md.
func TestTemplatesExample(t *testing.T) {
	cfg, err := config.Load("testdata/templates-example.yml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := alert("db1", "site", "fra")
	a.GeneratorURL = `http://prometheus:9090/graph?g0.expr=ping_up{target="db1"}&g0.tab=1`
	tests := []struct {
		data Data
		want string
	}{
		{Data{Kind: Firing, Alerts: []amtemplate.Alert{a}},
			`🔴 <b>db1</b> down since 19:02 <a href="http://prometheus:9090/graph?g0.expr=ping_up{target=&quot;db1&quot;}&amp;g0.tab=1">graph</a>`},
		{Data{Kind: Reminder, Alerts: []amtemplate.Alert{a}, Now: start.Add(time.Hour), Reminder: 2, Reminders: 3},
			"🔴 <b>db1</b> still down for 1h (reminder 2 of 3)\n<i>db1 does not answer ping</i>\ndown since 2026-11-24 19:02:11 UTC [fra]"},
		{Data{Kind: Resolved, Alerts: []amtemplate.Alert{resolved(a, 90*time.Second)}},
			"✅ db1 back after 1m"},
	}
	for _, tt := range tests {
		t.Run(string(tt.data.Kind), func(t *testing.T) {
			msgs, err := r.Render(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if msgs[0].Text != tt.want {
				t.Errorf("got\n%s\nwant\n%s", msgs[0].Text, tt.want)
			}
		})
	}
}

// TestTemplatesDocMatches: the messages and the built-in firing template
// shown in receiver/TEMPLATES.md are the ones the code produces.
func TestTemplatesDocMatches(t *testing.T) {
	doc, err := os.ReadFile("../TEMPLATES.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```\n"+builtins[Firing]+"\n```") {
		t.Errorf("TEMPLATES.md: got no copy of the built-in firing template, want\n%s", builtins[Firing])
	}
	for _, name := range []string{"firing", "reminder", "final_reminder", "resolved", "resolved_edit", "resolved_next_day",
		"loss_firing", "loss_reminder", "loss_final_reminder", "loss_resolved", "loss_resolved_edit", "exporter_down_firing", "exporter_down_resolved",
		"heartbeat_lost", "heartbeat_back"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		_, text, _ := strings.Cut(string(b), "\n") // drop the "----- message" line
		if !strings.Contains(string(doc), "```\n"+text+"```") {
			t.Errorf("TEMPLATES.md: got no example of %s.golden, want\n%s", name, text)
		}
	}
}
