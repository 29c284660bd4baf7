package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/store"
)

// Path is the admin API's base path.
const Path = "/api/v1/dead-letters"

// request is the body of POST retry and purge.
type request struct {
	IDs []uint64 `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

type retryResponse struct {
	Jobs []store.Job `json:"jobs"`
}

type purgeResponse struct {
	Purged int `json:"purged"`
}

// Handler serves GET Path, POST Path/retry and POST Path/purge. A request
// must carry the webhook credentials (Auth, read on every request so a
// reload applies); without webhook auth only loopback clients are served,
// because these endpoints change what is sent to the chat.
type Handler struct {
	Manager Manager
	Auth    func() config.WebhookAuth
}

// Register adds the admin paths to mux.
func (h Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.guard(h.list))
	mux.HandleFunc("POST "+Path+"/retry", h.guard(h.retry))
	mux.HandleFunc("POST "+Path+"/purge", h.guard(h.purge))
}

func (h Handler) guard(next func(http.ResponseWriter, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := h.Auth()
		if a.Enabled() && !a.Authorized(r) {
			for _, c := range a.Challenges() {
				w.Header().Add("WWW-Authenticate", c)
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong credentials"})
			return
		}
		if !a.Enabled() && !loopback(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, map[string]string{
				"error": "the dead-letters API needs webhook_auth when called from beyond loopback"})
			return
		}
		v, err := next(w, r)
		switch {
		case errors.Is(err, store.ErrNoDeadLetter):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func (h Handler) list(_ http.ResponseWriter, r *http.Request) (any, error) {
	dl, err := h.Manager.List(r.Context())
	if dl == nil {
		dl = []store.DeadLetter{}
	}
	return dl, err
}

func (h Handler) retry(w http.ResponseWriter, r *http.Request) (any, error) {
	ids, err := decodeIDs(w, r)
	if err != nil {
		return nil, err
	}
	jobs, err := h.Manager.Retry(r.Context(), ids)
	return retryResponse{Jobs: jobs}, err
}

func (h Handler) purge(w http.ResponseWriter, r *http.Request) (any, error) {
	ids, err := decodeIDs(w, r)
	if err != nil {
		return nil, err
	}
	n, err := h.Manager.Purge(r.Context(), ids)
	return purgeResponse{Purged: n}, err
}

// decodeIDs reads the ids of a retry or purge: either ids or all, so that
// an empty body never means "all".
func decodeIDs(w http.ResponseWriter, r *http.Request) ([]uint64, error) {
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("decoding request: %w", err)
	}
	if req.All == (len(req.IDs) > 0) {
		return nil, errors.New(`give either "ids" or "all": true`)
	}
	return req.IDs, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Client calls a running receiver's admin API at URL (its base URL, e.g.
// http://127.0.0.1:9427) with the webhook credentials Auth.
type Client struct {
	URL  string
	Auth config.WebhookAuth
	HTTP *http.Client // nil: http.DefaultClient
}

var _ Manager = Client{}

// List returns the running receiver's dead letters.
func (c Client) List(ctx context.Context) ([]store.DeadLetter, error) {
	var dl []store.DeadLetter
	return dl, c.do(ctx, http.MethodGet, "", nil, &dl)
}

// Retry asks the running receiver to queue dead letters again.
func (c Client) Retry(ctx context.Context, ids []uint64) ([]store.Job, error) {
	var resp retryResponse
	return resp.Jobs, c.do(ctx, http.MethodPost, "/retry", ids, &resp)
}

// Purge asks the running receiver to delete dead letters.
func (c Client) Purge(ctx context.Context, ids []uint64) (int, error) {
	var resp purgeResponse
	return resp.Purged, c.do(ctx, http.MethodPost, "/purge", ids, &resp)
}

func (c Client) do(ctx context.Context, method, op string, ids []uint64, out any) error {
	var body io.Reader
	if method == http.MethodPost {
		b, _ := json.Marshal(request{IDs: ids, All: len(ids) == 0})
		body = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.URL, "/") + Path + op
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("receiver URL %q: %w", c.URL, err)
	}
	c.Auth.Apply(req)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("calling the receiver at %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		return fmt.Errorf("receiver at %s: %s: %s", c.URL, resp.Status, e.Error)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the answer of the receiver at %s: %w", c.URL, err)
	}
	return nil
}
