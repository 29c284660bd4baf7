package clocktest

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f := New(t0)
	a, b := f.NewTimer(time.Second), f.NewTimer(time.Minute)
	f.WaitTimers(2)
	f.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("timer fired before its time")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-a.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("fired at %v, want %v", got, t0.Add(time.Second))
	}
	if !b.Stop() || f.Timers() != 0 {
		t.Errorf("Stop of a waiting timer: got %d timers left, want 0", f.Timers())
	}
	f.Set(t0) // never backwards
	if got := f.Now(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("Now after Set to the past: got %v, want %v", got, t0.Add(time.Second))
	}
	select {
	case <-f.NewTimer(0).C():
	default:
		t.Error("a zero timer did not fire at once")
	}
}

// TestWaitArmed returns once NewTimer has made that many timers, fired or
// stopped ones included, and not before.
func TestWaitArmed(t *testing.T) {
	f := New(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	f.NewTimer(time.Minute).Stop()
	f.NewTimer(0)
	if got := f.Armed(); got != 2 {
		t.Fatalf("Armed after a stopped and a fired timer: got %d, want 2", got)
	}
	done := make(chan struct{})
	go func() {
		f.WaitArmed(3)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("WaitArmed(3) returned after 2 timers")
	case <-time.After(50 * time.Millisecond):
	}
	f.NewTimer(time.Hour)
	<-done
}
