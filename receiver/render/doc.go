// Package render turns Alertmanager alerts into Telegram HTML messages
// (parse_mode HTML).
//
// # Use
//
//	r, err := render.FromConfig(cfg) // = render.New(cfg.Templates, cfg.Location(), cfg.Format())
//	msgs, err := r.Render(render.Data{
//		Kind:   render.Firing,       // Reminder, FinalReminder, Resolved, ResolvedEdit
//		Alerts: notification.Alerts, // []template.Alert from the webhook payload
//		Now:    now,                 // durations of firing alerts are measured to Now
//	})
//	for _, m := range msgs {
//		// send m.Text; m.Alerts are the indexes (in Data.Alerts) of the
//		// alerts in this message: store the message id for each of them.
//	}
//
// Kinds: Firing (new alerts), Reminder (Data.Reminder of Data.Reminders),
// FinalReminder ("still down for 1h; no more reminders until it
// recovers"), Resolved (send it as a reply to the firing message) and
// ResolvedEdit (the text to edit the firing message to; pass the alerts
// that message holds: resolved ones are shown struck through, firing ones
// unchanged; the result is always one message). Use config.Reminders.Due
// and IsFinal, measured from [Since], to choose Reminder or FinalReminder.
//
// With the built-in templates Render fails only for no alerts or an unknown
// kind. A user template can fail to execute or produce invalid Telegram
// HTML (checked with [Validate]); the error names the template, and
// render.New(config.Templates{}, ...) gives a built-in fallback. A user
// template that renders an alert as empty text drops that alert: it is then
// in no Message.Alerts.
//
// # Messages
//
// Each template renders ONE alert as a block; a notification with several
// alerts is one block per alert, separated by a blank line. A message is at
// most MaxLength (4096) UTF-16 units counted on the raw HTML (conservative:
// Telegram counts code points after parsing entities) with at most MaxEntities (100) tags,
// which is all Telegram formats, split only between blocks. A block
// too long on its own is rendered again with every label and annotation value
// cut to 1024, 256, 64, then 16 characters ("…"); values are cut before they
// are escaped, so no tag or entity is ever split. Built-in examples:
//
//	🔴 <b>db1.example.com</b> is down
//	<i>db1.example.com does not answer ping</i>
//	down since 2026-11-24 19:02:11 UTC (1m)
//	alertname=HostDown, job=ping, severity=critical
//
//	🔴 <b>db1.example.com</b> still down for 1h03m (reminder 2 of 3)
//	🔴 <b>db1.example.com</b> still down for 1h; no more reminders until it recovers
//	✅ <b>db1.example.com</b> is up after 12m (down 19:02:11 → 19:14:11)
//	✅ <s>db1.example.com is down</s> resolved after 12m
//
// The host is the first of the labels target, instance, host (else the
// alertname); the summary annotation is shown in italics, the description
// below it, the other labels compactly.
//
// Only a host-down alert (alertname HostDown, or one without a summary;
// Alert.Down) is worded "is down". Any other alert is headed by its summary
// with the host in bold (Alert.Headline), and says "since" and "for":
//
//	🔴 <b>db1.example.com</b> loses 23.5% of pings
//	for 31m (reminder 2 of 3), since 2026-11-24 19:02:11 UTC
//	✅ resolved after 22m: <b>db1.example.com</b> loses 23.5% of pings (19:02:11 → 19:24:11)
//	✅ <s><b>db1.example.com</b> loses 23.5% of pings</s> resolved after 22m
//
// # Durations
//
// Durations come from the alert's StartsAt/EndsAt (and Data.Now while
// firing), not from when the webhook arrived. Prometheus sets StartsAt when
// the rule fires, after its "for:". An annotation (or label) downtime_since
// with the start in unix seconds (HostDown: the host's last reply), or else
// downtime_for holding the "for" duration (for: 1m -> downtime_for: 1m),
// moves the start back so "down since" is the real start ([Since]).
// [Duration] formats them:
// "45s", "12m", "1h03m", "2d4h".
//
// # Templates
//
// User templates (config.Templates) are Go text/template executed once per
// alert against a [Context]: the alert (.Labels, .Annotations, .StartsAt,
// .EndsAt, .Fingerprint, .Host, .Summary, .Description, .Down, .Headline,
// .LabelText, .Since, .Until, .Duration, and from the topology rules
// .Icon, .Behind, .BehindHosts, .BehindText, .Vantages, .VantagesDown,
// .VantagesTotal, .CutOff, .Hosts, .PathDown: see [Topology]) plus .Kind, .Receiver, .Route,
// .Now, .Reminder, .Reminders, .Index, .Count, .ExternalURL. Label and
// annotation values (and every string derived from them) are already
// HTML-escaped: print them as they are. Functions: Alertmanager's (toUpper, toLower, title,
// trimSpace, join, match, reReplaceAll, safeHtml, stringSlice, date, tz,
// since, humanizeDuration, toJson, list, dict, ...) plus
//
//	duration .Duration          "1h03m"
//	formatTime .Since ["15:04"] in the configured time zone and format
//	timeRange .Since .Until     "19:02:11 → 19:14:11" (dates when days differ)
//	htmlEscape "a<b"            for strings the template builds itself
//
// The built-ins are available as {{ template "builtin.firing" . }} (and
// builtin.reminder, builtin.final_reminder, builtin.resolved,
// builtin.resolved_edit). See receiver/TEMPLATES.md.
package render
