package delivery

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Rate is a token bucket: Burst sends at once, then N per Per. N == 0 means
// no limit.
type Rate struct {
	N     int
	Per   time.Duration
	Burst int
}

// Limits are the flood limits the worker keeps to, per Telegram's FAQ:
// about 1 message per second per chat, 20 per minute per group (negative
// chat id) and 30 per second overall. Edits count like messages.
type Limits struct {
	PerChat, PerGroup, Global Rate
}

// DefaultLimits stay a little under Telegram's limits, with small bursts.
func DefaultLimits() Limits {
	return Limits{
		PerChat:  Rate{N: 1, Per: time.Second, Burst: 1},
		PerGroup: Rate{N: 20, Per: time.Minute, Burst: 5},
		Global:   Rate{N: 25, Per: time.Second, Burst: 10},
	}
}

type bucket struct {
	rate   Rate
	tokens float64
	last   time.Time
}

// wait returns how long until a token is available (0: available now).
func (b *bucket) wait(now time.Time) time.Duration {
	if b.rate.N == 0 {
		return 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	perToken := b.rate.Per / time.Duration(b.rate.N)
	return time.Duration((1 - b.tokens) * float64(perToken))
}

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.tokens, b.last = float64(max(b.rate.Burst, 1)), now
		return
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * float64(b.rate.N) / b.rate.Per.Seconds()
		b.tokens = min(b.tokens, float64(max(b.rate.Burst, 1)))
		b.last = now
	}
}

func (b *bucket) take() {
	if b.rate.N != 0 {
		b.tokens--
	}
}

// limiter combines the per-chat, per-group and global buckets. The worker
// and the chat's answers (Worker.Pace) share it, so a mutex guards it.
type limiter struct {
	mu     sync.Mutex
	limits Limits
	global *bucket
	chats  map[string]*bucket
	groups map[string]*bucket
}

func newLimiter(l Limits) *limiter {
	return &limiter{limits: l, global: &bucket{rate: l.Global},
		chats: map[string]*bucket{}, groups: map[string]*bucket{}}
}

func (l *limiter) buckets(chat string) []*bucket {
	bs := []*bucket{l.global, get(l.chats, chat, l.limits.PerChat)}
	// Negative ids are groups, supergroups and channels; @name is a channel.
	if strings.HasPrefix(chat, "-") || strings.HasPrefix(chat, "@") {
		bs = append(bs, get(l.groups, chat, l.limits.PerGroup))
	}
	return bs
}

func get(m map[string]*bucket, k string, r Rate) *bucket {
	b, ok := m[k]
	if !ok {
		b = &bucket{rate: r}
		m[k] = b
	}
	return b
}

// reserve takes a token from every bucket of chat and returns 0, or returns
// how long to wait without taking anything.
func (l *limiter) reserve(chat string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.buckets(chat)
	var wait time.Duration
	for _, b := range bs {
		wait = max(wait, b.wait(now))
	}
	if wait > 0 {
		return wait
	}
	for _, b := range bs {
		b.take()
	}
	return 0
}

// Pace waits until the flood limits allow one more call to chat and takes
// its token; ctx cancelled first: its error. The worker paces the calls of
// a job beyond the first with it (next reserves the first); the chat's
// answers to presses and commands share the same buckets through it.
func (w *Worker) Pace(ctx context.Context, chat string) error {
	for {
		d := w.lim.reserve(chat, w.opts.Clock.Now())
		if d <= 0 {
			return nil
		}
		t := w.opts.Clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}
