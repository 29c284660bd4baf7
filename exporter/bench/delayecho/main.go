// Command delayecho answers IPv4 pings after a fixed delay: a slow host for
// exporter/bench/pipeline.sh, which has no netem on its machine. It runs in
// the network namespace it is started in (`ip netns exec NS delayecho ...`)
// until SIGINT or SIGTERM, and needs root and net.ipv4.icmp_echo_ignore_all=1
// in that namespace (it refuses to start otherwise).
//
//	delayecho --delay=20ms --address=198.18.0.11
//
// One process per address gives several addresses of one namespace their own
// delays. The responder is netns.StartEcho, the one tests use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/downtime-detector/downtime/exporter/netns"
)

// options are the command line flags.
type options struct {
	delay   time.Duration
	address netip.Addr
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Fatalf("delayecho: %v", err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o, log.New(os.Stderr, "delayecho: ", 0)); err != nil {
		log.Fatalf("delayecho: %v", err)
	}
}

// parseFlags reads the flags; --delay is required: there is no sensible
// default for a benchmark's RTT.
func parseFlags(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("delayecho", flag.ContinueOnError)
	fs.SetOutput(out)
	delay := fs.Duration("delay", -1, "Delay of every echo reply after its request arrived, e.g. 20ms (required).")
	address := fs.String("address", "0.0.0.0", "Local IPv4 address to answer for; 0.0.0.0 answers for every address.")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *delay < 0 {
		return options{}, errors.New(`"--delay" is required and must not be negative`)
	}
	addr, err := netip.ParseAddr(*address)
	if err != nil || !addr.Is4() {
		return options{}, fmt.Errorf(`"--address" %q: want an IPv4 address`, *address)
	}
	return options{delay: *delay, address: addr}, nil
}

// run answers pings until ctx is done.
func run(ctx context.Context, o options, logger *log.Logger) error {
	stop, err := netns.StartEcho(o.address, o.delay)
	if err != nil {
		return err
	}
	logger.Printf("answering echo requests to %s after %v", o.address, o.delay)
	<-ctx.Done()
	stop()
	return nil
}
