package chat

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/downtime-detector/downtime/receiver/config"
)

// Button texts. The silence button texts contain "1h" and the morning hour
// so that the message says what a press does.
const (
	TextSilenceHour = "🔕 1h"
	TextSilence24h  = "🔕 24h"
	TextAck         = "✅ Ack"
	TextUnsilence   = "🔔 Unsilence"
	TextUnack       = "↩️ Unack"
	TextGraph       = "📈 graph"
	TextGrafana     = "📊 Grafana"
	TextSilenceForm = "🔕 in Alertmanager"
)

// MorningHour is the hour of "until tomorrow morning".
const MorningHour = 9

// UntilMorning returns the next MorningHour:00 in loc that is at least an
// hour after now (so a press at 08:30 silences until tomorrow, not for half
// an hour), and the button text. Without a location it is 24 hours.
func UntilMorning(now time.Time, loc *time.Location) (time.Time, string) {
	if loc == nil {
		return now.Add(24 * time.Hour), TextSilence24h
	}
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), MorningHour, 0, 0, 0, loc)
	for t.Sub(now) < time.Hour {
		t = time.Date(t.Year(), t.Month(), t.Day()+1, MorningHour, 0, 0, 0, loc)
	}
	return t, fmt.Sprintf("🔕 until %02d:00", MorningHour)
}

// Keyboard says what the buttons of one firing message or reminder are.
type Keyboard struct {
	// Key is the store key of this message's actions; empty means no
	// callback buttons (only URLs).
	Key string
	// CanSilence: an Alertmanager URL is configured.
	CanSilence bool
	// MorningText is the text from UntilMorning.
	MorningText string
	// URLs of the URL buttons; empty or unusable ones are left out.
	GeneratorURL, GrafanaURL, SilenceFormURL string
	// State after presses.
	Silenced, Acked bool
}

// Markup builds the inline keyboard: the actions row (silence 1h, silence
// until morning, ack; or unsilence/unack after a press) and a row of links.
// It returns nil when there is no button at all (Telegram refuses an empty
// inline_keyboard).
func (k Keyboard) Markup() *tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	var actions []tgbotapi.InlineKeyboardButton
	btn := func(text string, a Action) tgbotapi.InlineKeyboardButton {
		return tgbotapi.NewInlineKeyboardButtonData(text, Callback{Action: a, Key: k.Key}.Data())
	}
	if k.Key != "" {
		switch {
		case k.Silenced:
			actions = append(actions, btn(TextUnsilence, Unsilence))
		case k.CanSilence:
			morning := k.MorningText
			if morning == "" {
				morning = TextSilence24h
			}
			actions = append(actions, btn(TextSilenceHour, SilenceHour), btn(morning, SilenceMorning))
		}
		if k.Acked {
			actions = append(actions, btn(TextUnack, Unack))
		} else if !k.Silenced {
			actions = append(actions, btn(TextAck, Ack))
		}
	}
	if len(actions) > 0 {
		rows = append(rows, actions)
	}
	var links []tgbotapi.InlineKeyboardButton
	for _, l := range []struct{ text, url string }{
		{TextGraph, k.GeneratorURL}, {TextGrafana, k.GrafanaURL}, {TextSilenceForm, k.SilenceFormURL},
	} {
		if ButtonURL(l.url) {
			links = append(links, tgbotapi.NewInlineKeyboardButtonURL(l.text, l.url))
		}
	}
	if k.Silenced || !k.CanSilence {
		// The form is for silencing; no point once silenced.
		links = dropText(links, TextSilenceForm)
	}
	if len(links) > 0 {
		rows = append(rows, links)
	}
	if len(rows) == 0 {
		return nil
	}
	m := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &m
}

func dropText(bs []tgbotapi.InlineKeyboardButton, text string) []tgbotapi.InlineKeyboardButton {
	out := bs[:0]
	for _, b := range bs {
		if b.Text != text {
			out = append(out, b)
		}
	}
	return out
}

// ButtonURL reports whether Telegram can take u as a URL button: http or
// https with a host name that has a dot, not localhost or a loopback
// address. Telegram refuses the whole message (400 BUTTON_URL_INVALID) for
// one bad URL button, and Prometheus' default generatorURL is often
// http://<hostname>:9090, so a doubtful URL is left out rather than risk the
// alert itself.
func ButtonURL(u string) bool {
	if u == "" || len(u) > 2048 {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.User != nil {
		return false
	}
	h := p.Hostname()
	if ip := net.ParseIP(h); ip != nil {
		return !ip.IsLoopback() && !ip.IsUnspecified()
	}
	return strings.Contains(h, ".") && !strings.HasSuffix(h, ".localhost") && h != "localhost"
}

// SilenceFormURL links Alertmanager's "new silence" form, prefilled with the
// matchers (the same ones a button would silence on).
func SilenceFormURL(alertmanagerURL string, matchers []string) string {
	if alertmanagerURL == "" || len(matchers) == 0 {
		return ""
	}
	filter := "{" + strings.Join(matchers, ",") + "}"
	return strings.TrimSuffix(alertmanagerURL, "/") + "/#/silences/new?filter=" + url.QueryEscape(filter)
}

// LinkTemplate is a URL template from the config (config.LinkTemplate),
// e.g. a Grafana dashboard.
type LinkTemplate = config.LinkTemplate

// LinkData is what a LinkTemplate sees.
type LinkData = config.LinkData

// ParseLinkTemplate parses s (see config.ParseLinkTemplate).
func ParseLinkTemplate(name, s string) (*LinkTemplate, error) {
	return config.ParseLinkTemplate(name, s)
}

// TextView draws a keyboard as text, one line per row, for logs, the dry-run
// demo and tests: [🔕 1h] [🔕 until 09:00] [✅ Ack] / [📈 graph ↗].
func TextView(m *tgbotapi.InlineKeyboardMarkup) string {
	if m == nil {
		return "(no buttons)"
	}
	var lines []string
	for _, row := range m.InlineKeyboard {
		var cells []string
		for _, b := range row {
			if b.URL != nil {
				cells = append(cells, "["+b.Text+" ↗]")
			} else {
				cells = append(cells, "["+b.Text+"]")
			}
		}
		lines = append(lines, strings.Join(cells, " "))
	}
	return strings.Join(lines, "\n")
}
