package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/client/silence"
	"github.com/prometheus/alertmanager/api/v2/models"
)

// IdentifyingLabels are the labels a silence from the chat matches exactly,
// when the alert has them. Not every label: a silence on all labels would
// stop matching as soon as a label that does not identify the outage (a
// severity, a runbook link) changes.
var IdentifyingLabels = []string{"alertname", "target", "job", "instance"}

// Matcher is one exact or regex label matcher of a silence.
type Matcher struct {
	Name, Value string
	IsRegex     bool
	IsEqual     bool
}

func (m Matcher) String() string {
	op := "="
	switch {
	case m.IsRegex && m.IsEqual:
		op = "=~"
	case m.IsRegex:
		op = "!~"
	case !m.IsEqual:
		op = "!="
	}
	return fmt.Sprintf("%s%s%q", m.Name, op, m.Value)
}

// SilenceMatchers returns exact matchers on the alert's identifying labels.
// It refuses an alert without alertname, or without target and instance,
// because such a silence would cover every alert of that name.
func SilenceMatchers(labels map[string]string) ([]Matcher, error) {
	if labels["alertname"] == "" {
		return nil, errors.New("alert has no alertname label; refusing to silence")
	}
	if labels["target"] == "" && labels["instance"] == "" {
		return nil, fmt.Errorf("alert %s has neither a target nor an instance label; refusing a silence that would cover every %[1]s alert", labels["alertname"])
	}
	var ms []Matcher
	for _, n := range IdentifyingLabels {
		if v := labels[n]; v != "" {
			ms = append(ms, Matcher{Name: n, Value: v, IsEqual: true})
		}
	}
	return ms, nil
}

// SilenceRequest is a silence to create for one alert.
type SilenceRequest struct {
	Labels    map[string]string // the alert's labels; only IdentifyingLabels are used
	CreatedBy string            // the Telegram user: @username, else the numeric id
	Comment   string            // e.g. a link to the chat message
	StartsAt  time.Time         // now
	EndsAt    time.Time
}

// Created says which silence was created on which peer.
type Created struct {
	ID       string
	URL      string
	Matchers []Matcher
}

// CreateSilence creates the silence on the first peer that answers. It moves
// to the next peer only when the previous one surely did not receive the
// request (connection refused, 502/503/504 from a proxy): a timeout after
// sending may have created it, and a second one on the next peer would
// outlive an "unsilence" of the first.
func (c *Client) CreateSilence(ctx context.Context, r SilenceRequest) (Created, error) {
	ms, err := SilenceMatchers(r.Labels)
	if err != nil {
		return Created{}, err
	}
	switch {
	case strings.TrimSpace(r.CreatedBy) == "":
		return Created{}, errors.New("silence: empty createdBy")
	case !r.EndsAt.After(r.StartsAt):
		return Created{}, fmt.Errorf("silence: endsAt %s is not after startsAt %s", r.EndsAt.Format(time.RFC3339), r.StartsAt.Format(time.RFC3339))
	}
	body := &models.PostableSilence{Silence: models.Silence{
		Comment:   &r.Comment,
		CreatedBy: &r.CreatedBy,
		StartsAt:  dt(r.StartsAt),
		EndsAt:    dt(r.EndsAt),
		Matchers:  toModel(ms),
	}}
	var errs []error
	for _, p := range c.peers {
		var id string
		err := c.call(ctx, p, "create silence", func(ctx context.Context) error {
			ok, err := p.api.Silence.PostSilences(silence.NewPostSilencesParamsWithContext(ctx).WithSilence(body), withStatus)
			if err == nil {
				id = ok.Payload.SilenceID
			}
			return err
		})
		if err == nil {
			c.logger.Info("silence created", "alertmanager", p.name, "id", id, "matchers", fmt.Sprint(ms), "created_by", r.CreatedBy, "ends_at", r.EndsAt)
			return Created{ID: id, URL: p.name, Matchers: ms}, nil
		}
		errs = append(errs, err)
		if !retryOnPeer(err) {
			break
		}
	}
	return Created{}, errors.Join(errs...)
}

