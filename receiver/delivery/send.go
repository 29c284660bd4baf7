package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

// process sends one job and records the outcome: completed (with the
// message ids, in the transaction that removes the job), retried later, or
// dead-lettered.
func (w *Worker) process(ctx context.Context, job store.Job) {
	sent, err := w.send(ctx, job)
	now := w.opts.Clock.Now()
	if err == nil {
		w.complete(job, sent, now)
		return
	}
	w.failed(job, err, now)
}

func (w *Worker) complete(job store.Job, sent []store.Sent, now time.Time) {
	if err := w.opts.Store.Complete(job, sent, now); err != nil {
		// The message went out but the store cannot record it (disk full?):
		// back off rather than resend in a tight loop.
		d := w.backoff(job, 0, now)
		w.opts.Logger.Error("recording sent job; it will be sent again", "job", job.ID, "in", d, "err", err)
		return
	}
	delete(w.retry, job.ID)
	if len(sent) == 0 { // skipped reminder, or edit without a firing message
		return
	}
	w.metrics.sent.WithLabelValues(string(job.Kind)).Add(float64(len(sent)))
	w.metrics.latency.Observe(now.Sub(job.Enqueued).Seconds())
	w.opts.Logger.Debug("job sent", "job", job.ID, "kind", job.Kind, "chat", job.ChatID, "alerts", len(job.Alerts))
}

func (w *Worker) send(ctx context.Context, job store.Job) ([]store.Sent, error) {
	chat, err := w.opts.Store.ChatFor(job.ChatID)
	if err != nil {
		return nil, err
	}
	switch job.Kind {
	case store.KindReminder:
		if w.allResolved(job) {
			w.opts.Logger.Debug("skipping reminder: its alerts resolved while it was queued", "job", job.ID)
			return nil, nil
		}
		return w.sendMessage(ctx, job, chat, 0)
	case store.KindEdit:
		return w.edit(ctx, job)
	case store.KindResolved:
		return w.sendMessage(ctx, job, chat, w.replyTo(job, chat))
	default:
		return w.sendMessage(ctx, job, chat, 0)
	}
}

// callCtx is the context of one Telegram call. It is detached from ctx so
// that stopping the receiver lets a call in flight finish and be recorded
// instead of being sent twice, and bounded by SendTimeout.
func (w *Worker) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.opts.SendTimeout)
}

func (w *Worker) sendMessage(ctx context.Context, job store.Job, chat string, replyTo int) ([]store.Sent, error) {
	ctx, cancel := w.callCtx(ctx)
	defer cancel()
	m := telegram.Message{ChatID: chat, ThreadID: job.ThreadID, Text: job.Text, ReplyTo: replyTo, Silent: job.Silent}
	kb := w.opts.Keyboard
	if kb != nil && (job.Kind == store.KindFiring || job.Kind == store.KindReminder) {
		var err error
		if m.Markup, err = kb.Markup(job, chat); err != nil {
			w.opts.Logger.Error("preparing the buttons; sending without", "job", job.ID, "err", err)
		}
	}
	id, err := w.opts.Sender.Send(ctx, m)
	if err != nil {
		return nil, err
	}
	if m.Markup != nil {
		kb.Sent(job, chat, id)
	}
	return []store.Sent{{ChatID: chat, MessageID: id, Text: job.Text}}, nil
}

// allResolved reports whether every alert of the job has resolved since it
// was queued (after a Telegram outage, old reminders are noise).
func (w *Worker) allResolved(job store.Job) bool {
	states, err := w.opts.Store.AlertStates(job.Alerts)
	if err != nil || len(states) == 0 {
		return false
	}
	for _, st := range states {
		if !st.Resolved {
			return false
		}
	}
	return true
}

// replyTo looks up the firing message now, not when the resolved job was
// queued: the firing job may have been sent after that. A message id only
// means something in its own chat: a firing message in another chat (the
// route changed, or the group was upgraded to a supergroup since) is not
// replied to, else the reply could quote an unrelated message.
func (w *Worker) replyTo(job store.Job, chat string) int {
	for _, ref := range job.Alerts {
		st, ok, err := w.opts.Store.FiringMessage(ref)
		if err == nil && ok && st.ChatID == chat {
			return st.MessageID
		}
	}
	return 0
}

