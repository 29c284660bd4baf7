package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
)

func newTestClient(t *testing.T, urls ...*url.URL) *Client {
	t.Helper()
	c, err := New(Config{URLs: urls, Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var hostA = map[string]string{"alertname": "HostDown", "target": "host-a", "job": "ping",
	"instance": "exporter:9426", "severity": "page", "route": "ops"}

func findAlert(as []Alert, target string) (Alert, bool) {
	for _, a := range as {
		if a.Labels["target"] == target {
			return a, true
		}
	}
	return Alert{}, false
}

func TestRealSilenceLifecycle(t *testing.T) {
	u := amtest.Start(t)
	c := newTestClient(t, u)
	ctx := context.Background()
	now := time.Now()
	amtest.PostAlert(t, u, hostA, now.Add(-time.Minute), now.Add(time.Hour))
	amtest.PostAlert(t, u, map[string]string{"alertname": "HostDown", "target": "host-b", "job": "ping"}, now.Add(-time.Minute), now.Add(time.Hour))

	created, err := c.CreateSilence(ctx, SilenceRequest{Labels: hostA, CreatedBy: "@alice",
		Comment: "from Telegram: https://t.me/c/123/45", StartsAt: now, EndsAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateSilence: %v", err)
	}
	if created.URL != u.String() {
		t.Errorf("created on %q, want %q", created.URL, u)
	}

	sils, err := c.ListSilences(ctx)
	if err != nil {
		t.Fatalf("ListSilences: %v", err)
	}
	if len(sils) != 1 {
		t.Fatalf("got %d silences, want exactly 1: %+v", len(sils), sils)
	}
	s := sils[0]
	want := `[alertname="HostDown" instance="exporter:9426" job="ping" target="host-a"]`
	if got := fmt.Sprint(sortedMatchers(s.Matchers)); got != want {
		t.Errorf("matchers %s, want %s", got, want)
	}
	if s.ID != created.ID || s.CreatedBy != "@alice" || s.State != "active" || !strings.Contains(s.Comment, "t.me/c/123/45") {
		t.Errorf("silence %+v, want id %s by @alice, active, comment with the link", s, created.ID)
	}
	if d := s.EndsAt.Sub(now.Add(time.Hour)); d < -time.Second || d > time.Second {
		t.Errorf("endsAt %s, want %s", s.EndsAt, now.Add(time.Hour))
	}

	as, err := c.Alerts(ctx, nil)
	if err != nil {
		t.Fatalf("Alerts: %v", err)
	}
	a, ok := findAlert(as, "host-a")
	if !ok || a.State != "suppressed" || len(a.SilencedBy) != 1 || a.SilencedBy[0] != created.ID {
		t.Errorf("host-a alert %+v (found %v), want suppressed, silenced by %s", a, ok, created.ID)
	}
	if b, ok := findAlert(as, "host-b"); !ok || b.State != "active" {
		t.Errorf("host-b alert %+v (found %v), want active: the silence must not cover it", b, ok)
	}

	if err := c.ExpireSilence(ctx, created.ID); err != nil {
		t.Fatalf("ExpireSilence: %v", err)
	}
	if sils, err := c.ListSilences(ctx); err != nil || len(sils) != 0 {
		t.Errorf("after expiry: %d active silences (err %v), want 0", len(sils), err)
	}
	as, _ = c.Alerts(ctx, []string{`target="host-a"`})
	if len(as) != 1 || as[0].State != "active" {
		t.Errorf("after expiry host-a alerts %+v, want one, active", as)
	}
	// Expiring twice is harmless (0.25 answers 200, later versions 404).
	if err := c.ExpireSilence(ctx, created.ID); err != nil && !errors.Is(err, ErrSilenceNotFound) {
		t.Errorf("expire twice: %v, want nil or ErrSilenceNotFound", err)
	}
	err = c.ExpireSilence(ctx, "4e2c5f43-1b0a-4a6e-9a51-2f1a1d0c0b7e")
	if !errors.Is(err, ErrSilenceNotFound) || !strings.Contains(err.Error(), u.String()) {
		t.Errorf("expire unknown: err %v, want ErrSilenceNotFound naming %s", err, u)
	}
}

func sortedMatchers(ms []Matcher) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	sortStrings(out)
	return out
}

func TestRealHAFirstPeerDown(t *testing.T) {
	u := amtest.Start(t)
	down := &url.URL{Scheme: "http", Host: amtest.FreeAddr(t)}
	c := newTestClient(t, down, u)
	now := time.Now()
	created, err := c.CreateSilence(context.Background(), SilenceRequest{Labels: hostA, CreatedBy: "1234567",
		StartsAt: now, EndsAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateSilence with the first peer down: %v", err)
	}
	if created.URL != u.String() {
		t.Errorf("created on %s, want the second peer %s", created.URL, u)
	}
	snaps := c.Snapshots(context.Background(), nil)
	if len(snaps) != 2 || snaps[0].Err == nil || snaps[1].Err != nil {
		t.Fatalf("snapshots %+v, want the first failing and the second answering", snaps)
	}
	if !strings.Contains(snaps[0].Err.Error(), down.String()) {
		t.Errorf("error %q does not name %s", snaps[0].Err, down)
	}
	if snaps[1].StartedAt.IsZero() || snaps[1].StartedAt.After(time.Now()) {
		t.Errorf("started at %s, want a past time", snaps[1].StartedAt)
	}
}

func TestRealInhibitedAlert(t *testing.T) {
	u := amtest.Start(t)
	c := newTestClient(t, u)
	now := time.Now()
	amtest.PostAlert(t, u, map[string]string{"alertname": "ExporterDown", "job": "ping"}, now.Add(-time.Minute), now.Add(time.Hour))
	amtest.PostAlert(t, u, hostA, now.Add(-time.Minute), now.Add(time.Hour))
	as, err := c.Alerts(context.Background(), []string{`alertname="HostDown"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].State != "suppressed" || len(as[0].InhibitedBy) != 1 {
		t.Errorf("alerts %+v, want one HostDown, suppressed and inhibited", as)
	}
	// Prometheus resolves it (endsAt now): Alertmanager stops listing it.
	amtest.PostAlert(t, u, hostA, now.Add(-time.Minute), time.Now())
	as, _ = c.Alerts(context.Background(), []string{`alertname="HostDown"`})
	if len(as) != 0 {
		t.Errorf("after resolve: %+v, want none listed", as)
	}
}
