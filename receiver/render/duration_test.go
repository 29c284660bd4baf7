package render

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	const (
		s = time.Second
		m = time.Minute
		h = time.Hour
		d = 24 * time.Hour
	)
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-5 * s, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{45 * s, "45s"},
		{59*s + 999*time.Millisecond, "59s"},
		{m, "1m"},
		{12*m + 59*s, "12m"},
		{59*m + 59*s, "59m"},
		{h, "1h"},
		{h + 59*s, "1h"},
		{h + 3*m, "1h03m"},
		{10*h + 30*m, "10h30m"},
		{23*h + 59*m + 59*s, "23h59m"},
		{d, "1d"},
		{d + 59*m, "1d"},
		{2*d + 4*h + 30*m, "2d4h"},
		{400*d + 23*h, "400d23h"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := Duration(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
