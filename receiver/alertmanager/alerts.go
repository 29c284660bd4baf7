package alertmanager

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/client/general"
	"github.com/prometheus/alertmanager/api/v2/models"
)

// Alert is an alert as one Alertmanager holds it. Alertmanager lists only
// alerts whose endsAt has not passed; a silenced or inhibited alert is still
// listed, with State "suppressed" and SilencedBy or InhibitedBy set.
type Alert struct {
	Fingerprint  string
	Labels       map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	UpdatedAt    time.Time
	GeneratorURL string
	State        string // unprocessed, active or suppressed
	SilencedBy   []string
	InhibitedBy  []string
}

// Snapshot is what one peer answered. Err set means the peer is unknown
// territory for this round: not reachable, or an error answer.
type Snapshot struct {
	URL       string
	StartedAt time.Time // the peer's start (status "uptime"); zero if unknown
	Alerts    []Alert
	Err       error
}

// Snapshots asks every peer for its alerts (GET /api/v2/alerts with the
// optional filter matchers, e.g. `alertname="HostDown"`) and its start time
// (GET /api/v2/status), concurrently. Alerts do not gossip: each peer has its
// own copy from Prometheus, so every peer is asked.
func (c *Client) Snapshots(ctx context.Context, filter []string) []Snapshot {
	out := make([]Snapshot, len(c.peers))
	var wg sync.WaitGroup
	for i, p := range c.peers {
		wg.Go(func() { out[i] = c.snapshot(ctx, p, filter) })
	}
	wg.Wait()
	return out
}

// Alerts returns the alerts of the first peer that answers.
func (c *Client) Alerts(ctx context.Context, filter []string) ([]Alert, error) {
	var errs []error
	for _, p := range c.peers {
		as, err := c.alerts(ctx, p, filter)
		if err == nil {
			return as, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (c *Client) snapshot(ctx context.Context, p peer, filter []string) Snapshot {
	s := Snapshot{URL: p.name}
	s.Err = c.call(ctx, p, "status", func(ctx context.Context) error {
		ok, err := p.api.General.GetStatus(general.NewGetStatusParamsWithContext(ctx), withStatus)
		if err == nil && ok.Payload != nil {
			s.StartedAt = tm(ok.Payload.Uptime)
		}
		return err
	})
	if s.Err != nil {
		return s
	}
	s.Alerts, s.Err = c.alerts(ctx, p, filter)
	return s
}

func (c *Client) alerts(ctx context.Context, p peer, filter []string) ([]Alert, error) {
	var out []Alert
	err := c.call(ctx, p, "list alerts", func(ctx context.Context) error {
		ok, err := p.api.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx).WithFilter(filter), withStatus)
		if err != nil {
			return err
		}
		for _, a := range ok.Payload {
			if a != nil {
				out = append(out, fromModelAlert(a))
			}
		}
		return nil
	})
	return out, err
}

func fromModelAlert(a *models.GettableAlert) Alert {
	out := Alert{Fingerprint: str(a.Fingerprint), Labels: map[string]string(a.Labels),
		StartsAt: tm(a.StartsAt), EndsAt: tm(a.EndsAt), UpdatedAt: tm(a.UpdatedAt),
		GeneratorURL: string(a.GeneratorURL)}
	if a.Status != nil {
		out.State = str(a.Status.State)
		out.SilencedBy = a.Status.SilencedBy
		out.InhibitedBy = a.Status.InhibitedBy
	}
	return out
}
