package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

// Silencer is the Alertmanager side of the buttons: *alertmanager.Client.
type Silencer interface {
	CreateSilence(ctx context.Context, r alertmanager.SilenceRequest) (alertmanager.Created, error)
	ExpireSilence(ctx context.Context, id string) error
}

// Actor carries out button presses: parse, look up, check who may act, call
// Alertmanager, record. It does not talk to Telegram: the caller answers the
// callback query with Outcome.Answer and, when Outcome.Changed, edits the
// message with Outcome.Record (Note and the keyboard from Silenced/Acked).
type Actor struct {
	Store    Store
	Silencer Silencer // nil without --alertmanager.url
	// Allowed returns a route's allowed_users (empty: anyone in the chat).
	Allowed  func(route string) AllowedUsers
	Location *time.Location // for "until 09:00"; nil means 24 h
	Now      func() time.Time
	Metrics  *Metrics // may be nil
	Logger   *slog.Logger

	// mu serialises presses so that two people pressing "1h" at once make
	// one silence, not two. Presses are rare; the Alertmanager call is
	// bounded by the client's timeout.
	mu sync.Mutex
}

// Outcome of one press.
type Outcome struct {
	Action  Action // empty when the data did not parse
	Result  string // one of Results
	Answer  string // text for answerCallbackQuery (at most 200 characters)
	Changed bool   // the message should be edited
	Record  ActionRecord
}

// Press texts.
const (
	answerInvalid    = "This button is not valid."
	answerStale      = "This button is no longer valid; use /status."
	answerNoAM       = "Silencing needs an Alertmanager URL in the receiver's configuration."
	answerStoreError = "Could not record this; try again."
)

// HandlePress handles one callback query. It never panics on bad input and
// always returns an answer for the user.
func (a *Actor) HandlePress(ctx context.Context, p Press, data string) Outcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.handle(ctx, p, data)
	action := string(o.Action)
	if action == "" {
		action = "unknown"
	}
	if a.Metrics != nil {
		a.Metrics.Actions.WithLabelValues(action, o.Result).Inc()
	}
	a.logger().Info("chat action", "action", action, "result", o.Result, "user_id", p.User.ID,
		"username", p.User.Username, "chat_id", p.ChatID, "answer", o.Answer)
	return o
}

func (a *Actor) handle(ctx context.Context, p Press, data string) Outcome {
	cb, err := ParseCallback(data)
	switch {
	case errors.Is(err, ErrStale):
		return Outcome{Result: ResultStale, Answer: answerStale}
	case err != nil:
		return Outcome{Result: ResultInvalid, Answer: answerInvalid}
	}
	o := Outcome{Action: cb.Action}
	rec, err := a.Store.Action(cb.Key)
	switch {
	case errors.Is(err, ErrUnknownKey):
		o.Result, o.Answer = ResultStale, answerStale
		return o
	case err != nil:
		o.Result, o.Answer = ResultFailed, answerStoreError
		return o
	}
	var allowed AllowedUsers
	if a.Allowed != nil {
		allowed = a.Allowed(rec.Route)
	}
	if err := Authorize(p, rec.ChatID, allowed); err != nil {
		o.Result, o.Answer, o.Record = ResultNotAllowed, capitalise(err.Error())+".", rec
		return o
	}
	now := a.now()
	var update func(*ActionRecord)
	switch cb.Action {
	case SilenceHour, SilenceMorning:
		o, update = a.silence(ctx, p, cb.Action, rec, now)
	case Unsilence:
		o, update = a.unsilence(ctx, rec, now)
	case Ack:
		if rec.AckedBy != "" {
			o.Answer = "Already acknowledged by " + rec.AckedBy + "."
			break
		}
		o.Answer = "Acknowledged: no more reminders; the recovery will still be reported."
		update = func(r *ActionRecord) { r.AckedBy, r.AckedAt = p.User.Display(), now }
	case Unack:
		if rec.AckedBy == "" {
			o.Answer = "Not acknowledged."
			break
		}
		o.Answer = "Acknowledgement removed: reminders resume."
		update = func(r *ActionRecord) { r.AckedBy, r.AckedAt = "", time.Time{} }
	}
	o.Action = cb.Action
	if o.Result == "" {
		o.Result = ResultOK
	}
	if update == nil {
		o.Record = rec
		return o
	}
	err = a.Store.UpdateAction(cb.Key, func(r *ActionRecord) error { update(r); rec = *r; return nil })
	if err != nil {
		a.logger().Error("chat action not recorded", "key", cb.Key, "err", err)
		o.Result, o.Answer = ResultFailed, answerStoreError
		return o
	}
	o.Changed, o.Record = true, rec
	return o
}

