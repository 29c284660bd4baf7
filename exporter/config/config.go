// Package config loads and validates the exporter's targets: a YAML file
// (--config.file) and targets given as command-line arguments.
//
// Settings come in three layers, the most specific winning: the --ping.*
// flags, the file's "defaults" section, and each target's own fields.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// IP families of a target.
const (
	FamilyAuto = "auto" // names: IPv4 if the name has an IPv4 address, else IPv6
	FamilyIP4  = "ip4"
	FamilyIP6  = "ip6"
)

// MinSize is the smallest payload: the prober carries its probe id there.
const MinSize = 8

// MaxSize keeps an echo request within one IPv4 datagram (65535 - 20 - 8).
const MaxSize = 65507 - 8

// reservedLabels are label names the exporter sets itself ("target" on every
// series, "ip", "family" and "parent" on ping_target_info, "le" on histogram
// buckets).
var reservedLabels = []string{"target", "ip", "family", "parent", "le"}

// Defaults are the settings a target gets when it does not set them.
type Defaults struct {
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
	Size     int      `yaml:"size"`
	Source   string   `yaml:"source"`
	IPFamily string   `yaml:"ip_family"`
	// Parent is the host of the target every target sits behind unless it
	// names its own (parent.go).
	Parent string `yaml:"parent"`

	// parentLine is the line of "parent" in the defaults section, for errors.
	parentLine int
}

// DefaultDefaults are the built-in defaults, the same as the flags' defaults.
var DefaultDefaults = Defaults{
	Interval: Duration(time.Second),
	Timeout:  Duration(time.Second),
	Size:     56,
	IPFamily: FamilyAuto,
}

// Config is a loaded, validated configuration.
type Config struct {
	Defaults Defaults `yaml:"defaults"`
	Targets  []Target `yaml:"targets"`
}

// Target is one host to ping, with every setting filled in.
type Target struct {
	Host     string            `yaml:"host"`
	Labels   map[string]string `yaml:"labels"`
	Interval Duration          `yaml:"interval"`
	Timeout  Duration          `yaml:"timeout"`
	Size     int               `yaml:"size"`
	Source   string            `yaml:"source"`
	IPFamily string            `yaml:"ip_family"`
	// Parent is the host of another target this one sits behind (a router,
	// a switch); empty for none. See parent.go.
	Parent string `yaml:"parent"`

	// ParentLine is the line of the parent setting (the target's own or the
	// defaults'), for errors; 0 when none or from the flags.
	ParentLine int `yaml:"-"`
	// Line is the line of the target in the file; 0 for a command-line argument.
	Line int `yaml:"-"`
	// Addr is Host parsed as an IP address; zero when Host is a name.
	Addr netip.Addr `yaml:"-"`
	// SourceAddr is Source parsed; zero when unset.
	SourceAddr netip.Addr `yaml:"-"`
	// defaultTimeout is the timeout a target gets when it sets none.
	defaultTimeout time.Duration
}

// Duration is a time.Duration written as "500ms", "1s", "1m".
type Duration time.Duration

// UnmarshalYAML parses a duration; it must be positive.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(n *yaml.Node) (time.Duration, error) {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid duration %q (want a positive duration such as 500ms, 1s, 1m)", n.Value)
	}
	return v, nil
}

// Load reads file (none if empty), adds the targets given as arguments with
// the defaults d, and validates it all. Errors name the file, the line and
// the field.
func Load(file string, d Defaults, args []string) (*Config, error) {
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("invalid flags: %w", err)
	}
	cfg := &Config{Defaults: d}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("error reading config file: %w", err)
		}
		if cfg, err = Parse(b, d); err != nil {
			return nil, fmt.Errorf("error parsing config file %q: %w", file, err)
		}
	}
	if err := cfg.addArgs(args); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes a configuration from YAML over the defaults d.
func Parse(b []byte, d Defaults) (*Config, error) {
	if err := checkDocument(b); err != nil {
		return nil, err
	}
	cfg := &Config{Defaults: d}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err)
	}
	return cfg, nil
}

// cleanYAMLError drops yaml.v3's "yaml: unmarshal errors:\n  " prefix so
// that errors read as one line.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// addArgs adds command-line targets, refusing duplicates.
func (c *Config) addArgs(args []string) error {
	seen := map[string]Target{}
	for _, t := range c.Targets {
		seen[t.addrKey()] = t
	}
	for _, a := range args {
		t := c.Defaults.target()
		t.Host = a
		if err := t.finish(nil); err != nil {
			return fmt.Errorf("argument %q: %w", a, err)
		}
		if first, ok := seen[t.addrKey()]; ok {
			return duplicateError(t, first)
		}
		seen[t.addrKey()] = t
		c.Targets = append(c.Targets, t)
	}
	if len(args) > 0 {
		if err := c.checkParents(); err != nil {
			return fmt.Errorf("invalid parent: %w", err)
		}
	}
	return nil
}

