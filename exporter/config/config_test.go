package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"invalid-unknown-field.yml", `line 3: unknown field "intervall"`},
		{"invalid-unknown-top-field.yml", `line 1: unknown field "target"`},
		{"invalid-duplicate-target.yml", `line 4: duplicate target "127.0.0.1" (first at line 2)`},
		{"invalid-duration.yml", `line 3: "interval": invalid duration "1 second" (want a positive duration such as 500ms, 1s, 1m)`},
		{"invalid-negative-duration.yml", `line 3: "timeout": invalid duration "-1s" (want a positive duration such as 500ms, 1s, 1m)`},
		{"invalid-timeout-exceeds-interval.yml", `line 4: "timeout" (2s) must not exceed "interval" (1s)`},
		{"invalid-defaults-timeout.yml", `line 3: "timeout" (3s) must not exceed "interval" (1s)`},
		{"invalid-label-name.yml", `line 3: "labels": invalid label name "data-center" (want [a-zA-Z_][a-zA-Z0-9_]*)`},
		{"invalid-reserved-label.yml", `line 3: "labels": label name "target" is reserved (the exporter sets it)`},
		{"invalid-internal-label.yml", `line 3: "labels": label name "__name__" is reserved (names starting with __ are internal to Prometheus)`},
		{"invalid-ip-family.yml", `line 3: "ip_family": got "ipv4", want one of "ip4", "ip6", "auto"`},
		{"invalid-family-mismatch.yml", `line 3: "ip_family" is ip6 but host 127.0.0.1 is an ip4 address`},
		{"invalid-source.yml", `line 3: "source": invalid IP address "127.0.0.300"`},
		{"invalid-source-family.yml", `line 3: "source" ::1 is an ip6 address but the target is ip4`},
		{"invalid-size.yml", `line 3: "size" (70000) must be between 8 and 65499 bytes`},
		{"invalid-host.yml", `line 2: "host": want a host name or IP address, got ""`},
		{"invalid-type.yml", "line 3: cannot unmarshal !!str `big` into int"},
		{"invalid-targets-not-list.yml", `line 2: "targets" must be a list`},
		{"invalid-empty.yml", ErrNoDocument.Error()},
		{"invalid-comment-only.yml", ErrNoDocument.Error()},
		{"invalid-document-marker-only.yml", ErrNoDocument.Error()},
		{"invalid-null.yml", ErrNoDocument.Error()},
		{"invalid-label-utf8.yml", `line 3: "labels": value of "site" is not valid UTF-8`},
		{"invalid-label-value-length.yml", `line 3: "labels": value of "note" is 1025 bytes long, want at most 1024`},
		{"invalid-label-count.yml", `line 3: "labels": 33 labels, want at most 32`},
		{"invalid-job-label.yml", `line 3: "labels": label name "job" is reserved (Prometheus sets it on every scraped series)`},
		{"invalid-instance-label.yml", `line 3: "labels": label name "instance" is reserved (Prometheus sets it on every scraped series)`},
		{"invalid-interval-floor.yml", `line 3: "interval" (1ns) must be at least 20ms`},
		{"invalid-timeout-floor.yml", `line 3: "timeout" (100µs) must be at least 1ms`},
		{"invalid-defaults-interval-floor.yml", `line 2: "interval" (10ms) must be at least 20ms`},
		{"invalid-duplicate-mapped.yml", `line 4: duplicate target "::ffff:127.0.0.1": the same host as "127.0.0.1" at line 2`},
		{"invalid-duplicate-ipv6-form.yml", `line 3: duplicate target "0::1": the same host as "::1" at line 2`},
		{"invalid-duplicate-name-case.yml", `line 3: duplicate target "LocalHost.": the same host as "localhost" at line 2`},
		{"invalid-numeric-host.yml", `line 2: "host": "127.000.0.1" is not an IPv4 address in dotted-decimal form (four numbers 0-255, no leading zeros)`},
		{"invalid-parent-unknown.yml", `line 4: "parent": "127.0.0.9" of target "127.0.0.2" is not a configured target`},
		{"invalid-parent-defaults.yml", `line 2: "parent": "gateway.example.internal" of target "127.0.0.1" is not a configured target`},
		{"invalid-parent-cycle.yml", `line 3: "parent": cycle 127.0.0.1 -> 127.0.0.3 -> 127.0.0.2 -> 127.0.0.1`},
		{"invalid-parent-depth.yml", `line 11: "parent": chain 127.0.0.5 -> 127.0.0.4 -> 127.0.0.3 -> 127.0.0.2 -> 127.0.0.1 is longer than 3 levels (the alert rules follow at most 3)`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			_, err := Load(path, DefaultDefaults, nil)
			want := `error parsing config file "` + path + `": ` + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("got error %v, want %s", err, want)
			}
		})
	}
}

