package incident_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// The incident log from firing to resolved, the CSV export and a host's
// availability over the last day.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	log := incident.NewMemory()
	key := incident.Key{Route: "ops", Fingerprint: "3f1c"}
	inc, _ := log.Open(ctx, incident.Incident{Key: key, Target: "nas", AlertName: "HostDown", Start: now.Add(-3 * time.Hour)})
	_, _ = log.Annotate(ctx, inc.ID, incident.Note{AcknowledgedBy: "@alice"})
	_, _ = log.Resolve(ctx, key, now.Add(-2*time.Hour))

	all, _ := log.List(ctx, incident.Filter{Since: now.Add(-24 * time.Hour)})
	_ = incident.Write(os.Stdout, all, incident.FormatCSV, now, time.UTC)
	fmt.Printf("availability 24h: %.4f\n", incident.Availability(all, incident.Rolling(now, 24*time.Hour), now))
	// Output:
	// id,route,target,alertname,state,start,end,duration_seconds,silenced_by,acknowledged_by,labels,fingerprint
	// 1,ops,nas,HostDown,resolved,2026-11-24T09:00:00Z,2026-11-24T10:00:00Z,3600,,'@alice,,3f1c
	// availability 24h: 0.9583
}
