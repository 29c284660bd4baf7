// Command downtime_exporter pings hosts continuously and exposes, per host,
// whether it answers, how fast, and how much is lost, for Prometheus.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/downtime-detector/downtime/exporter/collector"
	"github.com/downtime-detector/downtime/exporter/config"
	"github.com/downtime-detector/downtime/exporter/prober"
	"github.com/downtime-detector/downtime/exporter/shard"
	"github.com/downtime-detector/downtime/internal/reload"
)

const program = "downtime_exporter"

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	o.reload = reload.Notify(ctx)
	if err := run(ctx, o); err != nil {
		o.logger.Error("exiting", "err", err)
		os.Exit(1)
	}
}

// parseFlags turns the command line into options (README.md lists the
// flags; deploy/ and the end-to-end test rely on them).
func parseFlags(args []string) (options, error) {
	app := kingpin.New(program, "Pings hosts continuously and exposes reachability, round-trip time and loss as Prometheus metrics.")
	var o options
	var privileged bool
	app.Flag("config.file", "YAML file with targets (see README). Reloaded on SIGHUP and POST /-/reload.").StringVar(&o.configFile)
	app.Flag("config.allow-empty", "Start and reload with no targets; without it a configuration with no target is refused.").BoolVar(&o.limits.AllowEmpty)
	app.Flag("config.check", "Validate the configuration and the targets given as arguments, then exit.").BoolVar(&o.configCheck)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&o.telemetryPath)
	o.web = kingpinflag.AddFlags(app, ":9426")
	app.Flag("web.max-requests", "Maximum number of concurrent scrapes; more are answered 503.").Default(strconv.Itoa(defaultWebLimits.maxInFlight)).IntVar(&o.webLimits.maxInFlight)
	app.Flag("web.scrape-timeout", "Longest time a scrape may take to be written (or the scraper's own timeout, if shorter).").Default(defaultWebLimits.scrapeTimeout.String()).DurationVar(&o.webLimits.scrapeTimeout)
	interval := app.Flag("ping.interval", "Default interval between echo requests to a target.").Default("1s").Duration()
	timeout := app.Flag("ping.timeout", "Default time to wait for a reply; a later reply counts as lost (and late).").Default("1s").Duration()
	size := app.Flag("ping.size", "Default ICMP payload size in bytes.").Default("56").Int()
	app.Flag("ping.privileged", "Use raw ICMP sockets (root or CAP_NET_RAW); --no-ping.privileged uses ICMP datagram sockets (net.ipv4.ping_group_range).").Default("true").BoolVar(&privileged)
	app.Flag("ping.resolve-interval", "How often to re-resolve host names (also sooner when a target stops answering).").Default("5m").DurationVar(&o.resolveInterval)
	app.Flag("ping.max-rate", "Ceiling on the total probe rate, echo requests per second over all targets; a configuration above it is refused.").Default("100000").Float64Var(&o.limits.MaxRate)
	rcvbuf := app.Flag("ping.receive-buffer", "Receive buffer of the shared engine's ICMP sockets, e.g. 64MiB (the kernel doubles it for its bookkeeping); 0 sizes it from the probe rate (half a second of replies, at least 4MiB). Above net.core.rmem_max it needs CAP_NET_ADMIN.").Default("0").Bytes()
	app.Flag("ping.engine", "Probing engine: shared (one socket per IP family for all targets) or pro-bing (one pinger per target).").Default(prober.EngineShared).EnumVar(&o.engine, prober.EngineShared, prober.EngineProBing)
	rttMode := app.Flag("metrics.rtt-histogram", "How ping_rtt_seconds is exposed: classic+native (classic buckets, plus native buckets in protobuf), classic (cheapest per probe), native (native buckets only, for a Prometheus that ingests native histograms; the text format then has _sum and _count only).").Default("classic+native").Enum("classic+native", "classic", "native")
	app.Flag("metrics.omit-zero-errors", "Leave out ping_late_responses_total, ping_send_errors_total and ping_resolve_errors_total of a target while they are 0.").BoolVar(&o.series.OmitZeroErrors)
	shardFlag := app.Flag("targets.shard", "Probe only this exporter's share i/N of the targets (0 <= i < N): N exporters with the same configuration each take one share, by consistent hashing on the target (a host and those behind it stay together).").Default("0/1").String()
	app.Arg("target", "Hosts (names or IP addresses) to ping, in addition to those in --config.file.").StringsVar(&o.args)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	app.Version(version.Print(program))
	app.HelpFlag.Short('h')
	var err error
	if _, err = app.Parse(args); err != nil {
		return o, err
	}
	if o.shard, err = shard.Parse(*shardFlag); err != nil {
		return o, fmt.Errorf("--targets.shard: %w", err)
	}
	if *rcvbuf < 0 || *rcvbuf > 1<<30 {
		return o, fmt.Errorf("--ping.receive-buffer: %s is not between 0 and 1GiB", *rcvbuf)
	}
	o.receiveBuffer = int(*rcvbuf)
	o.series.RTT = collector.RTTModes[*rttMode]
	o.logger = promslog.New(logCfg)
	o.mode = prober.Privileged
	if !privileged {
		o.mode = prober.Unprivileged
	}
	o.defaults = config.DefaultDefaults
	o.defaults.Interval = config.Duration(*interval)
	o.defaults.Timeout = config.Duration(*timeout)
	o.defaults.Size = *size
	return o, nil
}
