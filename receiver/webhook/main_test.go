package webhook

import (
	"testing"

	"github.com/downtime-detector/downtime/internal/pgtest"
)

// TestMain stops the private PostgreSQL cluster the store benchmarks start.
func TestMain(m *testing.M) { pgtest.Main(m) }
