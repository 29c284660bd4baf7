package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// webLimits are the limits of the HTTP server (README "Limits"). A client
// that sends its request slowly or keeps an idle connection is cut off
// after a timeout, and at most maxInFlight requests are served at once
// (503 beyond it): 200 slow bodies or 2,000 idle keep-alives must not
// exhaust the file descriptors and keep the webhook and /-/ready from
// answering.
type webLimits struct {
	readHeader time.Duration
	// read bounds reading a whole request, body included (--web.read-timeout).
	read  time.Duration
	write time.Duration
	// idle closes keep-alive connections with no request (--web.idle-timeout).
	idle time.Duration
	// maxInFlight caps concurrent requests, health and metrics excepted
	// (--web.max-requests).
	maxInFlight int
}

var defaultWebLimits = webLimits{
	readHeader:  10 * time.Second,
	read:        30 * time.Second, // a webhook body is at most 1 MiB
	write:       60 * time.Second, // read + one store commit, with room
	idle:        2 * time.Minute,  // Alertmanager's keep-alive to us survives a group_interval of 1m
	maxInFlight: 32,
}

func (l webLimits) withDefaults() webLimits {
	d := defaultWebLimits
	for _, p := range []struct{ v, def *time.Duration }{
		{&l.readHeader, &d.readHeader}, {&l.read, &d.read}, {&l.write, &d.write}, {&l.idle, &d.idle},
	} {
		if *p.v > 0 {
			*p.def = *p.v
		}
	}
	if l.maxInFlight > 0 {
		d.maxInFlight = l.maxInFlight
	}
	d.readHeader = min(d.readHeader, d.read)
	d.write = max(d.write, d.read)
	return d
}

// newServer returns the HTTP server with every timeout set and the
// in-flight limit in front of h.
func (l webLimits) newServer(h http.Handler, reg prometheus.Registerer) *http.Server {
	return &http.Server{
		Handler:           l.limit(h, reg),
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
	}
}

// unlimited are the paths served whatever the load: the health checks
// and the metrics, which tell the operator about the flood.
func unlimited(path string) bool {
	return path == "/-/healthy" || path == "/-/ready" || path == "/metrics"
}

// limit serves at most l.maxInFlight requests at once; the others are
// answered 503 with Retry-After at once (Alertmanager retries a webhook
// answered 5xx, so nothing is lost).
func (l webLimits) limit(h http.Handler, reg prometheus.Registerer) http.Handler {
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "downtime_receiver_http_requests_in_flight",
		Help: "HTTP requests being served (health checks and /metrics excepted; limit --web.max-requests)."})
	refused := prometheus.NewCounter(prometheus.CounterOpts{Name: "downtime_receiver_http_requests_refused_total",
		Help: "HTTP requests answered 503 because --web.max-requests were already being served."})
	reg.MustRegister(inFlight, refused)
	sem := make(chan struct{}, l.maxInFlight)
	msg := fmt.Sprintf("too many concurrent requests (limit %d, --web.max-requests): try again later", l.maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unlimited(strings.TrimSuffix(r.URL.Path, "/")) {
			h.ServeHTTP(w, r)
			return
		}
		select {
		case sem <- struct{}{}:
			inFlight.Inc()
			defer func() { inFlight.Dec(); <-sem }()
		default:
			refused.Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}
