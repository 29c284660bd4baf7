package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/chat"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

// chatStore is the store with what acting from the chat needs.
type chatStore interface {
	store.Store
	store.Chat
}

// chatAPI is the part of *telegram.Client that answers the chat. The
// dry-run sender has none of it: no updates are read in --dry-run.
type chatAPI interface {
	Send(ctx context.Context, m telegram.Message) (int, error)
	GetMe(ctx context.Context) (string, error)
	GetUpdates(ctx context.Context, offset int, timeout time.Duration) ([]telegram.Update, error)
	AnswerCallbackQuery(ctx context.Context, id, text string) error
	EditMarkup(ctx context.Context, chatID string, messageID int, text string, markup *tgbotapi.InlineKeyboardMarkup) error
	EditReplyMarkup(ctx context.Context, chatID string, messageID int, markup *tgbotapi.InlineKeyboardMarkup) error
	SetMyCommands(ctx context.Context, cmds []tgbotapi.BotCommand) error
	SetWebhook(ctx context.Context, url, secret string) error
	DeleteWebhook(ctx context.Context) error
	GetWebhookInfo(ctx context.Context) (telegram.WebhookInfo, error)
}

// actions wires receiver/chat into the running receiver: it gives firing
// messages and reminders their buttons (delivery.Keyboard), carries out
// presses and commands, and edits the message after a press.
type actions struct {
	st      chatStore
	lv      *live
	am      liveAM // the configuration's Alertmanager (none without a URL)
	actor   *chat.Actor
	metrics *chat.Metrics
	now     func() time.Time
	logger  *slog.Logger
	rand    io.Reader // callback keys (nil: crypto/rand)
	// pace takes a token from the delivery worker's flood limiter before an
	// edit or an answer in a chat (nil: unpaced), so presses and commands
	// count against the same Telegram limits as the queued messages.
	// answerCallbackQuery is not a chat message and is not paced.
	pace func(ctx context.Context, chat string) error
}

// paced waits for the flood limiter's token for chat; false when ctx ended
// first (the call is then skipped and logged).
func (a *actions) paced(ctx context.Context, chat string) bool {
	if a.pace == nil {
		return true
	}
	if err := a.pace(ctx, chat); err != nil {
		a.logger.Warn("not answering in the chat: stopping", "chat_id", chat, "err", err)
		return false
	}
	return true
}

func newActions(st chatStore, lv *live, m *chat.Metrics, now func() time.Time, logger *slog.Logger) *actions {
	a := &actions{st: st, lv: lv, am: liveAM{lv}, metrics: m, now: now, logger: logger}
	a.actor = &chat.Actor{Store: st, Allowed: func(route string) chat.AllowedUsers { return lv.load().cfg.AllowedUsers(route) },
		Location: lv.load().cfg.Location(), Now: now, Metrics: m, Logger: logger, Silencer: a.am}
	return a
}

func (a *actions) cfg() *config.Config { return a.lv.load().cfg }

// api is the Telegram client of the current configuration, nil in --dry-run.
func (a *actions) api() chatAPI {
	api, _ := a.lv.load().sender.(chatAPI)
	return api
}

// Markup gives a firing message or reminder about one alert its buttons.
// A message about several alerts (a grouped notification) gets none: a
// press could not say which alert it means. The key is made once per
// alert occurrence and shared by its reminders, so a silence or an ack
// pressed on any of them is the same.
func (a *actions) Markup(job store.Job, chatID string) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(job.Alerts) != 1 {
		return nil, nil
	}
	numeric, err := strconv.ParseInt(chatID, 10, 64)
	if err != nil && chatID != dryRunChat {
		return nil, nil // @channel: presses report the numeric id, which the record could not match
	}
	// The --dry-run placeholder chat shows the buttons too (chat id 0 in
	// the record): nothing can press them, but the output shows what a
	// real chat would get.
	ref := job.Alerts[0]
	st, _, err := a.st.FiringMessage(ref)
	if err != nil {
		return nil, err
	}
	var alert template.Alert
	if len(st.Alert) > 0 {
		if err := json.Unmarshal(st.Alert, &alert); err != nil {
			return nil, fmt.Errorf("decoding alert %s: %w", ref.Key(), err)
		}
	}
	key := st.ActionKey
	if key == "" {
		if key, err = a.newKey(job, ref, numeric, alert); err != nil {
			return nil, err
		}
	}
	rec, err := a.st.Action(key)
	if err != nil {
		return nil, err
	}
	return a.keyboard(key, rec, alert).Markup(), nil
}

