package store

import (
	"strconv"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// IncidentTx is the incident log inside an Update transaction: the webhook
// opens and resolves incidents in the transaction that queues the
// messages, so the log and the chat never disagree (both commit or
// neither does). The semantics are incident.Log's Open and Resolve.
type IncidentTx interface {
	// OpenIncident is incident.Log.Open within the transaction.
	OpenIncident(inc incident.Incident) (incident.Incident, error)
	// ResolveIncident is incident.Log.Resolve within the transaction;
	// incident.ErrNotOpen when no incident of key is open.
	ResolveIncident(key incident.Key, end time.Time) (incident.Incident, error)
}

// IncidentStore is a store that keeps the incident log; Incidents reads
// and maintains it outside webhook transactions (status page, CLI, pruning).
type IncidentStore interface {
	Incidents() incident.Log
}

// KindDigest is a route's periodic digest (receiver/incident/digest): a
// plain message, idempotent per route and period through its key.
const KindDigest Kind = "digest"

// IncidentMessages are the links a delivered job adds to the incidents of
// its alerts (in Complete's transaction): every message sent about them,
// in the chat's topic. An edit changes a message already linked; a chat
// known only by @name has no id to link.
func IncidentMessages(job Job, sent []Sent) []incident.MessageRef {
	if job.Kind == KindEdit || job.Kind == KindDigest {
		return nil
	}
	var out []incident.MessageRef
	for _, s := range sent {
		chat, err := strconv.ParseInt(s.ChatID, 10, 64)
		if err != nil || s.MessageID == 0 {
			continue
		}
		out = append(out, incident.MessageRef{ChatID: chat, ThreadID: job.ThreadID, MessageID: s.MessageID})
	}
	return out
}
