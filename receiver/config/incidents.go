package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// DefaultRetention is how long resolved incidents are kept by default
// (incident.DefaultRetention; config cannot import incident, which renders
// through render, which imports config).
const DefaultRetention = 90 * 24 * time.Hour

// The digest periods (digest.Daily and digest.Weekly).
const (
	DigestDaily  = "daily"
	DigestWeekly = "weekly"
)

// Incidents is the "incidents:" section: the incident log.
type Incidents struct {
	// Retention is how long resolved incidents are kept (default 90d).
	Retention model.Duration `yaml:"retention,omitempty"`
}

// DefaultIncidents is the incidents section when the file has none.
func DefaultIncidents() Incidents {
	return Incidents{Retention: model.Duration(DefaultRetention)}
}

// UnmarshalYAML applies the defaults, decodes strictly and validates.
func (i *Incidents) UnmarshalYAML(node *yaml.Node) error {
	*i = DefaultIncidents()
	if err := checkDuration(field(node, "retention"), "incidents", "retention"); err != nil {
		return err
	}
	type plain Incidents
	if err := decodeStrict(node, (*plain)(i), "incidents"); err != nil {
		return err
	}
	if i.Retention <= 0 {
		return atLine(field(node, "retention"), "incidents: \"retention\" must be positive, got %s", i.Retention)
	}
	return nil
}

// StatusPage is the "status_page:" section: what the page at / shows
// besides the incident log.
type StatusPage struct {
	// Title heads the page ("downtime" if empty).
	Title string `yaml:"title,omitempty"`
	// Refresh is how often the page reloads itself (default 1m).
	Refresh model.Duration `yaml:"refresh,omitempty"`
	// GrafanaURL is a dashboard each host links to with var-target=<host>;
	// PrometheusURL is Prometheus' base URL for a graph of ping_up.
	GrafanaURL    string `yaml:"grafana_url,omitempty"`
	PrometheusURL string `yaml:"prometheus_url,omitempty"`
}

// DefaultStatusPage is the status_page section when the file has none.
func DefaultStatusPage() StatusPage {
	return StatusPage{Refresh: model.Duration(time.Minute)}
}

// UnmarshalYAML applies the defaults, decodes strictly and validates.
func (s *StatusPage) UnmarshalYAML(node *yaml.Node) error {
	*s = DefaultStatusPage()
	if err := checkDuration(field(node, "refresh"), "status_page", "refresh"); err != nil {
		return err
	}
	type plain StatusPage
	if err := decodeStrict(node, (*plain)(s), "status_page"); err != nil {
		return err
	}
	if s.Refresh <= 0 {
		return atLine(field(node, "refresh"), "status_page: \"refresh\" must be positive, got %s", s.Refresh)
	}
	for _, f := range []struct{ key, v string }{{"grafana_url", s.GrafanaURL}, {"prometheus_url", s.PrometheusURL}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return atLine(field(node, f.key), "status_page: %q (%s) must be an absolute http or https URL", f.key, f.v)
		}
	}
	return nil
}

// Digest is a route's "digest:" section: a daily or weekly summary of its
// incidents at a local time (in "timezone").
type Digest struct {
	Period string `yaml:"period"`
	// Weekday is the day of a weekly digest ("monday"); weekly only.
	Weekday string `yaml:"weekday,omitempty"`
	// At is the local time, "HH:MM".
	At string `yaml:"at"`
	// QuietLine is sent when nothing happened; empty: send nothing then.
	QuietLine string `yaml:"quiet_line,omitempty"`

	weekday      time.Weekday
	hour, minute int
}

// UnmarshalYAML decodes strictly and validates a digest section.
func (d *Digest) UnmarshalYAML(node *yaml.Node) error {
	type plain Digest
	if err := decodeStrict(node, (*plain)(d), "digest"); err != nil {
		return err
	}
	switch d.Period {
	case DigestDaily:
		if d.Weekday != "" {
			return atLine(field(node, "weekday"), "digest: \"weekday\" is for a weekly digest only")
		}
	case DigestWeekly:
		if d.Weekday == "" {
			return atLine(node, "digest: a weekly digest needs \"weekday\" (monday … sunday)")
		}
		wd, ok := parseWeekday(d.Weekday)
		if !ok {
			return atLine(field(node, "weekday"), "digest: invalid \"weekday\" %q (use monday … sunday)", d.Weekday)
		}
		d.weekday = wd
	default:
		return atLine(field(node, "period"), "digest: invalid \"period\" %q (use daily or weekly)", d.Period)
	}
	h, m, ok := parseClock(d.At)
	if !ok {
		return atLine(field(node, "at"), "digest: invalid \"at\" %q (use a local time like \"08:00\")", d.At)
	}
	d.hour, d.minute = h, m
	return nil
}

// Time is the local time of day the digest is due.
func (d Digest) Time() (hour, minute int) { return d.hour, d.minute }

// Day is the day of a weekly digest.
func (d Digest) Day() time.Weekday { return d.weekday }

func parseWeekday(s string) (time.Weekday, bool) {
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if strings.EqualFold(s, wd.String()) {
			return wd, true
		}
	}
	return 0, false
}

// parseClock reads "HH:MM" (24-hour).
func parseClock(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) != 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// checkDuration checks one duration before decoding, so that a bad one is
// reported with its line (model.Duration's own error has none).
func checkDuration(node *yaml.Node, section, key string) error {
	if node.Kind != yaml.ScalarNode {
		return nil // absent (field returned the mapping) or a type error decoding reports
	}
	if _, err := model.ParseDuration(node.Value); err != nil {
		return atLine(node, "%s: %q: invalid duration %q (use 90s, 10m, 1h, 1d)", section, key, node.Value)
	}
	return nil
}