// edit replaces the text of every firing message of the job's alerts. Edits
// are idempotent ("not modified" is success), so a retry redoes them all.
// A firing message in a group since upgraded to a supergroup is left as it
// is: the old group takes no more changes, and its message id means another
// message (or none) in the supergroup. The resolved message, sent to the
// supergroup, tells the news.
//
// Every edit goes through the flood limiter like a message: next reserved
// the job's chat for the first call, each further edit waits for its own
// token (resolving 240 alerts over 11 messages used to fire 11 edits back
// to back, and Telegram answered 8 of them 429). Stopping the receiver
// while an edit waits fails the job: it is retried at the next start, and
// the edits already made are "not modified" then.
func (w *Worker) edit(ctx context.Context, job store.Job) ([]store.Sent, error) {
	reserved, err := w.opts.Store.ChatFor(job.ChatID)
	if err != nil {
		return nil, err
	}
	type msg struct {
		chat string
		id   int
	}
	done := map[msg]bool{}
	var sent []store.Sent
	for _, ref := range job.Alerts {
		st, ok, err := w.opts.Store.FiringMessage(ref)
		if err != nil {
			return nil, err
		}
		m := msg{st.ChatID, st.MessageID}
		if !ok || done[m] {
			continue
		}
		done[m] = true
		chat, err := w.opts.Store.ChatFor(st.ChatID)
		if err != nil {
			return nil, err
		}
		if chat != st.ChatID {
			w.opts.Logger.Info("not editing the firing message: its chat was upgraded to a supergroup",
				"job", job.ID, "chat", st.ChatID, "message", st.MessageID, "migrated_to", chat)
			continue
		}
		text := w.editText(job, st)
		if chat == reserved {
			reserved = "" // the token next took is for this call
		} else if err := w.Pace(ctx, chat); err != nil {
			return nil, err
		}
		cctx, cancel := w.callCtx(ctx)
		err = w.opts.Sender.Edit(cctx, chat, st.MessageID, text)
		cancel()
		if err != nil {
			if w.editMigrated(job, chat, st.MessageID, err) {
				continue
			}
			return nil, err
		}
		sent = append(sent, store.Sent{ChatID: chat, MessageID: st.MessageID, Text: text})
	}
	return sent, nil
}

// editMigrated handles an edit refused because the message's chat was
// upgraded to a supergroup that the store did not know of yet: it records
// the migration for that chat (not for the job's, which a route change may
// have made another) and reports that the edit is to be skipped.
func (w *Worker) editMigrated(job store.Job, chat string, id int, err error) bool {
	var te *telegram.Error
	if !errors.As(err, &te) || te.Reason != telegram.ReasonChatMigrated || te.MigrateTo == "" {
		return false
	}
	if err := w.opts.Store.SetMigration(chat, te.MigrateTo); err != nil {
		return false // retried: the migration is answered again
	}
	w.opts.Logger.Warn("chat was upgraded to a supergroup; not editing the firing message there, update the configuration",
		"job", job.ID, "chat", chat, "message", id, "migrate_to", te.MigrateTo)
	return true
}

// editText re-renders the whole firing message from the latest state of
// every alert it shows (some may still be firing); job.Text, rendered when
// the job was queued from the resolved alerts only, is the fallback.
func (w *Worker) editText(job store.Job, firing store.AlertState) string {
	if w.opts.EditText == nil || len(firing.MessageAlerts) == 0 {
		return job.Text
	}
	states, err := w.opts.Store.AlertStates(firing.MessageAlerts)
	if err != nil {
		w.opts.Logger.Error("reading alerts of the firing message", "job", job.ID, "err", err)
		return job.Text
	}
	alerts := make([]template.Alert, 0, len(states))
	for _, st := range states {
		var a template.Alert
		if len(st.Alert) == 0 || json.Unmarshal(st.Alert, &a) != nil {
			continue
		}
		alerts = append(alerts, a)
	}
	if len(alerts) == 0 {
		return job.Text
	}
	text, err := w.opts.EditText(job, alerts)
	if err != nil {
		w.opts.Logger.Error("rendering the edited firing message", "job", job.ID, "err", err)
		return job.Text
	}
	return text
}

// failed decides between migrate-and-resend, retry later and dead letter.
func (w *Worker) failed(job store.Job, err error, now time.Time) {
	var te *telegram.Error
	if !errors.As(err, &te) {
		te = &telegram.Error{Retry: true, Reason: telegram.ReasonNetwork, Description: err.Error()}
	}
	log := w.opts.Logger.With("job", job.ID, "kind", job.Kind, "chat", job.ChatID, "reason", te.Reason, "err", err)
	switch {
	case te.Reason == telegram.ReasonChatMigrated && te.MigrateTo != "":
		from, _ := w.opts.Store.ChatFor(job.ChatID)
		if err := w.opts.Store.SetMigration(from, te.MigrateTo); err != nil {
			log.Error("recording chat migration", "store_err", err)
			w.backoff(job, 0, now)
			return
		}
		log.Warn("chat was upgraded to a supergroup, sending there from now on; update the configuration",
			"migrate_to", te.MigrateTo)
		w.metrics.retries.Inc()
	case te.Retry:
		d := w.backoff(job, te.RetryAfter, now)
		w.metrics.retries.Inc()
		log.Warn("telegram send failed, will retry", "in", d)
	default:
		w.metrics.failed.WithLabelValues(te.Reason).Inc()
		if err := w.opts.Store.DeadLetter(job, te.Reason, err, now); err != nil {
			log.Error("dead-lettering job", "store_err", err, "retry_in", w.backoff(job, 0, now))
			return
		}
		delete(w.retry, job.ID)
		log.Error("telegram refused the message permanently, kept as dead letter")
	}
}

// backoff schedules the next attempt: Telegram's retry_after when given,
// else exponential from MinBackoff to MaxBackoff.
func (w *Worker) backoff(job store.Job, retryAfter time.Duration, now time.Time) time.Duration {
	r := w.retry[job.ID]
	d := retryAfter
	if d <= 0 {
		d = w.opts.MinBackoff << min(r.attempts, 20)
		d = min(d, w.opts.MaxBackoff)
	}
	r.attempts++
	r.notBefore = now.Add(d)
	w.retry[job.ID] = r
	return d
}
