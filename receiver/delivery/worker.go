// Package delivery sends queued jobs from the store to Telegram: paced
// within Telegram's flood limits, in order per chat, retried while Telegram
// is down or rate limiting, dead-lettered when Telegram refuses for good.
package delivery

import (
	"context"
	"log/slog"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

// Sender is the part of *telegram.Client the worker uses; errors should be
// *telegram.Error (anything else is retried as a network error).
type Sender interface {
	Send(ctx context.Context, m telegram.Message) (int, error)
	Edit(ctx context.Context, chatID string, messageID int, text string) error
}

// Keyboard attaches the chat buttons to a message (receiver/chat).
type Keyboard interface {
	// Markup is the keyboard of a firing or reminder job about to be sent
	// to chat (nil: none). An error is logged and the message goes without.
	Markup(job store.Job, chat string) (*tgbotapi.InlineKeyboardMarkup, error)
	// Sent tells the message id of a job sent with a keyboard.
	Sent(job store.Job, chat string, messageID int)
}

// Options configure a Worker.
type Options struct {
	Store      store.Store
	Sender     Sender
	Limits     Limits // zero value: no pacing; use DefaultLimits()
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MinBackoff and MaxBackoff bound the exponential backoff after 5xx and
	// network errors (defaults 1s and 5m).
	MinBackoff, MaxBackoff time.Duration
	// SendTimeout bounds one Telegram call (default 60s). A call in flight
	// when the worker is stopped still runs to completion within it. The
	// Bot API finishes a request whose client gave up, so a call that times
	// out may have been sent and its retry duplicates it: the timeout is
	// long, well above Telegram's usual answer time (under a second).
	SendTimeout time.Duration
	// EditText renders the edited firing message from all the alerts it
	// shows, at their latest state (nil: use the job's text).
	EditText func(job store.Job, alerts []template.Alert) (string, error)
	// Keyboard gives firing messages and reminders their inline keyboard
	// (nil: none).
	Keyboard Keyboard
	// Scan is how many queued jobs one scheduling pass looks at (default 1000).
	Scan int
	// Poll makes the worker look at the queue at least this often even
	// when not notified (0: only when notified or a wait ends): other
	// processes sharing the store (PostgreSQL) queue jobs too.
	Poll time.Duration
	// Clock paces, backs off and times the worker (default clock.Real()):
	// tests move a fake one instead of sleeping.
	Clock clock.Clock
}

// Worker is the single sender goroutine. Sending from one goroutine keeps
// per-chat order trivially and is far above what the flood limits allow.
type Worker struct {
	opts    Options
	lim     *limiter
	wake    chan struct{}
	retry   map[uint64]retryState // in memory: after a restart jobs are tried at once
	metrics *metrics
}

type retryState struct {
	attempts  int
	notBefore time.Time
}

// New returns a worker; call Run to start it.
func New(opts Options) *Worker {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 60 * time.Second
	}
	if opts.Scan <= 0 {
		opts.Scan = 1000
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	return &Worker{opts: opts, lim: newLimiter(opts.Limits), wake: make(chan struct{}, 1),
		retry: map[uint64]retryState{}, metrics: newMetrics(opts.Registerer, opts.Store, opts.Clock.Now)}
}

// Notify wakes the worker after jobs were queued. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx is cancelled. A send in flight when ctx is cancelled
// finishes (bounded by SendTimeout) and its result is recorded.
func (w *Worker) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		job, wait, err := w.next(w.opts.Clock.Now())
		if err != nil {
			w.opts.Logger.Error("reading queue", "err", err)
			wait = time.Second
		}
		if job != nil {
			w.process(ctx, *job)
			continue
		}
		w.sleep(ctx, wait)
	}
	return nil
}

func (w *Worker) sleep(ctx context.Context, wait time.Duration) {
	var timer <-chan time.Time
	if wait > 0 {
		t := w.opts.Clock.NewTimer(wait)
		defer t.Stop()
		timer = t.C()
	}
	select {
	case <-ctx.Done():
	case <-w.wake:
	case <-timer:
	}
}

// next picks the oldest job whose chat is not blocked: by an earlier job of
// the same chat (order per chat), by a retry delay, or by the flood limits.
// With no job ready it returns how long to wait (0: until notified).
func (w *Worker) next(now time.Time) (*store.Job, time.Duration, error) {
	jobs, err := w.pending()
	if err != nil {
		return nil, 0, err
	}
	blocked := map[string]bool{}
	var wait time.Duration
	later := func(d time.Duration) {
		if wait == 0 || d < wait {
			wait = d
		}
	}
	for i := range jobs {
		j := &jobs[i]
		if blocked[j.ChatID] {
			continue
		}
		blocked[j.ChatID] = true
		if r, ok := w.retry[j.ID]; ok && r.notBefore.After(now) {
			later(r.notBefore.Sub(now))
			continue
		}
		chat, err := w.opts.Store.ChatFor(j.ChatID)
		if err != nil {
			return nil, 0, err
		}
		if d := w.lim.reserve(chat, now); d > 0 {
			later(d)
			continue
		}
		return j, 0, nil
	}
	if len(jobs) == w.opts.Scan && wait == 0 {
		wait = time.Second // more jobs beyond the scan window: look again
	}
	if p := w.opts.Poll; p > 0 && (wait == 0 || wait > p) {
		wait = p
	}
	return nil, wait, nil
}

// pending returns the candidates of next: the first job of each chat
// from the store's index when it has one (store.Heads), else the first
// Scan jobs of the queue.
func (w *Worker) pending() ([]store.Job, error) {
	if h, ok := w.opts.Store.(store.Heads); ok {
		return h.PendingHeads(w.opts.Scan)
	}
	return w.opts.Store.Pending(w.opts.Scan)
}
