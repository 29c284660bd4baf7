package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/render"
	"github.com/downtime-detector/downtime/receiver/store"
)

// Router picks the route of an alert: *config.Config fits. name is the
// {route} of POST /webhook/{route} ("" for /webhook). An unknown name wraps
// config.ErrUnknownRoute, no match without a default chat config.ErrNoRoute.
type Router interface {
	Route(name, receiver string, labels map[string]string) (config.Route, error)
}

// Renderer turns a group's data into one or more messages of at most 4096
// characters (*render.Renderer fits).
type Renderer interface {
	Render(d render.Data) ([]render.Message, error)
}

// Heartbeats takes heartbeat alerts (Alertmanager's Watchdog) out of a
// notification before it is planned: *heartbeat.Watcher fits. They never
// become messages nor count as queued.
type Heartbeats interface {
	// Take records the heartbeats among data.Alerts and returns the other
	// alerts. Its errors are treated like a Router's.
	Take(pathRoute string, data *template.Data) ([]template.Alert, error)
}

// Options configure a Handler.
type Options struct {
	Store      store.Store
	Router     Router
	Renderer   Renderer
	Auth       func() config.WebhookAuth // read per request; nil: no authentication
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // clock, injectable for tests
	Queued     func()           // called after jobs were committed (wakes the worker)
	// Observe, if set, is called after the commit for every alert of the
	// notification with the reference of its state (receiver/behind
	// watches down parents with it).
	Observe    func(ref store.AlertRef, a template.Alert)
	Heartbeats Heartbeats // nil: no alert is a heartbeat
}

// Handler serves POST /webhook and POST /webhook/{route}.
type Handler struct {
	opts    Options
	mux     *http.ServeMux
	metrics *metrics
}

// New returns a Handler; register it with Register or use it as http.Handler.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Queued == nil {
		opts.Queued = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), metrics: newMetrics(opts.Registerer)}
	h.mux.HandleFunc("/webhook", h.serve)
	h.mux.HandleFunc("/webhook/{route}", h.serve)
	return h
}

// Register adds the webhook paths to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("/webhook", h)
	mux.Handle("/webhook/{route}", h)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	n, err := h.handle(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.metrics.requests.WithLabelValues("200").Inc()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "queued": n})
}

func (h *Handler) handle(w http.ResponseWriter, r *http.Request) (int, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return 0, &RequestError{Code: http.StatusMethodNotAllowed, Reason: ReasonMethod, Msg: "method " + r.Method + " not allowed, use POST"}
	}
	if err := h.authorize(w, r); err != nil {
		return 0, err
	}
	msg, err := Decode(http.MaxBytesReader(w, r.Body, MaxBodyBytes+1))
	if err != nil {
		return 0, err
	}
	h.metrics.received.Inc()
	if msg.TruncatedAlerts > 0 {
		h.opts.Logger.Warn("Alertmanager left alerts out of the notification; set max_alerts: 0 in its webhook_config",
			"receiver", msg.Receiver, "truncated_alerts", msg.TruncatedAlerts)
	}
	if h.opts.Heartbeats != nil {
		rest, err := h.opts.Heartbeats.Take(r.PathValue("route"), msg.Data)
		if err != nil {
			return 0, routeError(err)
		}
		if len(rest) == 0 {
			return 0, nil
		}
		msg.Alerts = rest
	}
	return h.enqueue(r.PathValue("route"), msg)
}

func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) error {
	if h.opts.Auth == nil {
		return nil
	}
	a := h.opts.Auth()
	if !a.Enabled() || a.Authorized(r) {
		return nil
	}
	for _, c := range a.Challenges() {
		w.Header().Add("WWW-Authenticate", c)
	}
	return &RequestError{Code: http.StatusUnauthorized, Reason: ReasonUnauthorized, Msg: "missing or wrong credentials"}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		h.opts.Logger.Error("webhook failed", "path", r.URL.Path, "err", err)
		h.metrics.requests.WithLabelValues("500").Inc()
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error, retry later"})
		return
	}
	h.opts.Logger.Warn("webhook rejected", "path", r.URL.Path, "remote", r.RemoteAddr,
		"code", re.Code, "reason", re.Reason, "err", re.Msg)
	h.metrics.requests.WithLabelValues(strconv.Itoa(re.Code)).Inc()
	h.metrics.invalid.WithLabelValues(re.Reason).Inc()
	writeJSON(w, re.Code, map[string]string{"error": re.Msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// routeError turns a Router error into a 404 for unknown routes.
func routeError(err error) error {
	if errors.Is(err, config.ErrUnknownRoute) || errors.Is(err, config.ErrNoRoute) {
		return &RequestError{Code: http.StatusNotFound, Reason: ReasonUnknownRoute, Msg: err.Error()}
	}
	return fmt.Errorf("routing: %w", err)
}
