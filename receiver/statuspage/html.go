package statuspage

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/render"
)

//go:embed page.html
var pageHTML string

// pageData is what page.html executes against.
type pageData struct {
	Snapshot
	Title          string
	Refresh        string
	RefreshSeconds int
}

// hostLinks are the links of one host.
type hostLinks struct {
	Grafana, Prometheus string
}

func (p *Page) template() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"fmtTime":   func(t time.Time) string { return t.In(p.cfg.Location).Format("2006-01-02 15:04:05 MST") },
		"duration":  render.Duration,
		"percent":   percent,
		"labelText": labelText,
		"hostLinks": func(target string) hostLinks {
			return hostLinks{Grafana: p.grafanaLink(target), Prometheus: p.prometheusLink(target)}
		},
		"last": func(ws []string) string {
			if len(ws) == 0 {
				return ""
			}
			return ws[len(ws)-1]
		},
	}).Parse(pageHTML))
}

// serveHTML is GET /: the page, rendered in full before the first byte so
// an error is a clean 500, not half a page.
func (p *Page) serveHTML(w http.ResponseWriter, r *http.Request) {
	s, err := p.snapshot(r.Context())
	if err != nil {
		http.Error(w, "reading the incident log: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	data := pageData{
		Snapshot:       s,
		Title:          p.cfg.Title,
		Refresh:        render.Duration(p.cfg.Refresh),
		RefreshSeconds: int(math.Ceil(p.cfg.Refresh.Seconds())),
	}
	if err := p.tmpl.Execute(&buf, data); err != nil {
		http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Nothing but the inline style: no script runs, nothing is fetched.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// percent shows an availability as a percentage rounded down, so any
// downtime shows below 100%: 0.99995 is "99.99%", not "100.00%" (the
// epsilon undoes float error: 0.29*1e4 is 2899.9999999999995).
func percent(a float64) string {
	if a >= 1 {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", math.Floor(math.Max(a, 0)*1e4+1e-6)/100)
}

// labelText is the labels worth showing next to a host: all but alertname
// and the host's own label.
func labelText(labels map[string]string) string {
	rest := map[string]string{}
	for k, v := range labels {
		switch k {
		case "alertname", "target", "instance", "host":
			continue
		}
		rest[k] = v
	}
	return incident.LabelText(rest)
}
