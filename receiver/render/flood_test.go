package render

import (
	"fmt"
	"strings"
	"testing"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
)

// TestFlood: a notification with 1,340 host-down alerts renders at most
// MaxMessages messages of at most MaxAlertsPerMessage alerts, the first
// 1,000 alerts in order, and the last message says "… and 340 more hosts".
func TestFlood(t *testing.T) {
	r := newRenderer(t, config.Templates{Firing: "🔴 <b>{{ .Host }}</b>"})
	alerts := make([]amtemplate.Alert, 1340)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("node%04d", i))
	}
	msgs, err := r.Render(Data{Kind: Firing, Alerts: alerts, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != MaxMessages {
		t.Fatalf("got %d messages, want %d", len(msgs), MaxMessages)
	}
	for i, m := range msgs {
		if len(m.Alerts) != MaxAlertsPerMessage {
			t.Errorf("message %d: got %d alerts, want %d", i, len(m.Alerts), MaxAlertsPerMessage)
		}
	}
	checkMessages(t, msgs, MaxMessages*MaxAlertsPerMessage)
	last := msgs[len(msgs)-1].Text
	if !strings.HasSuffix(last, "\n\n… and 340 more hosts") {
		t.Errorf("last message: got ...%q, want it to end with \"… and 340 more hosts\"", last[max(len(last)-60, 0):])
	}
	golden(t, "flood", msgs)
}

// TestFloodDefaultTemplate: with the built-in template (about 20 alerts
// fit in 4096 characters) the length limit splits first, and the cap
// still holds.
func TestFloodDefaultTemplate(t *testing.T) {
	r := newRenderer(t, config.Templates{})
	alerts := make([]amtemplate.Alert, 13600)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("node%05d.dc1.example.com", i))
	}
	alerts[13599].Labels["alertname"] = "HostPacketLoss"
	msgs, err := r.Render(Data{Kind: Firing, Alerts: alerts, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != MaxMessages {
		t.Fatalf("got %d messages, want %d (was 680 before the cap)", len(msgs), MaxMessages)
	}
	last := msgs[len(msgs)-1]
	shown := last.Alerts[len(last.Alerts)-1] + 1
	checkMessages(t, msgs, shown)
	if want := fmt.Sprintf("… and %d more alerts", 13600-shown); !strings.HasSuffix(last.Text, want) {
		t.Errorf("last message: got ...%q, want it to end with %q (not all are host-down alerts)", last.Text[max(len(last.Text)-60, 0):], want)
	}
}

func TestSummary(t *testing.T) {
	host, loss := alert("a"), lossAlert("b")
	for _, tt := range []struct {
		rest []amtemplate.Alert
		want string
	}{
		{[]amtemplate.Alert{host}, "… and 1 more host"},
		{[]amtemplate.Alert{host, host}, "… and 2 more hosts"},
		{[]amtemplate.Alert{host, loss}, "… and 2 more alerts"},
		{[]amtemplate.Alert{loss}, "… and 1 more alert"},
	} {
		if got := summary(tt.rest); got != tt.want {
			t.Errorf("summary of %d alerts: got %q, want %q", len(tt.rest), got, tt.want)
		}
	}
}
