// Package clocktest provides a clock.Clock that tests move by hand.
package clocktest

import (
	"sync"
	"time"

	"github.com/downtime-detector/downtime/internal/clock"
)

// Fake is a clock.Clock that only moves when Advance or Set is called.
// Timers fire when the fake time reaches them.
type Fake struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers map[*timer]bool
	armed  int // timers made by NewTimer since New, fired or not
}

var _ clock.Clock = (*Fake)(nil)

// New returns a fake clock at now.
func New(now time.Time) *Fake {
	f := &Fake{now: now, timers: map[*timer]bool{}}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed++
	f.cond.Broadcast()
	t := &timer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers[t] = true
	return t
}

// Advance moves the time forward by d and fires the timers due.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the time to now (never backwards) and fires the timers due.
func (f *Fake) Set(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.After(f.now) {
		f.now = now
	}
	for t := range f.timers {
		if !t.at.After(f.now) {
			t.c <- f.now
			delete(f.timers, t)
		}
	}
}

// WaitTimers blocks until at least n timers are waiting: the code under
// test has reached the point where it waits for the clock.
func (f *Fake) WaitTimers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.timers) < n {
		f.cond.Wait()
	}
}

// Armed returns how many timers NewTimer has made since New.
func (f *Fake) Armed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.armed
}

// WaitArmed blocks until NewTimer has made n timers since New. Unlike
// WaitTimers it tells a loop that re-armed after a wake-up from one that
// has not woken yet: both hold as many timers.
func (f *Fake) WaitArmed(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.armed < n {
		f.cond.Wait()
	}
}

// Timers returns how many timers are waiting.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

type timer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.c }

func (t *timer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	ok := t.f.timers[t]
	delete(t.f.timers, t)
	return ok
}