// UnmarshalYAML decodes the defaults first (targets inherit them wherever
// they are in the file), then each target.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if err := checkFields(n, Config{}); err != nil {
		return err
	}
	if v := valueOf(n, "defaults"); v != nil {
		if err := v.Decode(&c.Defaults); err != nil {
			return err
		}
	}
	v := valueOf(n, "targets")
	if v == nil || v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: %q must be a list", v.Line, "targets")
	}
	seen := map[string]Target{}
	for _, tn := range v.Content {
		t := c.Defaults.target()
		if err := tn.Decode(&t); err != nil {
			return err
		}
		if first, ok := seen[t.addrKey()]; ok {
			return duplicateError(t, first)
		}
		seen[t.addrKey()] = t
		c.Targets = append(c.Targets, t)
	}
	return c.checkParents()
}

// UnmarshalYAML decodes the defaults section over the flags' values.
func (d *Defaults) UnmarshalYAML(n *yaml.Node) error {
	if err := checkFields(n, Defaults{}); err != nil {
		return err
	}
	if err := checkDurations(n); err != nil {
		return err
	}
	type plain Defaults
	if err := n.Decode((*plain)(d)); err != nil {
		return cleanYAMLError(err)
	}
	d.setParentLine(n)
	if field, err := d.check(); err != nil {
		line := n.Line
		if k := keyOf(n, field); k != nil {
			line = k.Line
		}
		return fmt.Errorf("line %d: %w", line, err)
	}
	return nil
}

func (d Defaults) validate() error {
	_, err := d.check()
	return err
}

// check validates d and returns the field at fault.
func (d Defaults) check() (field string, err error) {
	if field, err := checkDurationFloors(d.Interval, d.Timeout); err != nil {
		return field, err
	}
	if d.Timeout > d.Interval {
		return "timeout", fmt.Errorf("%q (%s) must not exceed %q (%s)", "timeout", d.Timeout, "interval", d.Interval)
	}
	if err := checkSize(d.Size); err != nil {
		return "size", err
	}
	if err := checkFamily(d.IPFamily); err != nil {
		return "ip_family", err
	}
	if d.Source != "" {
		if _, err := netip.ParseAddr(d.Source); err != nil {
			return "source", fmt.Errorf("%q: invalid IP address %q", "source", d.Source)
		}
	}
	return "", nil
}

// target returns a target with the defaults filled in. Its timeout is
// decided in finish: a target that shortens its interval below the default
// timeout gets a timeout equal to its interval.
func (d Defaults) target() Target {
	return Target{
		Interval: d.Interval, Size: d.Size, Source: d.Source, IPFamily: d.IPFamily,
		defaultTimeout: time.Duration(d.Timeout),
		Parent:         d.Parent, ParentLine: d.parentLine,
	}
}

// UnmarshalYAML decodes one target over the defaults and validates it.
func (t *Target) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a target must be a mapping with at least %q", n.Line, "host")
	}
	if err := checkFields(n, Target{}); err != nil {
		return err
	}
	if err := checkDurations(n); err != nil {
		return err
	}
	type plain Target
	if err := n.Decode((*plain)(t)); err != nil {
		return cleanYAMLError(err)
	}
	t.Line = n.Line
	t.setParentLine(n)
	return t.finish(n)
}

// finish fills in derived fields and validates t. n (nil for arguments)
// gives the line of each field for errors.
func (t *Target) finish(n *yaml.Node) error {
	line := func(field string) string {
		if n == nil {
			return ""
		}
		l := n.Line
		if k := keyOf(n, field); k != nil {
			l = k.Line
		}
		return fmt.Sprintf("line %d: ", l)
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(min(t.defaultTimeout, time.Duration(t.Interval)))
	}
	if strings.TrimSpace(t.Host) == "" || strings.ContainsAny(t.Host, " \t/") {
		return fmt.Errorf("%s%q: want a host name or IP address, got %q", line("host"), "host", t.Host)
	}
	if err := checkNumericHost(t.Host); err != nil {
		return fmt.Errorf("%s%w", line("host"), err)
	}
	if field, err := checkDurationFloors(t.Interval, t.Timeout); err != nil {
		return fmt.Errorf("%s%w", line(field), err)
	}
	if t.Timeout > t.Interval {
		return fmt.Errorf("%s%q (%s) must not exceed %q (%s)", line("timeout"), "timeout", t.Timeout, "interval", t.Interval)
	}
	if err := checkSize(t.Size); err != nil {
		return fmt.Errorf("%s%w", line("size"), err)
	}
	if err := checkFamily(t.IPFamily); err != nil {
		return fmt.Errorf("%s%w", line("ip_family"), err)
	}
	if err := checkLabels(t.Labels); err != nil {
		return fmt.Errorf("%s%w", line("labels"), err)
	}
	if err := checkLabelLimits(t.Labels); err != nil {
		return fmt.Errorf("%s%w", line("labels"), err)
	}
	return t.finishAddrs(line)
}