// newKey records what a new callback key stands for and remembers it on
// the alert's state.
func (a *actions) newKey(job store.Job, ref store.AlertRef, chatID int64, alert template.Alert) (string, error) {
	key, err := chat.NewKey(a.rand)
	if err != nil {
		return "", err
	}
	rec := chat.ActionRecord{Route: ref.Route, ChatID: chatID, ThreadID: job.ThreadID, Fingerprint: ref.Fingerprint,
		StartsAt: ref.StartsAt, Labels: alert.Labels, CreatedAt: a.now()}
	if err := a.st.PutAction(key, rec); err != nil {
		return "", err
	}
	err = a.st.Update(func(tx store.Tx) error {
		st, _, err := tx.AlertState(ref)
		if err != nil {
			return err
		}
		st.ActionKey = key
		return tx.PutAlertState(ref, st)
	})
	return key, err
}

// keyboard is the keyboard of an alert in the state rec records.
func (a *actions) keyboard(key string, rec chat.ActionRecord, alert template.Alert) chat.Keyboard {
	now := a.now()
	cfg := a.cfg()
	_, morning := chat.UntilMorning(now, cfg.Location())
	kb := chat.Keyboard{Key: key, CanSilence: a.am.Enabled(), MorningText: morning, GeneratorURL: alert.GeneratorURL,
		Silenced: rec.Silenced(now), Acked: rec.AckedBy != ""}
	if lt := cfg.Chat.Grafana(); lt != nil {
		if u, err := lt.Execute(chat.LinkData{Labels: alert.Labels, StartsAt: alert.StartsAt}); err == nil {
			kb.GrafanaURL = u
		}
	}
	if urls := a.am.URLs(); len(urls) > 0 {
		if ms, err := alertmanager.SilenceMatchers(alert.Labels); err == nil {
			var ss []string
			for _, m := range ms {
				ss = append(ss, m.String())
			}
			kb.SilenceFormURL = chat.SilenceFormURL(urls[0], ss)
		}
	}
	return kb
}

// Sent records the firing message's id on the key's record (for the
// silence comment's link and the edit after a press).
func (a *actions) Sent(job store.Job, _ string, messageID int) {
	if job.Kind != store.KindFiring || len(job.Alerts) != 1 {
		return
	}
	st, _, err := a.st.FiringMessage(job.Alerts[0])
	if err != nil || st.ActionKey == "" {
		return
	}
	err = a.st.UpdateAction(st.ActionKey, func(r *chat.ActionRecord) error {
		if r.MessageID == 0 {
			r.MessageID = messageID
		}
		return nil
	})
	if err != nil {
		a.logger.Warn("recording the message of a keyboard", "err", err)
	}
}

