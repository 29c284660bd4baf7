package render

import (
	"fmt"

	amtemplate "github.com/prometheus/alertmanager/template"
)

// A notification can hold thousands of alerts (one 1 MiB webhook: 13,600,
// which made 227 messages that took the chat over for hours at Telegram's
// pace). Render therefore caps what one call produces: at most
// MaxAlertsPerMessage alerts in a message and MaxMessages messages; the
// last message then ends with a summary line, "… and 340 more hosts".
// The alerts left out are in no message (Message.Alerts says which are
// shown): their state is still kept, so they are not sent later either,
// and their resolved messages come the same way. ResolvedEdit is not capped:
// it edits one message, which holds at most MaxAlertsPerMessage alerts.
const (
	MaxAlertsPerMessage = 50
	MaxMessages         = 20
)

// summaryReserve is room kept in the last message for the summary line.
const summaryReserve = 64

// capMessages packs blocks within the caps and appends the summary of the
// alerts left out to the last message.
func (r *Renderer) capMessages(d Data, blocks []string) []Message {
	msgs := pack(blocks, r.limit, r.maxAlerts)
	if len(msgs) <= r.maxMessages {
		return msgs
	}
	msgs = pack(blocks, r.limit-summaryReserve, r.maxAlerts)[:r.maxMessages]
	last := &msgs[len(msgs)-1]
	shown := last.Alerts[len(last.Alerts)-1] + 1
	last.Text += "\n\n" + summary(d.Alerts[shown:])
	return msgs
}

// summary is the line that stands for the alerts left out: "hosts" when
// they are all host-down alerts.
func summary(rest []amtemplate.Alert) string {
	noun := "hosts"
	for _, a := range rest {
		if a.Labels["alertname"] != DownAlert {
			noun = "alerts"
			break
		}
	}
	if len(rest) == 1 {
		noun = noun[:len(noun)-1]
	}
	return fmt.Sprintf("… and %d more %s", len(rest), noun)
}
