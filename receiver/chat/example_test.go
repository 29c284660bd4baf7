package chat_test

import (
	"fmt"
	"time"

	"github.com/downtime-detector/downtime/receiver/chat"
)

// The keyboard of a firing message, then after "🔕 1h" and "✅ Ack".
func ExampleKeyboard_Markup() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 24, 14, 5, 0, 0, berlin)
	_, morning := chat.UntilMorning(now, berlin)
	k := chat.Keyboard{
		Key:            "q7Yc2k9xP0aL4mZt",
		CanSilence:     true,
		MorningText:    morning,
		GeneratorURL:   "https://prometheus.example/graph?g0.expr=ping_up",
		GrafanaURL:     "https://grafana.example/d/downtime?var-target=db1.example.lan",
		SilenceFormURL: chat.SilenceFormURL("https://alertmanager.example", []string{`alertname="HostDown"`, `target="db1.example.lan"`}),
	}
	fmt.Println(chat.TextView(k.Markup()))
	fmt.Println(*k.Markup().InlineKeyboard[0][0].CallbackData)
	k.Silenced, k.Acked = true, true
	fmt.Println(chat.TextView(k.Markup()))
	// Output:
	// [🔕 1h] [🔕 until 09:00] [✅ Ack]
	// [📈 graph ↗] [📊 Grafana ↗] [🔕 in Alertmanager ↗]
	// d1:s1h:q7Yc2k9xP0aL4mZt
	// [🔔 Unsilence] [↩️ Unack]
	// [📈 graph ↗] [📊 Grafana ↗]
}

// Parsing untrusted callback_data from a callback query.
func ExampleParseCallback() {
	for _, data := range []string{"d1:ack:q7Yc2k9xP0aL4mZt", "d1:ack:../../etc", "d0:ack:x"} {
		c, err := chat.ParseCallback(data)
		fmt.Println(c.Action, c.Key, err)
	}
	// Output:
	// ack q7Yc2k9xP0aL4mZt <nil>
	//   invalid button data: key has byte 0x2e at 0; want base64url
	//   button from an older version; use /status: version "d0"
}
