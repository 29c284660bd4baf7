package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/downtime-detector/downtime/receiver/chat"
)

// Chat is what acting from the chat needs from the store: the records
// behind the buttons' callback keys (which alert, which message, which
// silence) and the getUpdates offset, so that no update is handled twice
// across restarts. It is chat.Store; receiver/store/storetest checks it for
// every implementation (RunChat).
type Chat interface {
	chat.Store
	// FiringAlerts lists the alerts held as firing (AlertState.Holding),
	// for /status and the reconciler.
	FiringAlerts() ([]Held, error)
	// ReconcileState and SetReconcileState keep the reconciler's memory
	// (which held alerts were last seen suppressed, since when they are
	// missing) across restarts, as opaque JSON; nil when never set.
	ReconcileState() ([]byte, error)
	SetReconcileState(state []byte) error
}

// Held is an alert occurrence with its state, as FiringAlerts lists it.
type Held struct {
	Ref   AlertRef
	State AlertState
}

// Holding reports whether the receiver holds the alert as firing: a firing
// message queued and no resolved one.
func (st AlertState) Holding() bool { return st.Firing && !st.Resolved }

// ParseAlertKey is the inverse of AlertRef.Key.
func ParseAlertKey(key string) (AlertRef, error) {
	route, rest, ok := strings.Cut(key, "/")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return AlertRef{}, fmt.Errorf("alert key %q: want route/fingerprint@time", key)
	}
	t, err := time.Parse(time.RFC3339Nano, rest[at+1:])
	if err != nil {
		return AlertRef{}, fmt.Errorf("alert key %q: %w", key, err)
	}
	return AlertRef{Route: route, Fingerprint: rest[:at], StartsAt: t}, nil
}