func (a *Actor) silence(ctx context.Context, p Press, act Action, rec ActionRecord, now time.Time) (Outcome, func(*ActionRecord)) {
	o := Outcome{Action: act}
	if a.Silencer == nil {
		o.Result, o.Answer = ResultFailed, answerNoAM
		return o, nil
	}
	if rec.SilenceID != "" && rec.SilencedUntil.After(now) {
		o.Answer = "Already silenced by " + rec.SilencedBy + " until " + a.clock(rec.SilencedUntil) + "."
		return o, nil
	}
	until := now.Add(time.Hour)
	if act == SilenceMorning {
		until, _ = UntilMorning(now, a.Location)
	}
	created, err := a.Silencer.CreateSilence(ctx, alertmanager.SilenceRequest{Labels: rec.Labels,
		CreatedBy: p.User.CreatedBy(), Comment: SilenceComment(p.User, MessageLink(rec.ChatID, p.ChatUsername, rec.MessageID)),
		StartsAt: now, EndsAt: until})
	if errors.Is(err, alertmanager.ErrNotConfigured) {
		// Removed from the configuration by a reload since the buttons were sent.
		o.Result, o.Answer = ResultFailed, answerNoAM
		return o, nil
	}
	if err != nil {
		a.logger().Warn("silence failed", "err", err)
		o.Result, o.Answer = ResultFailed, shortAnswer("Not silenced: "+err.Error())
		return o, nil
	}
	o.Answer = "Silenced until " + a.clock(until) + "."
	return o, func(r *ActionRecord) {
		r.SilenceID, r.SilencedBy, r.SilencedUntil = created.ID, p.User.Display(), until
	}
}

func (a *Actor) unsilence(ctx context.Context, rec ActionRecord, now time.Time) (Outcome, func(*ActionRecord)) {
	o := Outcome{Action: Unsilence}
	clear := func(r *ActionRecord) { r.SilenceID, r.SilencedBy, r.SilencedUntil = "", "", time.Time{} }
	if rec.SilenceID == "" || !rec.SilencedUntil.After(now) {
		o.Answer = "Not silenced (any more)."
		if rec.SilenceID != "" {
			return o, clear
		}
		return o, nil
	}
	if a.Silencer == nil {
		o.Result, o.Answer = ResultFailed, answerNoAM
		return o, nil
	}
	err := a.Silencer.ExpireSilence(ctx, rec.SilenceID)
	switch {
	case errors.Is(err, alertmanager.ErrNotConfigured):
		o.Result, o.Answer = ResultFailed, answerNoAM
		return o, nil
	case errors.Is(err, alertmanager.ErrSilenceNotFound):
		o.Answer = "The silence was already gone."
	case err != nil:
		a.logger().Warn("unsilence failed", "silence", rec.SilenceID, "err", err)
		o.Result, o.Answer = ResultFailed, shortAnswer("Still silenced: "+err.Error())
		return o, nil
	default:
		o.Answer = "Unsilenced."
	}
	return o, clear
}

// Note is the line the edited message carries after presses, e.g.
// "🔕 silenced by @alice until 10:05 · ✅ acknowledged by @bob".
func Note(r ActionRecord, now time.Time, loc *time.Location) string {
	var s string
	if r.SilenceID != "" && r.SilencedUntil.After(now) {
		s = "🔕 silenced by " + r.SilencedBy + " until " + clockIn(r.SilencedUntil, now, loc)
	}
	if r.AckedBy != "" {
		if s != "" {
			s += " · "
		}
		s += "✅ acknowledged by " + r.AckedBy
	}
	return s
}

// Silenced reports whether the record has a silence that has not ended.
func (r ActionRecord) Silenced(now time.Time) bool {
	return r.SilenceID != "" && r.SilencedUntil.After(now)
}

func (a *Actor) clock(t time.Time) string { return clockIn(t, a.now(), a.Location) }

// clockIn formats t as "15:04" when it is within a day of now, else with
// the date, in loc (UTC when nil) with the zone name.
func clockIn(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if t.Sub(now) < 24*time.Hour {
		return t.Format("15:04 MST")
	}
	return t.Format("Jan 2 15:04 MST")
}

func (a *Actor) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Actor) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// shortAnswer keeps an answerCallbackQuery text within Telegram's 200 characters.
func shortAnswer(s string) string {
	r := []rune(s)
	if len(r) > 200 {
		return string(r[:199]) + "…"
	}
	return s
}
