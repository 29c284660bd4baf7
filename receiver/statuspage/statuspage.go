// Package statuspage serves the receiver's status page and its JSON API
// from the incident log: what is down now, what was down, how available
// each host was over 24 h, 7 d and 30 d.
//
//	GET /                       HTML page (no JavaScript, refreshes itself)
//	GET /api/v1/status          JSON: hosts down now, availability per host
//	GET /api/v1/incidents       JSON (or CSV with format=csv): incidents,
//	                            filtered by state, target, route, since, until, limit
//	GET /api/v1/incidents.csv   CSV export
//
// Authentication is the caller's: [Page.Register] wraps every handler with
// the function it is given.
package statuspage

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// Config is what the page shows besides the log.
type Config struct {
	// Title heads the page ("downtime" if empty).
	Title string
	// Refresh is how often the page reloads itself (DefaultRefresh if 0).
	Refresh time.Duration
	// Location is the time zone times are shown in (UTC if nil); the JSON
	// API gives RFC 3339 times in it too.
	Location *time.Location
	// Windows are the availability periods (incident.DefaultWindows if
	// nil).
	Windows []incident.Window
	// History is how many resolved incidents the page lists
	// (DefaultHistory if 0).
	History int
	// GrafanaURL is a dashboard URL; each host links to it with
	// var-target=<host>. PrometheusURL is Prometheus' base URL; each host
	// links to a graph of its ping_up. Empty: no link.
	GrafanaURL, PrometheusURL string
}

// Defaults of Config.
const (
	DefaultRefresh = time.Minute
	DefaultHistory = 50
)

// Page serves the status page and the API.
type Page struct {
	cfg  Config
	log  incident.Lister
	now  func() time.Time
	tmpl *template.Template
}

// New returns a page over log; now is the clock (time.Now in production).
func New(log incident.Lister, cfg Config, now func() time.Time) (*Page, error) {
	if cfg.Title == "" {
		cfg.Title = "downtime"
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Windows == nil {
		cfg.Windows = incident.DefaultWindows
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	for name, u := range map[string]string{"grafana_url": cfg.GrafanaURL, "prometheus_url": cfg.PrometheusURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("status page: %q (%s) must be an absolute http or https URL", name, u)
		}
	}
	p := &Page{cfg: cfg, log: log, now: now}
	p.tmpl = p.template()
	return p, nil
}

// Register adds the page's routes to mux, each wrapped by wrap (the
// receiver's authentication; nil for none).
func (p *Page) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	// GET patterns match HEAD too; other methods get 405 from the mux.
	mux.Handle("GET /{$}", wrap(http.HandlerFunc(p.serveHTML)))
	mux.Handle("GET /api/v1/status", wrap(http.HandlerFunc(p.serveStatus)))
	mux.Handle("GET /api/v1/incidents", wrap(http.HandlerFunc(p.serveIncidents)))
	mux.Handle("GET /api/v1/incidents.csv", wrap(http.HandlerFunc(p.serveCSV)))
}

// Handler is a mux with only the page's routes.
func (p *Page) Handler(wrap func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	p.Register(mux, wrap)
	return mux
}

// Snapshot is what the page and /api/v1/status show at one instant.
type Snapshot struct {
	Time         time.Time            `json:"time"`
	Down         []incident.Record    `json:"down"`
	Recent       []incident.Record    `json:"-"`
	Availability []incident.HostStats `json:"availability"`
	Windows      []string             `json:"windows"`
	Links        Links                `json:"links"`
}

// Links are the configured links to other tools.
type Links struct {
	Grafana    string `json:"grafana,omitempty"`
	Prometheus string `json:"prometheus,omitempty"`
}

// snapshot reads the log once: everything going on within the longest
// window, so the down list, the history and the availability agree.
func (p *Page) snapshot(ctx context.Context) (Snapshot, error) {
	now := p.now()
	incs, err := p.log.List(ctx, incident.Filter{Since: now.Add(-incident.MaxWindow(p.cfg.Windows))})
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{
		Time:         now.In(p.cfg.Location),
		Down:         []incident.Record{},
		Availability: incident.ByHost(incs, p.cfg.Windows, now),
		Links:        Links{Grafana: p.cfg.GrafanaURL, Prometheus: p.cfg.PrometheusURL},
	}
	for _, w := range p.cfg.Windows {
		s.Windows = append(s.Windows, w.Name)
	}
	for _, inc := range incs {
		rec := p.record(inc, now)
		switch {
		case inc.Open():
			s.Down = append(s.Down, rec)
		case len(s.Recent) < p.cfg.History:
			s.Recent = append(s.Recent, rec)
		}
	}
	return s, nil
}

// record is inc exported at now with times in the page's zone.
func (p *Page) record(inc incident.Incident, now time.Time) incident.Record {
	r := incident.NewRecord(inc, now)
	r.Start = r.Start.In(p.cfg.Location)
	if !r.Open() {
		r.End = r.End.In(p.cfg.Location)
	}
	return r
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

// paramError is a bad query parameter, named in the message.
type paramError struct {
	param, value, reason string
}

func (e *paramError) Error() string {
	return fmt.Sprintf("invalid %q parameter %q: %s", e.param, e.value, e.reason)
}

// internalError answers 500 naming what failed.
func internalError(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusInternalServerError, apiError{Error: "reading the incident log: " + err.Error()})
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
}

// grafanaLink is the dashboard of target, "" without a Grafana URL.
func (p *Page) grafanaLink(target string) string {
	if p.cfg.GrafanaURL == "" {
		return ""
	}
	u, err := url.Parse(p.cfg.GrafanaURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("var-target", target)
	u.RawQuery = q.Encode()
	return u.String()
}

// prometheusLink graphs ping_up of target, "" without a Prometheus URL.
func (p *Page) prometheusLink(target string) string {
	if p.cfg.PrometheusURL == "" {
		return ""
	}
	q := url.Values{}
	q.Set("g0.expr", fmt.Sprintf("ping_up{target=%q}", target))
	q.Set("g0.range_input", "1d")
	return strings.TrimSuffix(p.cfg.PrometheusURL, "/") + "/graph?" + q.Encode()
}
