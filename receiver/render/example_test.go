package render_test

import (
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
)

func ExampleRenderer_Render() {
	r, err := render.New(config.Templates{}, time.UTC, config.DefaultTimeFormat)
	if err != nil {
		panic(err)
	}
	startsAt := time.Date(2026, 11, 24, 19, 3, 11, 0, time.UTC)
	a := template.Alert{
		Status:      "firing",
		Labels:      template.KV{"alertname": "HostDown", "target": "db1", "job": "ping"},
		Annotations: template.KV{"summary": "no reply to ping", "downtime_for": "1m"},
		StartsAt:    startsAt,
	}
	msgs, _ := r.Render(render.Data{Kind: render.Firing, Alerts: []template.Alert{a}, Now: startsAt})
	fmt.Println(msgs[0].Text)

	msgs, _ = r.Render(render.Data{Kind: render.Reminder, Alerts: []template.Alert{a}, Now: startsAt.Add(time.Hour + 2*time.Minute), Reminder: 2, Reminders: 3})
	fmt.Println(msgs[0].Text)

	a.Status, a.EndsAt = "resolved", startsAt.Add(11*time.Minute)
	msgs, _ = r.Render(render.Data{Kind: render.Resolved, Alerts: []template.Alert{a}})
	fmt.Println(msgs[0].Text, msgs[0].Alerts)
	// Output:
	// 🔴 <b>db1</b> is down
	// <i>no reply to ping</i>
	// down since 2026-11-24 19:02:11 UTC (1m)
	// alertname=HostDown, job=ping
	// 🔴 <b>db1</b> still down for 1h03m (reminder 2 of 3)
	// <i>no reply to ping</i>
	// down since 2026-11-24 19:02:11 UTC
	// ✅ <b>db1</b> is up after 12m (down 19:02:11 → 19:14:11) [0]
}

func ExampleDuration() {
	for _, d := range []time.Duration{45 * time.Second, 12 * time.Minute, 63 * time.Minute, 52 * time.Hour} {
		fmt.Println(render.Duration(d))
	}
	// Output:
	// 45s
	// 12m
	// 1h03m
	// 2d4h
}
