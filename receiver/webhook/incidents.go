package webhook

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// recordIncident keeps the incident log in step with the messages, in the
// transaction that queues them: a firing alert opens its incident (again
// and again as Alertmanager repeats it: Open is idempotent and only moves
// the start earlier), the resolved message resolves it. The start is the
// one the messages give (render.Since), the host the one they name.
func recordIncident(tx store.IncidentTx, d config.Route, a template.Alert, dec Decision, now time.Time) error {
	inc := incident.Incident{
		Key:       incident.Key{Route: d.Name, Fingerprint: a.Fingerprint},
		Target:    render.Host(a.Labels),
		AlertName: a.Labels[model.AlertNameLabel],
		Labels:    maps.Clone(map[string]string(a.Labels)),
		Start:     render.Since(a),
	}
	switch {
	case dec.Kind == store.KindResolved:
		end := a.EndsAt
		if end.IsZero() || end.After(now) {
			end = now
		}
		_, err := tx.ResolveIncident(inc.Key, end)
		if errors.Is(err, incident.ErrNotOpen) {
			// Resolved without a firing the log saw (the receiver or its
			// log is newer than the outage): record it whole.
			if _, err = tx.OpenIncident(inc); err == nil {
				_, err = tx.ResolveIncident(inc.Key, end)
			}
		}
		if err != nil {
			return fmt.Errorf("resolving incident of %s: %w", inc.Target, err)
		}
	case a.Status == string(model.AlertFiring) && !dec.State.Resolved:
		if _, err := tx.OpenIncident(inc); err != nil {
			return fmt.Errorf("opening incident of %s: %w", inc.Target, err)
		}
	}
	return nil
}
