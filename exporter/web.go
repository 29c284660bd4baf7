package main

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Limits of the HTTP server (README "Limits"). A client that sends its
// headers slowly, keeps an idle connection or reads a scrape slowly is cut
// off, and at most maxInFlight scrapes run at once: a flood of scrapes or
// connections must not starve the prober of CPU and memory, nor keep
// /-/ready from answering.
type webLimits struct {
	readHeader, read, idle time.Duration
	// scrapeTimeout bounds a /metrics response (--web.scrape-timeout), or
	// the scraper's own timeout if shorter (X-Prometheus-Scrape-Timeout-Seconds).
	scrapeTimeout time.Duration
	// maxInFlight caps concurrent /metrics requests (--web.max-requests).
	maxInFlight int
}

var defaultWebLimits = webLimits{
	readHeader:    10 * time.Second,
	read:          30 * time.Second, // no endpoint takes a request body
	idle:          90 * time.Second, // longer than a 1m scrape interval: keep-alive works
	scrapeTimeout: 30 * time.Second,
	maxInFlight:   10,
}

func (l webLimits) withDefaults() webLimits {
	d := defaultWebLimits
	if l.readHeader > 0 {
		d.readHeader = l.readHeader
	}
	if l.read > 0 {
		d.read = l.read
	}
	if l.idle > 0 {
		d.idle = l.idle
	}
	if l.scrapeTimeout > 0 {
		d.scrapeTimeout = l.scrapeTimeout
	}
	if l.maxInFlight > 0 {
		d.maxInFlight = l.maxInFlight
	}
	return d
}

// newServer returns the HTTP server with every timeout set. The write
// timeout is a backstop above the scrape timeout, which is set per request.
func (l webLimits) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.scrapeTimeout + 10*time.Second,
		IdleTimeout:       l.idle,
	}
}

// limitScrapes serves at most l.maxInFlight scrapes at once (503 for the
// rest: Prometheus records a failed scrape and tries again at the next
// interval) and gives each a write deadline, so that a client that stops
// reading releases its slot after the scrape timeout. The limit covers the
// text and the protobuf paths alike.
func (l webLimits) limitScrapes(h http.Handler) http.Handler {
	sem := make(chan struct{}, l.maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		default:
			http.Error(w, fmt.Sprintf("too many concurrent scrapes (limit %d, --web.max-requests): try again later", l.maxInFlight),
				http.StatusServiceUnavailable)
			return
		}
		timeout := l.scrapeTimeout
		if s, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && s > 0 {
			timeout = min(timeout, time.Duration(s*float64(time.Second)))
		}
		// Not supported only by test recorders; the server's write timeout
		// still applies.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout))
		h.ServeHTTP(w, r)
	})
}
