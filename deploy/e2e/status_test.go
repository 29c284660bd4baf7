package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// receiverURL is the receiver's listen address in the namespace.
const receiverURL = "http://127.0.0.1:9427"

// checkStatus reads the receiver's status API about the outage: while it
// lasts (outage 0) /api/v1/status lists the host down since the link went
// down; once it resolved, the host is no longer down and
// /api/v1/incidents has the incident lasting the real outage.
func (p *pipeline) checkStatus(t *testing.T, down time.Time, outage time.Duration) {
	t.Helper()
	hc := p.ns.HTTPClient()
	var st struct {
		Down []incident.Record `json:"down"`
	}
	if err := receiverJSON(hc, receiverURL+"/api/v1/status", &st); err != nil {
		t.Fatalf("status API: %v", err)
	}
	var rec *incident.Record
	for i := range st.Down {
		if st.Down[i].Target == p.host {
			rec = &st.Down[i]
		}
	}
	if outage == 0 {
		if rec == nil {
			t.Fatalf("/api/v1/status: got down %+v, want %s", st.Down, p.host)
		}
		diff := rec.Start.Sub(down)
		t.Logf("status API: %s down since %s (%+v from the link going down), for %s", p.host,
			rec.Start.Format("15:04:05.000"), diff.Round(time.Millisecond), rec.Duration)
		if diff < startEarly || diff > startLate {
			t.Errorf("/api/v1/status: got start %+v from the link going down, want %+v..%+v", diff.Round(time.Millisecond), startEarly, startLate)
		}
		return
	}
	if rec != nil {
		t.Errorf("/api/v1/status after recovery: %s still down since %s", p.host, rec.Start)
	}
	var list struct {
		Incidents []incident.Record `json:"incidents"`
	}
	q := url.Values{"target": {p.host}, "state": {"resolved"}}
	if err := receiverJSON(hc, receiverURL+"/api/v1/incidents?"+q.Encode(), &list); err != nil {
		t.Fatalf("incidents API: %v", err)
	}
	if len(list.Incidents) != 1 {
		t.Fatalf("/api/v1/incidents: got %d resolved incidents of %s, want 1: %+v", len(list.Incidents), p.host, list.Incidents)
	}
	got := list.Incidents[0].End.Sub(list.Incidents[0].Start)
	lo, hi := durationBounds()
	t.Logf("incidents API: %s down %v, real outage %v", p.host, got, outage.Round(time.Millisecond))
	if diff := got - outage; diff < lo || diff > hi {
		t.Errorf("/api/v1/incidents: got downtime %v, want the real outage %v %+v..%+v", got, outage.Round(time.Millisecond), lo, hi)
	}
}

// receiverJSON GETs u with the webhook credentials, which the status API
// wants as the shipped config has webhook_auth (deploy/receiver/receiver.yml,
// password written by writeConfigs).
func receiverJSON(hc *http.Client, u string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("alertmanager", "e2e-webhook-password")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
