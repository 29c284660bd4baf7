package render

// Built-in templates, Telegram HTML. They execute once per alert against a
// Context whose label and annotation values are already HTML-escaped.
// Users can call them from their own templates as
// {{ template "builtin.firing" . }}.
//
// Only a host-down alert (.Down) is worded "<host> is down"; any other
// alert (packet loss, latency, an exporter not scraped) is headed by its
// summary, and its times say "since" and "for", never "down".
//
// The topology alerts (rules/README.md, "One cause, one message") have
// their own wording: a down parent names the hosts behind it
// (.BehindText), a vantage HostDown says from where (.Vantages), a
// ProberCutOff (.CutOff) blames the prober's own network and says when it
// reaches its hosts again, a HostPathDown (.PathDown) is a path problem,
// never "is down".
var builtins = map[Kind]string{
	Firing: `{{ if .CutOff }}⚠️ prober <b>{{ .Host }}</b>{{ with .Labels.vantage }} (vantage {{ . }}){{ end }} cannot reach any of its {{ with .Hosts }}{{ . }} {{ end }}hosts: its own network is likely down
its hosts are not reported down while this lasts
{{- else }}
{{- if .PathDown }}🟠 <b>{{ .Host }}</b> is unreachable from {{ or .Vantages "some vantage points" }} only: a path problem, not down
{{- else if .Down }}🔴 <b>{{ .Host }}</b> is down
{{- with .Vantages }} from {{ . }}{{ if $.VantagesTotal }} ({{ $.VantagesDown }} of {{ $.VantagesTotal }}){{ end }}{{ end }}
{{- with .BehindText }} — {{ . }}{{ end }}
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
{{- else }}{{ .Icon }} {{ .Headline }}{{ end }}
{{- with .Description }}
{{ . }}{{ end }}
{{- end }}
{{ if .Down }}down {{ end }}since {{ formatTime .Since }}
{{- if ge .Duration.Minutes 1.0 }} ({{ duration .Duration }}){{ end }}
{{- with .LabelText }}
{{ . }}{{ end }}`,

	Reminder: `{{ if .Down }}🔴 <b>{{ .Host }}</b> still down for {{ duration .Duration }}
{{- if .Reminders }} (reminder {{ .Reminder }} of {{ .Reminders }}){{ end }}
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
down since {{ formatTime .Since }}
{{- else }}{{ .Icon }} {{ .Headline }}
for {{ duration .Duration }}
{{- if .Reminders }} (reminder {{ .Reminder }} of {{ .Reminders }}){{ end }}, since {{ formatTime .Since }}
{{- end }}`,

	FinalReminder: `{{ if .Down }}🔴 <b>{{ .Host }}</b> still down for {{ duration .Duration }}; no more reminders until it recovers
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
down since {{ formatTime .Since }}
{{- else }}{{ .Icon }} {{ .Headline }}
for {{ duration .Duration }}, since {{ formatTime .Since }}; no more reminders until it resolves
{{- end }}`,

	Resolved: `{{ if .CutOff }}✅ prober <b>{{ .Host }}</b> reaches its hosts again after {{ duration .Duration }} ({{ timeRange .Since .Until }})
{{- else if .Down }}✅ <b>{{ .Host }}</b> is up after {{ duration .Duration }} (down {{ timeRange .Since .Until }})
{{- else }}✅ resolved after {{ duration .Duration }}: {{ .Headline }} ({{ timeRange .Since .Until }}){{ end }}`,

	ResolvedEdit: `{{ if .Down }}✅ <s>{{ .Host }} is down</s>{{ else }}✅ <s>{{ .Headline }}</s>{{ end }} resolved after {{ duration .Duration }}
{{- if .Down }}{{ with .Summary }}
<i>{{ . }}</i>{{ end }}{{ end }}
{{- with .Description }}
{{ . }}{{ end }}
{{ if .Down }}down {{ end }}{{ timeRange .Since .Until }}
{{- with .LabelText }}
{{ . }}{{ end }}`,

	HeartbeatLost: `⚠️ no heartbeat from Alertmanager since {{ template "heartbeat.since" . }} ({{ duration .Duration }}): alerts may not be reaching you
{{- template "heartbeat.source" . }}`,

	HeartbeatBack: `✅ monitoring is back after {{ duration .Duration }} (no heartbeat {{ timeRange .Since .Until }})
{{- template "heartbeat.source" . }}`,
}

// helpers are templates the built-in ones share. heartbeat.source names
// the silent source: the Alertmanager (its external URL), its receiver and
// the route, as far as they are known.
var helpers = `{{ define "heartbeat.since" }}
{{- if eq (formatTime .Since "2006-01-02") (formatTime .Now "2006-01-02") }}{{ formatTime .Since "15:04" }}
{{- else }}{{ formatTime .Since }}{{ end }}
{{- end }}
{{- define "heartbeat.source" }}{{ if or .ExternalURL .Receiver .Route }}
<i>{{ with .ExternalURL }}{{ . }}{{ if or $.Receiver $.Route }}, {{ end }}{{ end }}
{{- with .Receiver }}receiver {{ . }}{{ if $.Route }}, {{ end }}{{ end }}
{{- with .Route }}route {{ . }}{{ end }}</i>
{{- end }}{{ end }}`
