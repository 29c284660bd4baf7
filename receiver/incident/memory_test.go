package incident_test

import (
	"testing"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
)

func TestMemory(t *testing.T) {
	incidenttest.Run(t, func(*testing.T) incident.Log { return incident.NewMemory() })
}