// ExpireSilence expires a silence (DELETE /api/v2/silence/{id}) on the first
// peer that answers. A peer that does not know it yet (gossip lag) passes the
// question on; when none knows it the error wraps ErrSilenceNotFound.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	if !strfmt.IsUUID(id) {
		return fmt.Errorf("silence id %q is not a UUID", shorten(id))
	}
	var errs []error
	notFound := 0
	for _, p := range c.peers {
		err := c.call(ctx, p, "expire silence", func(ctx context.Context) error {
			_, err := p.api.Silence.DeleteSilence(silence.NewDeleteSilenceParamsWithContext(ctx).WithSilenceID(strfmt.UUID(id)), withStatus)
			return err
		})
		if err == nil {
			c.logger.Info("silence expired", "alertmanager", p.name, "id", id)
			return nil
		}
		var e *Error
		if errors.As(err, &e) && isNotFound(e) {
			notFound++
			errs = append(errs, err)
			continue
		}
		errs = append(errs, err)
		if !retryOnPeer(err) {
			break
		}
	}
	if notFound == len(c.peers) {
		return fmt.Errorf("silence %s: %w (%w)", id, ErrSilenceNotFound, errors.Join(errs...))
	}
	return errors.Join(errs...)
}

// isNotFound: Alertmanager 0.27 and later answer 404 for an unknown or
// already expired silence; 0.25 (Debian bookworm) answers 500 "silence not
// found".
func isNotFound(e *Error) bool {
	return e.Status == 404 || (e.Status == 500 && strings.Contains(e.Message, "not found"))
}

// Silence is a silence as listed by Alertmanager.
type Silence struct {
	ID        string
	State     string // active, pending or expired
	Matchers  []Matcher
	CreatedBy string
	Comment   string
	StartsAt  time.Time
	EndsAt    time.Time
}

// ListSilences returns the active silences of the cluster (from the first peer
// that answers), soonest end first.
func (c *Client) ListSilences(ctx context.Context) ([]Silence, error) {
	var errs []error
	for _, p := range c.peers {
		var out []Silence
		err := c.call(ctx, p, "list silences", func(ctx context.Context) error {
			ok, err := p.api.Silence.GetSilences(silence.NewGetSilencesParamsWithContext(ctx), withStatus)
			if err != nil {
				return err
			}
			for _, s := range ok.Payload {
				if s == nil || s.Status == nil || s.Status.State == nil || *s.Status.State != models.SilenceStatusStateActive {
					continue
				}
				out = append(out, fromModelSilence(s))
			}
			return nil
		})
		if err == nil {
			sort.Slice(out, func(i, j int) bool {
				if !out[i].EndsAt.Equal(out[j].EndsAt) {
					return out[i].EndsAt.Before(out[j].EndsAt)
				}
				return out[i].ID < out[j].ID
			})
			return out, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func fromModelSilence(s *models.GettableSilence) Silence {
	out := Silence{ID: str(s.ID), State: str(s.Status.State), CreatedBy: str(s.CreatedBy), Comment: str(s.Comment),
		StartsAt: tm(s.StartsAt), EndsAt: tm(s.EndsAt)}
	for _, m := range s.Matchers {
		if m == nil {
			continue
		}
		out.Matchers = append(out.Matchers, Matcher{Name: str(m.Name), Value: str(m.Value),
			IsRegex: m.IsRegex != nil && *m.IsRegex, IsEqual: m.IsEqual == nil || *m.IsEqual})
	}
	return out
}

func toModel(ms []Matcher) models.Matchers {
	out := make(models.Matchers, len(ms))
	for i, m := range ms {
		out[i] = &models.Matcher{Name: ptr(m.Name), Value: ptr(m.Value), IsRegex: ptr(m.IsRegex), IsEqual: ptr(m.IsEqual)}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func dt(t time.Time) *strfmt.DateTime { d := strfmt.DateTime(t); return &d }

func tm(d *strfmt.DateTime) time.Time {
	if d == nil {
		return time.Time{}
	}
	return time.Time(*d)
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortStrings(s []string) { sort.Strings(s) }