// press carries out a button press and answers it. The answer comes
// first: the user's client spins until it does.
func (a *actions) press(ctx context.Context, api chatAPI, q *telegram.CallbackQuery) {
	p := chat.Press{ChatUsername: q.ChatUsername, User: chat.User{ID: q.From.ID, Username: q.From.Username}, ChatID: q.ChatID}
	o := a.actor.HandlePress(ctx, p, q.Data)
	if err := api.AnswerCallbackQuery(ctx, q.ID, o.Answer); err != nil {
		a.logger.Warn("answering a button press", "err", err)
	}
	if !o.Changed {
		return
	}
	rec := o.Record
	if rec.Fingerprint == "" {
		return // an Unsilence from /silences: no alert message to change
	}
	ref := store.AlertRef{Route: rec.Route, Fingerprint: rec.Fingerprint, StartsAt: rec.StartsAt}
	st, err := a.syncAck(ref, rec)
	if err != nil {
		a.logger.Error("recording the acknowledgement on the alert", "err", err)
	}
	if err := a.noteIncident(ctx, rec); err != nil {
		a.logger.Warn("recording the press on the incident log", "err", err)
	}
	if st.Resolved {
		return // the resolved edit has replaced the message and its buttons
	}
	var alert template.Alert
	_ = json.Unmarshal(st.Alert, &alert)
	key := st.ActionKey
	markup := a.keyboard(key, rec, alert).Markup()
	chatID := strconv.FormatInt(rec.ChatID, 10)
	if rec.MessageID != 0 && st.Text != "" {
		text := st.Text
		if note := chat.Note(rec, a.now(), a.cfg().Location()); note != "" {
			text += "\n\n" + render.Escape(note)
		}
		if !a.paced(ctx, chatID) {
			return
		}
		if err := api.EditMarkup(ctx, chatID, rec.MessageID, text, markup); err != nil {
			a.logger.Warn("editing the message after a press", "message", rec.MessageID, "err", err)
		}
	}
	if q.MessageID != 0 && (q.MessageID != rec.MessageID || st.Text == "") {
		// Pressed on a reminder, or before the firing message was recorded:
		// change the buttons of the pressed message.
		if !a.paced(ctx, chatID) {
			return
		}
		if err := api.EditReplyMarkup(ctx, chatID, q.MessageID, markup); err != nil {
			a.logger.Warn("changing the buttons of a reminder", "message", q.MessageID, "err", err)
		}
	}
}

// noteIncident records who silenced or acknowledged the alert on its open
// incident (status page, incident API and CLI). Empty fields change
// nothing, so an Unsilence or Unack leaves the history as it was: someone
// did silence it during this incident.
func (a *actions) noteIncident(ctx context.Context, rec chat.ActionRecord) error {
	if rec.SilencedBy == "" && rec.AckedBy == "" {
		return nil
	}
	log := a.st.Incidents()
	open, err := log.List(ctx, incident.Filter{State: incident.StateOpen, Route: rec.Route})
	if err != nil {
		return err
	}
	for _, inc := range open {
		if inc.Key.Fingerprint == rec.Fingerprint {
			_, err := log.Annotate(ctx, inc.ID, incident.Note{SilencedBy: rec.SilencedBy, AcknowledgedBy: rec.AckedBy})
			return err
		}
	}
	return nil
}

// syncAck copies the acknowledgement onto the alert's state, where
// webhook.Decide sees it (no more reminders), and returns the state.
func (a *actions) syncAck(ref store.AlertRef, rec chat.ActionRecord) (store.AlertState, error) {
	var out store.AlertState
	err := a.st.Update(func(tx store.Tx) error {
		st, ok, err := tx.AlertState(ref)
		if err != nil || !ok {
			out = st
			return err
		}
		if st.AckedBy != rec.AckedBy {
			st.AckedBy = rec.AckedBy
			if err := tx.PutAlertState(ref, st); err != nil {
				return err
			}
		}
		out = st
		return nil
	})
	return out, err
}

