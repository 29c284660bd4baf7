package bolt

import (
	"context"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
)

func TestIncidentLog(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) incident.Log { return openDir(t, t.TempDir()).Incidents() })
}

// TestIncidentsSurviveReopen: the log is in the file, open incidents stay
// open across a restart.
func TestIncidentsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inc, err := s.Incidents().Open(ctx, incidenttest.Fixture("ops", "fp1", "nas", t0))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openDir(t, dir)
	got, err := s2.Incidents().Resolve(ctx, inc.Key, t0.Add(time.Minute))
	if err != nil || got.ID != inc.ID {
		t.Fatalf("Resolve after reopening: got %+v, %v, want incident %d", got, err, inc.ID)
	}
	again, err := s2.Incidents().Open(ctx, incidenttest.Fixture("ops", "fp1", "nas", t0.Add(time.Hour)))
	if err != nil || again.ID <= inc.ID {
		t.Fatalf("new outage after reopening: got ID %d (%v), want one above %d", again.ID, err, inc.ID)
	}
}
