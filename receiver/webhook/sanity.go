package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/store"
)

// MaxEndsAtAhead is how far in the future the endsAt of a resolved alert
// may lie (clock skew between Alertmanager and the receiver). Beyond it
// the alert is taken as resolved now, and a warning is logged: a resolved
// alert cannot end in the future, and an endsAt in year 9999 rendered
// "up after 106751d23h".
const MaxEndsAtAhead = time.Hour

// clampEndsAt sets the endsAt of resolved alerts that end more than
// MaxEndsAtAhead after now to now, and logs each one.
func clampEndsAt(alerts []template.Alert, now time.Time, logger *slog.Logger) {
	for i := range alerts {
		a := &alerts[i]
		if a.Status != "resolved" || !a.EndsAt.After(now.Add(MaxEndsAtAhead)) {
			continue
		}
		logger.Warn("resolved alert ends in the future: taking it as resolved now",
			"fingerprint", a.Fingerprint, "ends_at", a.EndsAt.Format(time.RFC3339), "now", now.Format(time.RFC3339))
		a.EndsAt = now
	}
}

// checkFingerprints refuses a notification in which one fingerprint comes
// with different labels. Alertmanager's fingerprint is a hash of the
// labels, so this is a forged or broken payload; the alert states are kept
// per fingerprint, so taking it would silently keep the first alert and
// drop the other (a host that never gets its message).
func checkFingerprints(alerts []template.Alert) error {
	first := map[string]int{}
	for i, a := range alerts {
		j, ok := first[a.Fingerprint]
		if !ok {
			first[a.Fingerprint] = i
			continue
		}
		if !maps.Equal(alerts[j].Labels, a.Labels) {
			return &RequestError{Code: http.StatusBadRequest, Reason: ReasonInvalidField,
				Msg: fmt.Sprintf(`alerts[%d] and alerts[%d]: same "fingerprint" %q with different labels`, j, i, a.Fingerprint)}
		}
	}
	return nil
}

// checkStoredLabels refuses an alert whose fingerprint and start are known
// with other labels (see checkFingerprints): a later payload must not be
// merged into the state of another alert.
func checkStoredLabels(i int, a template.Alert, st store.AlertState) error {
	if len(st.Alert) == 0 {
		return nil
	}
	var prev template.Alert
	if err := json.Unmarshal(st.Alert, &prev); err != nil || prev.Labels == nil {
		return nil // an old or unreadable state: nothing to compare with
	}
	if !maps.Equal(prev.Labels, a.Labels) {
		return &RequestError{Code: http.StatusBadRequest, Reason: ReasonInvalidField,
			Msg: fmt.Sprintf(`alerts[%d]: "fingerprint" %q was received before with different labels`, i, a.Fingerprint)}
	}
	return nil
}
