package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Floors and bounds of what one target may ask for (README "Limits").
const (
	// MinInterval is the shortest interval: 50 echo requests per second to
	// one host. It is also where the scheduler's tick (half the shortest
	// interval, at least 10 ms) stops shrinking.
	MinInterval = 20 * time.Millisecond
	// MinTimeout is the shortest timeout: below it every reply is lost.
	MinTimeout = time.Millisecond
	// MaxLabels is how many labels one target may carry.
	MaxLabels = 32
	// MaxLabelValueLen bounds a label value in bytes: every value is written
	// into about 28 series per scrape.
	MaxLabelValueLen = 1024
	// DefaultMaxRate is the default ceiling on the total probe rate (echo
	// requests per second, all targets): 100,000 hosts at one per second.
	DefaultMaxRate = 100000
)

// promLabels are set by Prometheus itself on every scraped series; a target
// label of that name would be renamed exported_<name> (or, with
// honor_labels, override Prometheus' own).
var promLabels = []string{"job", "instance"}

// ErrNoDocument is returned for a file that holds no YAML document.
var ErrNoDocument = errors.New(`the file has no YAML document (it is empty, only comments, "---" or null): ` +
	`list hosts under "targets:", or write "targets: []" and run with --config.allow-empty`)

// checkDocument refuses a file that says nothing: a monitoring system must
// not take an empty or truncated file as "no targets".
func checkDocument(b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return cleanYAMLError(err)
	}
	if len(doc.Content) == 0 {
		return ErrNoDocument
	}
	if n := doc.Content[0]; n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return ErrNoDocument
	}
	return nil
}

// checkDurationFloors refuses an interval or timeout too short to mean
// anything but a flood.
func checkDurationFloors(interval, timeout Duration) (field string, err error) {
	if time.Duration(interval) < MinInterval {
		return "interval", fmt.Errorf("%q (%s) must be at least %s", "interval", interval, MinInterval)
	}
	if time.Duration(timeout) < MinTimeout {
		return "timeout", fmt.Errorf("%q (%s) must be at least %s", "timeout", timeout, MinTimeout)
	}
	return "", nil
}

// checkLabelLimits bounds a target's labels and refuses what would make the
// scrape unparsable (invalid UTF-8) or clash with Prometheus' labels.
func checkLabelLimits(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("%q: %d labels, want at most %d", "labels", len(labels), MaxLabels)
	}
	for name, v := range labels {
		for _, p := range promLabels {
			if name == p {
				return fmt.Errorf("%q: label name %q is reserved (Prometheus sets it on every scraped series)", "labels", name)
			}
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%q: value of %q is not valid UTF-8", "labels", name)
		}
		if len(v) > MaxLabelValueLen {
			return fmt.Errorf("%q: value of %q is %d bytes long, want at most %d", "labels", name, len(v), MaxLabelValueLen)
		}
	}
	return nil
}

// checkNumericHost refuses a host made of digits and dots that is not an
// IPv4 address as netip reads it (127.000.0.1, 127.1): such a string is
// read differently by different tools (octal, short forms) and would be
// looked up as a name.
func checkNumericHost(host string) error {
	if strings.Trim(host, "0123456789.") != "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%q: %q is not an IPv4 address in dotted-decimal form (four numbers 0-255, no leading zeros)", "host", host)
	}
	return nil
}

// addrKey is what makes two targets the same: their address for IP
// literals (after Unmap, so ::ffff:127.0.0.1 is 127.0.0.1 and 0::1 is ::1),
// else the name, case-insensitively and without a final dot.
func (t *Target) addrKey() string {
	if t.Addr.IsValid() {
		return t.Addr.String()
	}
	return strings.TrimSuffix(strings.ToLower(t.Host), ".")
}

// duplicateError describes t as a duplicate of first: the same host
// written the same way or differently (Line 0: a command-line argument).
func duplicateError(t, first Target) error {
	same := t.Host == first.Host
	switch {
	case t.Line != 0 && same:
		return fmt.Errorf("line %d: duplicate target %q (first at line %d)", t.Line, t.Host, first.Line)
	case t.Line != 0:
		return fmt.Errorf("line %d: duplicate target %q: the same host as %q at line %d", t.Line, t.Host, first.Host, first.Line)
	case first.Line == 0 && same:
		return fmt.Errorf("duplicate target %q in arguments", t.Host)
	case first.Line == 0:
		return fmt.Errorf("duplicate target %q in arguments: the same host as %q", t.Host, first.Host)
	case same:
		return fmt.Errorf("duplicate target %q: given as an argument and in the config file at line %d", t.Host, first.Line)
	}
	return fmt.Errorf("duplicate target %q: given as an argument, the same host as %q in the config file at line %d", t.Host, first.Host, first.Line)
}

// Limits are checks on a whole configuration (file and arguments), applied
// at start, on reload and by --config.check.
type Limits struct {
	// AllowEmpty accepts a configuration with no target (--config.allow-empty).
	AllowEmpty bool
	// MaxRate caps the total probe rate in echo requests per second
	// (--ping.max-rate); 0 means DefaultMaxRate.
	MaxRate float64
}

// Check applies l to c; file (may be empty) names where targets come from.
func (c *Config) Check(file string, l Limits) error {
	if len(c.Targets) == 0 && !l.AllowEmpty {
		where := "no targets given as arguments"
		if file != "" {
			where = fmt.Sprintf("config file %q lists none and none are given as arguments", file)
		}
		return fmt.Errorf("no targets: %s (run with --config.allow-empty to start or reload without targets)", where)
	}
	maxRate := l.MaxRate
	if maxRate <= 0 {
		maxRate = DefaultMaxRate
	}
	var rate float64
	for _, t := range c.Targets {
		rate += float64(time.Second) / float64(t.Interval)
	}
	if rate > maxRate*(1+1e-9) {
		return fmt.Errorf("%d targets would send %.0f echo requests per second, more than --ping.max-rate (%.0f): lengthen their intervals or raise the limit",
			len(c.Targets), rate, maxRate)
	}
	return nil
}