// TestEveryInvalidFileTested makes sure no testdata/invalid-*.yml is left
// out of TestLoadInvalid.
func TestEveryInvalidFileTested(t *testing.T) {
	src, err := os.ReadFile("config_test.go")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/invalid-*.yml")
	for _, f := range files {
		if !strings.Contains(string(src), `"`+filepath.Base(f)+`"`) {
			t.Errorf("got %s without a test case, want one", f)
		}
	}
}

func TestLoadGood(t *testing.T) {
	cfg, err := Load("testdata/good.yml", DefaultDefaults, []string{"127.0.0.2"})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := []Target{
		{Host: "127.0.0.1", Labels: map[string]string{"site": "lab", "role": "loopback"},
			Interval: Duration(2 * time.Second), Timeout: Duration(time.Second), Size: 56, IPFamily: FamilyAuto,
			Line: 6, Addr: netip.MustParseAddr("127.0.0.1")},
		// An interval below the default timeout shortens the timeout too.
		{Host: "::1", Interval: Duration(500 * time.Millisecond), Timeout: Duration(500 * time.Millisecond),
			Size: 56, IPFamily: FamilyAuto, Line: 10, Addr: netip.MustParseAddr("::1")},
		{Host: "localhost", Interval: Duration(2 * time.Second), Timeout: Duration(time.Second),
			Size: 1400, IPFamily: FamilyIP6, Line: 12},
		// A source address fixes the family of a name.
		{Host: "router.example.internal", Interval: Duration(2 * time.Second), Timeout: Duration(2 * time.Second),
			Size: 56, Source: "127.0.0.1", IPFamily: FamilyIP4, Line: 15, SourceAddr: netip.MustParseAddr("127.0.0.1")},
		// Arguments get the file's defaults too.
		{Host: "127.0.0.2", Interval: Duration(2 * time.Second), Timeout: Duration(time.Second),
			Size: 56, IPFamily: FamilyAuto, Addr: netip.MustParseAddr("127.0.0.2")},
	}
	if len(cfg.Targets) != len(want) {
		t.Fatalf("got %d targets, want %d", len(cfg.Targets), len(want))
	}
	for i := range want {
		got := cfg.Targets[i]
		got.defaultTimeout = 0
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("target %d: got %+v, want %+v", i, got, want[i])
		}
	}
}

