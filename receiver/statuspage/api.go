package statuspage

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

// serveStatus is GET /api/v1/status.
func (p *Page) serveStatus(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query()); err != nil {
		badRequest(w, err)
		return
	}
	s, err := p.snapshot(r.Context())
	if err != nil {
		internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// serveIncidents is GET /api/v1/incidents (format=csv for CSV).
func (p *Page) serveIncidents(w http.ResponseWriter, r *http.Request) {
	p.serveList(w, r, false)
}

// serveCSV is GET /api/v1/incidents.csv.
func (p *Page) serveCSV(w http.ResponseWriter, r *http.Request) {
	p.serveList(w, r, true)
}

func (p *Page) serveList(w http.ResponseWriter, r *http.Request, csv bool) {
	now := p.now()
	f, format, err := ParseQuery(r.URL.Query(), now)
	if err != nil {
		badRequest(w, err)
		return
	}
	if csv {
		format = incident.FormatCSV
	}
	incs, err := p.log.List(r.Context(), f)
	if err != nil {
		internalError(w, err)
		return
	}
	if format == incident.FormatCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="incidents.csv"`)
		_ = incident.Write(w, incs, incident.FormatCSV, now, p.cfg.Location)
		return
	}
	recs := make([]incident.Record, 0, len(incs))
	for _, inc := range incs {
		recs = append(recs, p.record(inc, now))
	}
	writeJSON(w, http.StatusOK, struct {
		Incidents []incident.Record `json:"incidents"`
	}{recs})
}

// queryParams are the parameters /api/v1/incidents knows; any other is an
// error, so a typo ("stat=open") does not silently return everything.
var queryParams = map[string]bool{
	"state": true, "target": true, "route": true, "since": true, "until": true, "limit": true, "format": true,
}

// checkParams rejects any parameter: /api/v1/status takes none.
func checkParams(q url.Values) error {
	if len(q) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(q))
	return &paramError{param: keys[0], value: q.Get(keys[0]), reason: "unknown parameter; /api/v1/status takes none"}
}

// ParseQuery turns the query of /api/v1/incidents into a filter and a
// format (json or csv). since and until are a duration back from now
// ("24h", "7d") or an RFC 3339 time.
func ParseQuery(q url.Values, now time.Time) (incident.Filter, incident.Format, error) {
	var f incident.Filter
	format := incident.FormatJSON
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		if !queryParams[k] {
			return f, "", &paramError{param: k, value: q.Get(k), reason: "unknown parameter; known: format, limit, route, since, state, target, until"}
		}
		if len(vs) > 1 {
			return f, "", &paramError{param: k, value: strings.Join(vs, ","), reason: "given more than once"}
		}
	}
	var err error
	if v := q.Get("state"); v != "" {
		if f.State, err = incident.ParseState(v); err != nil {
			return f, "", &paramError{"state", v, err.Error()}
		}
	}
	f.Target, f.Route = q.Get("target"), q.Get("route")
	if f.Since, err = parseTime(q, "since", now); err != nil {
		return f, "", err
	}
	if f.Until, err = parseTime(q, "until", now); err != nil {
		return f, "", err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, "", &paramError{"until", q.Get("until"), `must be after "since"`}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return f, "", &paramError{"limit", v, "must be a positive integer"}
		}
	}
	switch v := q.Get("format"); v {
	case "", "json":
	case "csv":
		format = incident.FormatCSV
	default:
		return f, "", &paramError{"format", v, `must be "json" or "csv"`}
	}
	return f, format, nil
}

// parseTime reads parameter name as a duration before now or an RFC 3339
// time; zero if absent.
func parseTime(q url.Values, name string, now time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := incident.ParseTime(v, now)
	if err != nil {
		return time.Time{}, &paramError{name, v, err.Error()}
	}
	return t, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
