package main

import (
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/prober"
	"github.com/downtime-detector/downtime/exporter/shard"
)

func TestParseFlags(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		o, err := parseFlags([]string{"127.0.0.1", "::1"})
		if err != nil {
			t.Fatal(err)
		}
		if o.defaults != config.DefaultDefaults {
			t.Errorf("defaults: got %+v, want %+v", o.defaults, config.DefaultDefaults)
		}
		if o.mode != prober.Privileged || o.engine != prober.EngineShared {
			t.Errorf("mode, engine: got %v %q, want privileged shared", o.mode, o.engine)
		}
		if got := strings.Join(o.args, " "); got != "127.0.0.1 ::1" {
			t.Errorf("targets: got %q, want %q", got, "127.0.0.1 ::1")
		}
		if got := *o.web.WebListenAddresses; len(got) != 1 || got[0] != ":9426" {
			t.Errorf("listen address: got %v, want [:9426]", got)
		}
		if o.telemetryPath != "/metrics" || o.resolveInterval != 5*time.Minute {
			t.Errorf("telemetry path, resolve interval: got %q %s, want /metrics 5m", o.telemetryPath, o.resolveInterval)
		}
		if want := (config.Limits{MaxRate: config.DefaultMaxRate}); o.limits != want {
			t.Errorf("limits: got %+v, want %+v", o.limits, want)
		}
		if o.webLimits.withDefaults() != defaultWebLimits || o.webLimits.maxInFlight != 10 || o.webLimits.scrapeTimeout != 30*time.Second {
			t.Errorf("web limits: got %+v, want the defaults", o.webLimits)
		}
	})
	t.Run("set", func(t *testing.T) {
		o, err := parseFlags([]string{"--ping.interval=2s", "--ping.timeout=500ms", "--ping.size=100",
			"--no-ping.privileged", "--ping.engine=pro-bing", "--config.file=x.yml", "--config.check",
			"--web.listen-address=127.0.0.1:1", "--web.listen-address=[::1]:1", "--ping.resolve-interval=1m",
			"--config.allow-empty", "--ping.max-rate=500", "--web.max-requests=3", "--web.scrape-timeout=5s",
			"--ping.receive-buffer=64MiB"})
		if err != nil {
			t.Fatal(err)
		}
		want := config.Defaults{Interval: config.Duration(2 * time.Second), Timeout: config.Duration(500 * time.Millisecond),
			Size: 100, IPFamily: config.FamilyAuto}
		if o.defaults != want {
			t.Errorf("defaults: got %+v, want %+v", o.defaults, want)
		}
		if o.mode != prober.Unprivileged || o.engine != prober.EngineProBing || o.configFile != "x.yml" || !o.configCheck ||
			len(*o.web.WebListenAddresses) != 2 || o.resolveInterval != time.Minute || o.receiveBuffer != 64<<20 {
			t.Errorf("got %+v, want every flag applied", o)
		}
		if o.limits != (config.Limits{AllowEmpty: true, MaxRate: 500}) || o.webLimits.maxInFlight != 3 || o.webLimits.scrapeTimeout != 5*time.Second {
			t.Errorf("limits: got %+v %+v, want allow-empty, max rate 500, 3 scrapes, 5s", o.limits, o.webLimits)
		}
	})
	t.Run("shard", func(t *testing.T) {
		o, err := parseFlags([]string{"--targets.shard=2/3", "127.0.0.1"})
		if err != nil || o.shard != (shard.Shard{Index: 2, Count: 3}) {
			t.Errorf("got %+v, %v; want shard 2/3", o.shard, err)
		}
		if o, _ := parseFlags([]string{"127.0.0.1"}); o.shard != shard.All {
			t.Errorf("default: got %+v, want %+v", o.shard, shard.All)
		}
		_, err = parseFlags([]string{"--targets.shard=3/3"})
		if want := `--targets.shard: shard "3/3": index 3 must be between 0 and 2`; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got error %v, want one starting %q", err, want)
		}
	})
	t.Run("series", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want collector.Options
		}{
			{nil, collector.Options{}},
			{[]string{"--metrics.rtt-histogram=native", "--metrics.omit-zero-errors"}, collector.Options{RTT: collector.RTTNative, OmitZeroErrors: true}},
			{[]string{"--metrics.rtt-histogram=classic"}, collector.Options{RTT: collector.RTTClassic}},
			{[]string{"--metrics.rtt-histogram=classic+native"}, collector.Options{}},
		} {
			o, err := parseFlags(append(tc.args, "127.0.0.1"))
			if err != nil || o.series != tc.want {
				t.Errorf("%v: got %+v, %v; want %+v", tc.args, o.series, err, tc.want)
			}
		}
		if _, err := parseFlags([]string{"--metrics.rtt-histogram=sparse"}); err == nil {
			t.Errorf("--metrics.rtt-histogram=sparse: got no error, want one")
		}
	})
	t.Run("receive buffer", func(t *testing.T) {
		if o, err := parseFlags([]string{"127.0.0.1"}); err != nil || o.receiveBuffer != 0 {
			t.Errorf("default: got %d, %v; want 0 (from the probe rate)", o.receiveBuffer, err)
		}
		_, err := parseFlags([]string{"--ping.receive-buffer=2GiB"})
		if want := "--ping.receive-buffer: 2GiB is not between 0 and 1GiB"; err == nil || err.Error() != want {
			t.Errorf("2GiB: got error %v, want %q", err, want)
		}
		if _, err := parseFlags([]string{"--ping.receive-buffer=lots"}); err == nil {
			t.Errorf("lots: got no error, want one")
		}
	})
	t.Run("bad engine", func(t *testing.T) {
		if _, err := parseFlags([]string{"--ping.engine=fast"}); err == nil {
			t.Errorf("got no error, want one")
		}
	})
}
