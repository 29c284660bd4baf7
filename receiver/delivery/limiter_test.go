package delivery

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		chat   string
		limits Limits
		span   time.Duration
		want   int // sends allowed within span, polling every 10ms
	}{
		{"private chat 1/s", "42", DefaultLimits(), 10 * time.Second, 10},
		{"group 20/min burst 5", "-100", DefaultLimits(), time.Minute, 24},
		{"no limits", "1", Limits{}, 100 * time.Millisecond, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.limits)
			n := 0
			for now := t0; now.Before(t0.Add(tc.span)); now = now.Add(10 * time.Millisecond) {
				if l.reserve(tc.chat, now) == 0 {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("got %d sends, want %d", n, tc.want)
			}
		})
	}
}

func TestLimiterGlobal(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(DefaultLimits())
	n := 0
	for i := range 100 { // 100 different chats at the same instant
		if l.reserve(string(rune('a'+i%26))+string(rune('a'+i/26)), t0) == 0 {
			n++
		}
	}
	if n != 10 {
		t.Errorf("instant sends to 100 chats: got %d, want the global burst 10", n)
	}
	if w := l.reserve("zz", t0); w != 40*time.Millisecond {
		t.Errorf("wait after burst: got %v, want 40ms (1/25 s)", w)
	}
}
