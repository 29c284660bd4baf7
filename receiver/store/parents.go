package store

import "time"

// Parent is a down parent (a router, a switch) whose firing message
// receiver/behind keeps current with the hosts unreachable behind it. It
// is durable so that a restarted receiver goes on editing that message
// without waiting for the parent's next webhook: the message itself is
// found through Ref (AlertState.MessageID, ChatID), and Shown is what it
// lists.
type Parent struct {
	// Ref is the parent's HostDown occurrence on one route.
	Ref AlertRef `json:"ref"`
	// Job and Target are the parent's labels, which its children's
	// HostUnreachableBehindParent alerts name (job, parent).
	Job    string `json:"job,omitempty"`
	Target string `json:"target"`
	// Shown is the list of hosts the firing message shows since the
	// tracker edited it; nil when it was never edited (the message shows
	// the count from the annotation alone).
	Shown []string `json:"shown"`
	// Updated is when the entry was last written; Prune deletes entries
	// last written before its cutoff, like alert states.
	Updated time.Time `json:"updated"`
}

// ParentsTx is the watched-parents part of Tx: the tracker records the
// list it queued an edit for in the transaction that queues the edit, and
// forgets a parent in the transaction that finds it resolved.
type ParentsTx interface {
	// WatchParent stores p under p.Ref (replacing an entry of that ref).
	WatchParent(p Parent) error
	// UnwatchParent deletes the entry of ref; no entry is not an error.
	UnwatchParent(ref AlertRef) error
}

// Parents is the watched-parents part of Store.
type Parents interface {
	// WatchedParents returns every watched parent, ordered by Ref.Key().
	WatchedParents() ([]Parent, error)
}
