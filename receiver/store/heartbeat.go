package store

import "time"

// Heartbeat is what the receiver remembers about one heartbeat source: an
// Alertmanager route that sends its always-firing Watchdog alert to the
// receiver. The watcher (receiver/heartbeat) warns once when it falls
// silent and replies to that warning when it comes back, so this state
// must survive a restart: a restart during the silence neither repeats
// the warning nor forgets it.
type Heartbeat struct {
	// Source identifies the source: see heartbeat.SourceKey.
	Source string `json:"source"`
	// Route is the receiver route the heartbeats were routed to ("" for
	// the default chat); Receiver and ExternalURL come from the last
	// heartbeat's webhook. They name the source in the messages.
	Route       string `json:"route,omitempty"`
	Receiver    string `json:"receiver,omitempty"`
	ExternalURL string `json:"externalURL,omitempty"`
	// ChatID, ThreadID and Silent are the route's destination when the
	// last heartbeat arrived: where the warning goes.
	ChatID   string `json:"chatID"`
	ThreadID int    `json:"threadID,omitempty"`
	Silent   bool   `json:"silent,omitempty"`
	// Last is when the last heartbeat arrived (receiver clock).
	Last time.Time `json:"last"`
	// Warned says the warning for the silence that began at Last was
	// queued; Warning is the alert ref that warning job carries, so the
	// "back" message replies to its message (Store.FiringMessage).
	Warned  bool     `json:"warned,omitempty"`
	Warning AlertRef `json:"warning,omitzero"`
}

// HeartbeatTx is the heartbeat part of Tx: the watcher reads a source's
// state, queues its warning and marks it warned in one transaction, so a
// crash can neither lose nor repeat the warning.
type HeartbeatTx interface {
	// Heartbeat returns the state of one source and whether it is known.
	Heartbeat(source string) (Heartbeat, bool, error)
	// PutHeartbeat stores the state of h.Source.
	PutHeartbeat(h Heartbeat) error
}

// Heartbeats is the heartbeat part of Store.
type Heartbeats interface {
	// Heartbeats returns the state of every known source, ordered by Source.
	Heartbeats() ([]Heartbeat, error)
}

// OpenWarningKeys returns the alert-state keys (AlertRef.Key) of the
// warnings still open among hs: warned and not yet back. Prune keeps
// these states however old they are, so the "back" message after a
// silence longer than the prune age still replies to the warning.
func OpenWarningKeys(hs []Heartbeat) map[string]bool {
	keys := map[string]bool{}
	for _, h := range hs {
		if h.Warned {
			keys[h.Warning.Key()] = true
		}
	}
	return keys
}
