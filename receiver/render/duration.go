package render

import (
	"fmt"
	"time"
)

// Duration formats d for people, in at most two units, rounded down:
// "45s", "12m", "1h", "1h03m", "2d", "2d4h". Negative durations are "0s".
func Duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", max(int64(d/time.Second), 0))
	}
	if d < time.Hour {
		return fmt.Sprintf("%dm", int64(d/time.Minute))
	}
	if d < 24*time.Hour {
		h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	days, h := int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}