func TestArguments(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		args    []string
		d       Defaults
		wantErr string
	}{
		{name: "ok", args: []string{"127.0.0.1", "::1", "localhost"}, d: DefaultDefaults},
		{name: "duplicate argument", args: []string{"127.0.0.1", "127.0.0.1"}, d: DefaultDefaults,
			wantErr: `duplicate target "127.0.0.1" in arguments`},
		{name: "argument duplicates file", file: "testdata/good.yml", args: []string{"::1"}, d: DefaultDefaults,
			wantErr: `duplicate target "::1": given as an argument and in the config file at line 10`},
		{name: "argument written differently", args: []string{"::1", "0:0::1"}, d: DefaultDefaults,
			wantErr: `duplicate target "0:0::1" in arguments: the same host as "::1"`},
		{name: "argument written differently from file", file: "testdata/good.yml", args: []string{"::ffff:127.0.0.1"}, d: DefaultDefaults,
			wantErr: `duplicate target "::ffff:127.0.0.1": given as an argument, the same host as "127.0.0.1" in the config file at line 6`},
		{name: "numeric argument", args: []string{"127.1"}, d: DefaultDefaults,
			wantErr: `argument "127.1": "host": "127.1" is not an IPv4 address in dotted-decimal form (four numbers 0-255, no leading zeros)`},
		{name: "interval flag below floor", args: []string{"127.0.0.1"},
			d:       Defaults{Interval: Duration(time.Millisecond), Timeout: Duration(time.Millisecond), Size: 56, IPFamily: FamilyAuto},
			wantErr: `invalid flags: "interval" (1ms) must be at least 20ms`},
		{name: "bad argument", args: []string{"a b"}, d: DefaultDefaults,
			wantErr: `argument "a b": "host": want a host name or IP address, got "a b"`},
		{name: "bad flags", args: []string{"127.0.0.1"},
			d:       Defaults{Interval: Duration(time.Second), Timeout: Duration(2 * time.Second), Size: 56, IPFamily: FamilyAuto},
			wantErr: `invalid flags: "timeout" (2s) must not exceed "interval" (1s)`},
		{name: "missing file", file: "testdata/nonexistent.yml", d: DefaultDefaults,
			wantErr: `error reading config file: open testdata/nonexistent.yml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.file, tt.d, tt.args)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("got error %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestEmpty: a file with a document but no target parses; whether that
// may run is Check's decision.
func TestEmpty(t *testing.T) {
	for _, text := range []string{"targets:\n", "targets: []\n", "defaults:\n  interval: 2s\n", "defaults:\n", "{}\n"} {
		cfg, err := Parse([]byte(text), DefaultDefaults)
		if err != nil {
			t.Errorf("%q: got error %v, want none", text, err)
			continue
		}
		if len(cfg.Targets) != 0 {
			t.Errorf("%q: got %d targets, want 0", text, len(cfg.Targets))
		}
	}
}

func TestCheck(t *testing.T) {
	many := func(n int, interval time.Duration) *Config {
		c := &Config{}
		for range n {
			c.Targets = append(c.Targets, Target{Interval: Duration(interval)})
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     *Config
		file    string
		l       Limits
		wantErr string
	}{
		{name: "no targets, file", cfg: many(0, 0), file: "testdata/empty-targets.yml",
			wantErr: `no targets: config file "testdata/empty-targets.yml" lists none and none are given as arguments (run with --config.allow-empty to start or reload without targets)`},
		{name: "no targets, no file", cfg: many(0, 0),
			wantErr: `no targets: no targets given as arguments (run with --config.allow-empty to start or reload without targets)`},
		{name: "no targets allowed", cfg: many(0, 0), l: Limits{AllowEmpty: true}},
		{name: "100k hosts at 1/s by default", cfg: many(100000, time.Second)},
		{name: "over the default rate", cfg: many(2001, 20*time.Millisecond),
			wantErr: `2001 targets would send 100050 echo requests per second, more than --ping.max-rate (100000): lengthen their intervals or raise the limit`},
		{name: "over a lower rate", cfg: many(11, 100*time.Millisecond), l: Limits{MaxRate: 100},
			wantErr: `11 targets would send 110 echo requests per second, more than --ping.max-rate (100): lengthen their intervals or raise the limit`},
		{name: "at a lower rate", cfg: many(10, 100*time.Millisecond), l: Limits{MaxRate: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check(tt.file, tt.l)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("got error %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestParents(t *testing.T) {
	tests := []struct {
		name          string
		file          string
		args          []string
		defaultParent string
		want          map[string]string // host -> parent
		wantErr       string
	}{
		{name: "file", file: "testdata/parents.yml", want: map[string]string{
			"router.example.internal": "", "switch.example.internal": "router.example.internal",
			"127.0.0.1": "switch.example.internal", "127.0.0.2": "switch.example.internal", "127.0.0.3": ""}},
		// Arguments inherit the defaults' parent too.
		{name: "argument", file: "testdata/parents.yml", args: []string{"127.0.0.4"}, want: map[string]string{
			"router.example.internal": "", "switch.example.internal": "router.example.internal",
			"127.0.0.1": "switch.example.internal", "127.0.0.2": "switch.example.internal", "127.0.0.3": "",
			"127.0.0.4": "switch.example.internal"}},
		// The defaults' parent given as an argument does not become its own parent.
		{name: "parent as argument", args: []string{"127.0.0.1", "127.0.0.2"}, defaultParent: "127.0.0.1",
			want: map[string]string{"127.0.0.1": "", "127.0.0.2": "127.0.0.1"}},
		{name: "no parents", args: []string{"127.0.0.1"}, want: map[string]string{"127.0.0.1": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DefaultDefaults
			d.Parent = tt.defaultParent
			cfg, err := Load(tt.file, d, tt.args)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			got := map[string]string{}
			for _, tg := range cfg.Targets {
				got[tg.Host] = tg.Parent
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got parents %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEmptyTargetsFile: "targets: []" loads (and Check decides).
func TestEmptyTargetsFile(t *testing.T) {
	cfg, err := Load("testdata/empty-targets.yml", DefaultDefaults, nil)
	if err != nil || len(cfg.Targets) != 0 {
		t.Fatalf("got %v, %v, want no targets and no error", cfg, err)
	}
	if err := cfg.Check("testdata/empty-targets.yml", Limits{AllowEmpty: true}); err != nil {
		t.Errorf("got error %v with AllowEmpty, want none", err)
	}
}

func TestParentErrorsInArguments(t *testing.T) {
	d := DefaultDefaults
	d.Parent = "127.0.0.9"
	_, err := Load("", d, []string{"127.0.0.1"})
	want := `invalid parent: "parent": "127.0.0.9" of target "127.0.0.1" is not a configured target`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %s", err, want)
	}
}
