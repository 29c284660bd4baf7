package telegramtest

import (
	"math"
	"time"
)

// Rate is a token bucket: Burst messages at once, then N per Per. A zero
// Rate (N == 0) is no limit.
type Rate struct {
	N     int
	Per   time.Duration
	Burst int
}

// Limits are the flood limits the fake enforces on sendMessage and
// editMessageText. Telegram documents about 1 message per second per chat,
// 20 per minute per group and 30 per second overall, and tolerates short
// bursts.
type Limits struct {
	PerChat  Rate // every chat
	PerGroup Rate // additionally, chats with a negative id (groups, channels)
	Global   Rate // all chats together
}

// DefaultLimits are Telegram's documented limits with a burst of 3 per chat.
func DefaultLimits() Limits {
	return Limits{
		PerChat:  Rate{N: 1, Per: time.Second, Burst: 3},
		PerGroup: Rate{N: 20, Per: time.Minute, Burst: 20},
		Global:   Rate{N: 30, Per: time.Second, Burst: 30},
	}
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take removes one token if there is one and otherwise returns how long
// until there will be.
func (b *bucket) take(r Rate, now time.Time) (wait time.Duration) {
	if r.N <= 0 {
		return 0
	}
	burst := float64(max(r.Burst, 1))
	perToken := r.Per / time.Duration(r.N)
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = math.Min(burst, b.tokens+float64(now.Sub(b.last))/float64(perToken))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(perToken))
}

// limiter applies Limits; the server's mutex guards it.
type limiter struct {
	limits Limits
	global bucket
	chats  map[string]*bucket
	groups map[string]*bucket
}

// allow reports 0 when a message to chat may go now, else the wait. A
// refused message consumes nothing: each bucket is only charged when all
// allow it, so retrying after the wait succeeds.
func (l *limiter) allow(chat string, group bool, now time.Time) time.Duration {
	if l.chats == nil {
		l.chats, l.groups = map[string]*bucket{}, map[string]*bucket{}
	}
	type check struct {
		b *bucket
		r Rate
	}
	checks := []check{{&l.global, l.limits.Global}, {l.bucketFor(l.chats, chat), l.limits.PerChat}}
	if group {
		checks = append(checks, check{l.bucketFor(l.groups, chat), l.limits.PerGroup})
	}
	saved := make([]bucket, len(checks))
	var wait time.Duration
	for i, c := range checks {
		saved[i] = *c.b
		wait = max(wait, c.b.take(c.r, now))
	}
	if wait > 0 {
		for i, c := range checks {
			*c.b = saved[i]
		}
	}
	return wait
}

func (l *limiter) bucketFor(m map[string]*bucket, key string) *bucket {
	b, ok := m[key]
	if !ok {
		b = &bucket{}
		m[key] = b
	}
	return b
}
