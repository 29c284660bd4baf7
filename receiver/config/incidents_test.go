package config

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestIncidentSections(t *testing.T) {
	cfg := mustLoad(t, "testdata/incidents.yml")
	if got, want := cfg.Incidents.Retention, model.Duration(30*24*time.Hour); got != want {
		t.Errorf("incidents.retention: got %s, want %s", got, want)
	}
	sp := cfg.StatusPage
	if sp.Title != "Home lab" || sp.Refresh != model.Duration(30*time.Second) ||
		sp.GrafanaURL != "http://grafana.example.lan:3000/d/downtime-hosts" || sp.PrometheusURL != "http://prometheus.example.lan:9090" {
		t.Errorf("status_page: got %+v", sp)
	}
	d := cfg.Routes[0].Digest
	if d == nil {
		t.Fatal("route ops: no digest")
	}
	if h, m := d.Time(); d.Period != DigestWeekly || d.Day() != time.Monday || h != 8 || m != 30 || d.QuietLine != "All quiet." {
		t.Errorf("digest: got %+v at %02d:%02d on %s, want weekly at 08:30 on Monday", d, h, m, d.Day())
	}
	if cfg.Routes[1].Digest != nil {
		t.Errorf("route family: got digest %+v, want none", cfg.Routes[1].Digest)
	}
}

func TestIncidentDefaults(t *testing.T) {
	cfg := mustLoad(t, "testdata/good.yml")
	if got, want := cfg.Incidents.Retention, model.Duration(DefaultRetention); got != want {
		t.Errorf("default incidents.retention: got %s, want %s", got, want)
	}
	if got, want := cfg.StatusPage.Refresh, model.Duration(time.Minute); got != want {
		t.Errorf("default status_page.refresh: got %s, want %s", got, want)
	}
}