// command answers /status, /silences and /help in the chat and topic where
// they were asked.
func (a *actions) command(ctx context.Context, api chatAPI, m *telegram.IncomingMessage, bot string) {
	cmd, ok, err := chat.ParseCommand(m.Text, bot)
	if !ok {
		return
	}
	var text string
	var markup *tgbotapi.InlineKeyboardMarkup
	result := chat.ResultOK
	switch {
	case err != nil:
		text = render.Escape(err.Error())
		cmd.Name = "unknown"
		result = chat.ResultInvalid
	case cmd.Name == chat.CmdStatus:
		text, err = a.status(m.ChatID)
	case cmd.Name == chat.CmdSilences:
		text, markup, err = a.silences(ctx, m)
	default:
		text = chat.HelpText(a.am.Enabled())
	}
	if err != nil {
		a.logger.Warn("answering a command", "command", cmd.Name, "err", err)
		text, result = render.Escape("Could not answer: "+err.Error()), chat.ResultFailed
	}
	a.metrics.Actions.WithLabelValues(cmd.Name, result).Inc()
	a.logger.Info("chat command", "command", cmd.Name, "result", result, "chat_id", m.ChatID, "user_id", m.From.ID)
	if !a.paced(ctx, strconv.FormatInt(m.ChatID, 10)) {
		return
	}
	_, err = api.Send(ctx, telegram.Message{ChatID: strconv.FormatInt(m.ChatID, 10), ThreadID: m.ThreadID,
		Text: text, Markup: markup})
	if err != nil {
		a.logger.Warn("sending a command's answer", "command", cmd.Name, "err", err)
	}
}

// status lists what is down in this chat: the alerts held as firing whose
// firing message went to it.
func (a *actions) status(chatID int64) (string, error) {
	held, err := a.st.FiringAlerts()
	if err != nil {
		return "", err
	}
	now := a.now()
	want := strconv.FormatInt(chatID, 10)
	var es []chat.StatusEntry
	for _, h := range held {
		if h.State.ChatID != want {
			continue
		}
		var al template.Alert
		_ = json.Unmarshal(h.State.Alert, &al)
		e := chat.StatusEntry{Host: al.Labels["target"], Alertname: al.Labels["alertname"], Since: render.Since(al),
			AckedBy: h.State.AckedBy}
		if e.Host == "" {
			e.Host = al.Labels["instance"]
		}
		if h.State.ActionKey != "" {
			if rec, err := a.st.Action(h.State.ActionKey); err == nil && rec.Silenced(now) {
				e.SilencedBy, e.SilencedUntil = rec.SilencedBy, rec.SilencedUntil
			}
		}
		es = append(es, e)
	}
	return chat.StatusText(es, now, a.cfg().Location()), nil
}

// silences lists the active silences, each with an Unsilence button whose
// key is made for this chat (and the route of this chat, whose
// allowed_users then apply).
func (a *actions) silences(ctx context.Context, m *telegram.IncomingMessage) (string, *tgbotapi.InlineKeyboardMarkup, error) {
	if !a.am.Enabled() {
		return "Silences need an Alertmanager URL in the receiver's configuration.", nil, nil
	}
	all, err := a.am.ListSilences(ctx)
	if err != nil {
		return "", nil, err
	}
	now := a.now()
	var active []alertmanager.Silence
	for _, s := range all {
		if s.State == "active" {
			active = append(active, s)
		}
	}
	route := a.routeOfChat(m.ChatID)
	keys := make([]string, len(active))
	for i, s := range active {
		key, err := chat.NewKey(a.rand)
		if err != nil {
			return "", nil, err
		}
		rec := chat.ActionRecord{Route: route, ChatID: m.ChatID, ThreadID: m.ThreadID, SilenceID: s.ID,
			SilencedBy: s.CreatedBy, SilencedUntil: s.EndsAt, CreatedAt: now}
		if err := a.st.PutAction(key, rec); err != nil {
			return "", nil, err
		}
		keys[i] = key
	}
	text, markup := chat.SilencesAnswer(active, keys, now, a.cfg().Location())
	return text, markup, nil
}

// routeOfChat is the first route that sends to chatID ("" for the default
// chat or none).
func (a *actions) routeOfChat(chatID int64) string {
	want := strconv.FormatInt(chatID, 10)
	for _, r := range a.cfg().Routes {
		if r.ChatID == want {
			return r.Name
		}
	}
	return ""
}

// handle dispatches one update.
func (a *actions) handle(ctx context.Context, api chatAPI, u telegram.Update, bot string) {
	switch {
	case u.Callback != nil:
		a.press(ctx, api, u.Callback)
	case u.Message != nil && strings.HasPrefix(u.Message.Text, "/"):
		a.command(ctx, api, u.Message, bot)
	}
}
