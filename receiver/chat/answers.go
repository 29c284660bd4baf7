package chat

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/render"
)

// HelpText is the answer to /help, Telegram HTML.
func HelpText(canSilence bool) string {
	var b strings.Builder
	b.WriteString("<b>Buttons on an alert</b>\n")
	if canSilence {
		b.WriteString("🔕 1h, 🔕 until 09:00: silence it in Alertmanager; 🔔 Unsilence ends the silence early.\n")
	}
	b.WriteString("✅ Ack: no more reminders; the recovery is still reported. ↩️ Unack resumes them.\n")
	b.WriteString("📈 graph, 📊 Grafana: open the alert's graph or dashboard.\n\n")
	b.WriteString("<b>Commands</b>\n")
	for _, c := range Commands() {
		fmt.Fprintf(&b, "/%s: %s\n", c.Command, render.Escape(c.Description))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// StatusEntry is one alert for /status.
type StatusEntry struct {
	Host      string // target, else instance
	Alertname string
	Since     time.Time
	// From the chat (ActionRecord) and Alertmanager (reconcile.Decision).
	SilencedBy    string
	SilencedUntil time.Time
	AckedBy       string
	Suppressed    bool // silenced or inhibited in Alertmanager, not from the chat
}

// StatusText answers /status, Telegram HTML, oldest outage first.
func StatusText(es []StatusEntry, now time.Time, loc *time.Location) string {
	if len(es) == 0 {
		return "✅ Nothing is down."
	}
	es = append([]StatusEntry(nil), es...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].Since.Before(es[j].Since) })
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🔴 %d down:\n", len(es))
	for _, e := range es {
		fmt.Fprintf(&b, "• <b>%s</b> %s since %s (%s)", render.Escape(e.Host), render.Escape(e.Alertname),
			e.Since.In(loc).Format("Jan 2 15:04 MST"), render.Duration(now.Sub(e.Since)))
		switch {
		case e.SilencedBy != "" && e.SilencedUntil.After(now):
			fmt.Fprintf(&b, " · 🔕 %s until %s", render.Escape(e.SilencedBy), clockIn(e.SilencedUntil, now, loc))
		case e.Suppressed:
			b.WriteString(" · 🔕 suppressed in Alertmanager")
		}
		if e.AckedBy != "" {
			fmt.Fprintf(&b, " · ✅ %s", render.Escape(e.AckedBy))
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// SilencesAnswer answers /silences: a line per active silence and an
// Unsilence button per silence. keys[i] is the store key made for
// silences[i] (an ActionRecord with SilenceID and the chat); a silence
// without key gets no button. Telegram allows 100 buttons: beyond that
// the list is cut with a note.
func SilencesAnswer(silences []alertmanager.Silence, keys []string, now time.Time, loc *time.Location) (string, *tgbotapi.InlineKeyboardMarkup) {
	if len(silences) == 0 {
		return "No active silences.", nil
	}
	const maxButtons = 100
	var b strings.Builder
	var rows [][]tgbotapi.InlineKeyboardButton
	fmt.Fprintf(&b, "🔕 %d active silences:\n", len(silences))
	for i, s := range silences {
		if i == maxButtons {
			fmt.Fprintf(&b, "… and %d more in Alertmanager\n", len(silences)-maxButtons)
			break
		}
		ms := make([]string, len(s.Matchers))
		for j, m := range s.Matchers {
			ms[j] = m.String()
		}
		fmt.Fprintf(&b, "%d. <code>%s</code> until %s by %s\n", i+1, render.Escape(strings.Join(ms, ", ")),
			clockIn(s.EndsAt, now, loc), render.Escape(s.CreatedBy))
		if i < len(keys) && keys[i] != "" {
			rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(
				fmt.Sprintf("%s %d", TextUnsilence, i+1), Callback{Action: Unsilence, Key: keys[i]}.Data())))
		}
	}
	if len(rows) == 0 {
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
	m := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return strings.TrimSuffix(b.String(), "\n"), &m
}
