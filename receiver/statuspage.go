package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/statuspage"
	"github.com/downtime-detector/downtime/receiver/store"
)

// statusPages serves the status page (/) and its API (/api/v1/status,
// /api/v1/incidents[.csv]) from the incident log, built from the
// configuration in force: a reload that changes status_page or the time
// zone applies to the next request.
type statusPages struct {
	lv     *live
	log    incident.Lister
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	cfg     *config.Config // what handler was built from
	handler http.Handler
}

// Register adds the page's routes to mux behind auth.
func (s *statusPages) Register(mux *http.ServeMux, auth func(http.Handler) http.Handler) {
	h := auth(s)
	for _, p := range []string{"GET /{$}", "GET /api/v1/status", "GET /api/v1/incidents", "GET /api/v1/incidents.csv"} {
		mux.Handle(p, h)
	}
}

func (s *statusPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, err := s.current()
	if err != nil { // the config was validated; only a bug gets here
		s.logger.Error("status page", "err", err)
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}

func (s *statusPages) current() (http.Handler, error) {
	cfg := s.lv.load().cfg
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg == s.cfg {
		return s.handler, nil
	}
	sp := cfg.StatusPage
	p, err := statuspage.New(s.log, statuspage.Config{Title: sp.Title, Refresh: time.Duration(sp.Refresh),
		Location: cfg.Location(), GrafanaURL: sp.GrafanaURL, PrometheusURL: sp.PrometheusURL}, s.now)
	if err != nil {
		return nil, err
	}
	s.cfg, s.handler = cfg, p.Handler(nil)
	return s.handler, nil
}

// readAuth guards what reads the incident log (the page and its API) as
// the dead-letters API guards itself: the webhook credentials when
// webhook_auth is configured (read per request, so a reload applies);
// without it, --web.config.file (which authenticates every request before
// it gets here), else loopback clients only: host names and outages are
// not for anyone who reaches the port.
func readAuth(auth func() config.WebhookAuth, webConfig bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := auth()
			switch {
			case a.Enabled() && !a.Authorized(r):
				for _, c := range a.Challenges() {
					w.Header().Add("WWW-Authenticate", c)
				}
				http.Error(w, "missing or wrong credentials", http.StatusUnauthorized)
			case !a.Enabled() && !webConfig && !loopbackClient(r.RemoteAddr):
				http.Error(w, "the status page needs webhook_auth or --web.config.file when read from beyond loopback",
					http.StatusForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

func loopbackClient(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// retention is incidents.retention in force.
func (l *live) retention() time.Duration { return time.Duration(l.load().cfg.Incidents.Retention) }

// pruneIncidents drops resolved incidents older than retention(), when
// the store keeps the log and retention is not nil (part of prune's pass).
func pruneIncidents(ctx context.Context, st store.Store, now time.Time, retention func() time.Duration, logger *slog.Logger) {
	is, ok := st.(store.IncidentStore)
	if !ok || retention == nil {
		return
	}
	n, err := is.Incidents().Prune(ctx, now, retention())
	if err != nil {
		logger.Warn("pruning old incidents", "err", err)
	} else if n > 0 {
		logger.Debug("pruned old incidents", "n", n)
	}
}
