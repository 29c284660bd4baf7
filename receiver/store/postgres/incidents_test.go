package postgres_test

import (
	"testing"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
)

// TestIncidentLog runs the incident log's behaviour suite on PostgreSQL;
// its place in Update and Complete transactions is checked by storetest.Run
// (TestStore), for both stores.
func TestIncidentLog(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) incident.Log { return openPG(t, pgtest.DB(t)).Incidents() })
}
