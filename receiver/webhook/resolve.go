package webhook

import (
	"github.com/prometheus/alertmanager/template"
)

// Resolve queues the resolved messages of alerts that ended without a
// resolved webhook (the reconciler found them silenced, inhibited or lost
// by Alertmanager). It plans exactly as a resolved webhook for route would,
// with the same idempotency keys, so a resolved webhook arriving before or
// after changes nothing more. alerts carry Status "resolved" and the real
// EndsAt. It returns how many jobs were queued.
func (h *Handler) Resolve(route string, alerts []template.Alert) (int, error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	return h.enqueue(route, &Message{Data: &template.Data{Status: "resolved", Alerts: alerts},
		GroupKey: "reconcile"})
}