// finishAddrs parses host and source and checks their IP families agree.
func (t *Target) finishAddrs(line func(string) string) error {
	t.Addr = netip.Addr{}
	if a, err := netip.ParseAddr(t.Host); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("%s%q: IPv6 zones are not supported: %q", line("host"), "host", t.Host)
		}
		t.Addr = a.Unmap()
		if f := familyOf(t.Addr); t.IPFamily != FamilyAuto && t.IPFamily != f {
			return fmt.Errorf("%s%q is %s but host %s is an %s address", line("ip_family"), "ip_family", t.IPFamily, t.Host, f)
		}
	}
	t.SourceAddr = netip.Addr{}
	if t.Source == "" {
		return nil
	}
	s, err := netip.ParseAddr(t.Source)
	if err != nil || s.Zone() != "" {
		return fmt.Errorf("%s%q: invalid IP address %q", line("source"), "source", t.Source)
	}
	t.SourceAddr = s.Unmap()
	want := t.IPFamily
	if t.Addr.IsValid() {
		want = familyOf(t.Addr)
	}
	if f := familyOf(t.SourceAddr); want != FamilyAuto && f != want {
		return fmt.Errorf("%s%q %s is an %s address but the target is %s", line("source"), "source", t.Source, f, want)
	}
	if want == FamilyAuto {
		// A source address fixes the family of a name's address.
		t.IPFamily = familyOf(t.SourceAddr)
	}
	return nil
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return FamilyIP4
	}
	return FamilyIP6
}

func checkSize(size int) error {
	if size < MinSize || size > MaxSize {
		return fmt.Errorf("%q (%d) must be between %d and %d bytes", "size", size, MinSize, MaxSize)
	}
	return nil
}

func checkFamily(f string) error {
	switch f {
	case FamilyAuto, FamilyIP4, FamilyIP6:
		return nil
	}
	return fmt.Errorf("%q: got %q, want one of %q, %q, %q", "ip_family", f, FamilyIP4, FamilyIP6, FamilyAuto)
}

// checkLabels rejects names Prometheus would reject (the classic charset, so
// that any Prometheus version accepts them) and names the exporter sets.
func checkLabels(labels map[string]string) error {
	for name := range labels {
		if !model.LegacyValidation.IsValidLabelName(name) {
			return fmt.Errorf("%q: invalid label name %q (want [a-zA-Z_][a-zA-Z0-9_]*)", "labels", name)
		}
		if strings.HasPrefix(name, "__") {
			return fmt.Errorf("%q: label name %q is reserved (names starting with __ are internal to Prometheus)", "labels", name)
		}
		for _, r := range reservedLabels {
			if name == r {
				return fmt.Errorf("%q: label name %q is reserved (the exporter sets it)", "labels", name)
			}
		}
	}
	return nil
}

// checkFields rejects mapping keys that are not yaml fields of v's struct
// type. yaml.v3's Node.Decode does not inherit KnownFields, so nested
// mappings are checked here, with the line of the offending key.
func checkFields(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	known := map[string]bool{}
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return fmt.Errorf("line %d: unknown field %q", k.Line, k.Value)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: field %q set twice", k.Line, k.Value)
		}
		seen[k.Value] = true
	}
	return nil
}

// checkDurations parses interval and timeout first so that a bad value is
// reported with the name of its field.
func checkDurations(n *yaml.Node) error {
	for _, f := range []string{"interval", "timeout"} {
		if v := valueOf(n, f); v != nil {
			if _, err := parseDuration(v); err != nil {
				return fmt.Errorf("line %d: %q: %w", v.Line, f, err)
			}
		}
	}
	return nil
}

// keyOf returns the key node of field in mapping n, or nil.
func keyOf(n *yaml.Node, field string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == field {
			return n.Content[i]
		}
	}
	return nil
}

// valueOf returns the value node of field in mapping n, or nil.
func valueOf(n *yaml.Node, field string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == field {
			return n.Content[i+1]
		}
	}
	return nil
}
