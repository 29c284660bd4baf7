// Package reload is what both binaries do to reload their configuration
// and report health: SIGHUP and POST /-/reload run one load function, one
// at a time; two gauges tell whether the last load worked and when one
// last did; /-/healthy and /-/ready answer probes.
//
// SIGHUPs coalesce: a SIGHUP arriving while a reload is pending joins it,
// and the pending reload reads the file as it is when it runs, so it sees
// the newest version. The signal goroutine never blocks on a busy server
// (os/signal drops signals a full channel cannot take anyway), and a burst
// of SIGHUPs from a config-management run costs one reload, not one each.
package reload

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reloader runs the load function for SIGHUP (the caller's loop calls
// Reload for each value of Notify) and POST /-/reload (ServeHTTP).
type Reloader struct {
	mu     sync.Mutex
	load   func() error
	logger *slog.Logger
	now    func() time.Time
	ok, ts prometheus.Gauge
}

// New registers <program>_config_last_reload_successful and
// <program>_config_last_reload_success_timestamp_seconds on reg. The load
// at start counts as the first successful one: call New after it worked.
// now (nil: time.Now) stamps successful loads. load reads the
// configuration and applies it; on error the running configuration must
// stay. Its errors are logged and answered to POST
// /-/reload as they are, so they must not contain secrets.
func New(program string, reg prometheus.Registerer, logger *slog.Logger, now func() time.Time, load func() error) *Reloader {
	if now == nil {
		now = time.Now
	}
	r := &Reloader{load: load, logger: logger, now: now,
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: program + "_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful (1) or not (0).",
		}),
		ts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: program + "_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration load (start or reload).",
		})}
	reg.MustRegister(r.ok, r.ts)
	r.succeeded()
	return r
}

// Reload runs the load function, one call at a time, and sets the gauges.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		r.ok.Set(0)
		r.logger.Error("reload failed, keeping the running configuration", "err", err)
		return err
	}
	r.succeeded()
	return nil
}

func (r *Reloader) succeeded() {
	r.ok.Set(1)
	r.ts.Set(float64(r.now().UnixNano()) / 1e9)
}

// ServeHTTP is POST /-/reload, as in Prometheus and Alertmanager.
func (r *Reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "reload needs POST", http.StatusMethodNotAllowed)
		return
	}
	if err := r.Reload(); err != nil {
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "config reloaded")
}

// Notify turns SIGHUP into reload requests until ctx is done; SIGHUPs
// arriving while one is pending coalesce into it (see the package doc).
func Notify(ctx context.Context) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				Coalesce(out)
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// Coalesce adds a request to ch (capacity 1) unless one is pending.
func Coalesce(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Health serves /-/healthy (always, while the process serves HTTP) and
// /-/ready (while Ready is set: from start until shutdown begins).
type Health struct{ ready atomic.Bool }

// SetReady marks the process ready or not.
func (h *Health) SetReady(ok bool) { h.ready.Store(ok) }

// Register adds /-/healthy, /-/ready and, when r is not nil, /-/reload.
func (h *Health) Register(mux *http.ServeMux, r *Reloader) {
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "Not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	if r != nil {
		mux.Handle("/-/reload", r)
	}
}
