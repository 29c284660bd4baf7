package render

// Built-in templates, Telegram HTML. They execute once per alert against a
// Context whose label and annotation values are already HTML-escaped.
// Users can call them from their own templates as
// {{ template "builtin.firing" . }}.
var builtins = map[Kind]string{
	Firing: `🔴 <b>{{ .Host }}</b> is down
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
{{- with .Description }}
{{ . }}{{ end }}
down since {{ formatTime .Since }}
{{- if ge .Duration.Minutes 1.0 }} ({{ duration .Duration }}){{ end }}
{{- with .LabelText }}
{{ . }}{{ end }}`,

	Reminder: `🔴 <b>{{ .Host }}</b> still down for {{ duration .Duration }}
{{- if .Reminders }} (reminder {{ .Reminder }} of {{ .Reminders }}){{ end }}
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
down since {{ formatTime .Since }}`,

	FinalReminder: `🔴 <b>{{ .Host }}</b> still down for {{ duration .Duration }}; no more reminders until it recovers
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
down since {{ formatTime .Since }}`,

	Resolved: `✅ <b>{{ .Host }}</b> is up after {{ duration .Duration }} (down {{ timeRange .Since .Until }})`,

	ResolvedEdit: `✅ <s>{{ .Host }} is down</s> resolved after {{ duration .Duration }}
{{- with .Summary }}
<i>{{ . }}</i>{{ end }}
{{- with .Description }}
{{ . }}{{ end }}
down {{ timeRange .Since .Until }}
{{- with .LabelText }}
{{ . }}{{ end }}`,
}
