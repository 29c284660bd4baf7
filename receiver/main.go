// Command downtime_receiver turns Alertmanager webhook notifications into
// Telegram messages: firing, reminders while the alert lasts, and a resolved
// reply with the downtime, with a durable queue so no message is lost.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/downtime-detector/downtime/internal/clock"
	"github.com/downtime-detector/downtime/internal/reload"
	"github.com/downtime-detector/downtime/receiver/alertmanager/reconcile"
	"github.com/downtime-detector/downtime/receiver/behind"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/telegram"
)

const program = "downtime_receiver"

// options are the parsed flags plus what tests inject.
type options struct {
	command     string // serve, test-message, chats
	configFile  string
	configCheck bool // --config.check: validate and exit
	storagePath string
	storage     storageFlags // --storage.url, lease timing
	apiURL      string
	dryRun      bool
	route       string   // test-message: route name ("" = default chat)
	webURL      string   // dead-letters: a running receiver's URL ("" = the store)
	all         bool     // dead-letters retry|purge --all
	ids         []uint64 // dead-letters retry|purge IDs
	incidents   incidentsOptions
	web         *web.FlagConfig
	webLimits   webLimits // --web.read-timeout, --web.idle-timeout, --web.max-requests
	// alertmanagerURLs are --alertmanager.url, added to alertmanager.urls.
	alertmanagerURLs []string
	logger           *slog.Logger
	stdout           io.Writer

	reload <-chan struct{} // one value per SIGHUP: reload the config

	heartbeatTimeout *time.Duration // --heartbeat.timeout; nil: the configuration's heartbeat.timeout

	// Test hooks.
	listener net.Listener     // serve on it instead of --web.listen-address
	now      func() time.Time // clock for planning reminders (default clock.Now)
	clock    clock.Clock      // delivery, pruning (default clock.Real())
	limits   *delivery.Limits // flood limits (default delivery.DefaultLimits)
	ready    func(addr string)
	// alerts is the Alertmanager API that lists the hosts behind a down
	// parent (receiver/behind); nil: a parent's message shows their count
	// alone. Tests inject it; the Alertmanager client configured for the
	// receiver goes here (never a nil *alertmanager.Client).
	alerts behind.Lister
	// reconcile replaces the reconciler's options (tests: no restart grace
	// for a freshly started Alertmanager).
	reconcile *reconcile.Options
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if opts.command == "serve" && !opts.configCheck {
		opts.reload = reload.Notify(ctx)
	}
	err = run(ctx, opts)
	if err != nil && opts.configCheck {
		fmt.Fprintf(os.Stderr, "%s: config check failed: %v\n", program, err)
		os.Exit(1)
	}
	if err != nil {
		opts.logger.Error("exiting", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stdout, stderr io.Writer) (*options, error) {
	app := kingpin.New(program, "Alertmanager webhook receiver that sends downtime messages to Telegram.")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	opts := &options{stdout: stdout}
	app.Flag("config.file", "YAML configuration file, reloaded on SIGHUP and POST /-/reload. Without it TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are enough.").
		StringVar(&opts.configFile)
	app.Flag("config.check", "Validate the configuration and its templates, print \"config OK\" and exit (opens no store, contacts nobody).").
		BoolVar(&opts.configCheck)
	addStorageFlags(app, opts)
	app.Flag("telegram.api-url", "Base URL of the Telegram Bot API (a self-hosted Bot API server, or a fake in tests).").
		Default(telegram.DefaultAPIURL).StringVar(&opts.apiURL)
	app.Flag("alertmanager.url", "Alertmanager URL for the chat's silence buttons and for reporting recoveries Alertmanager never sends (repeat for each HA peer; added to alertmanager.urls in the config).").
		StringsVar(&opts.alertmanagerURLs)
	app.Flag("dry-run", "Print messages to stdout instead of sending them to Telegram.").BoolVar(&opts.dryRun)
	addHeartbeatFlags(app, opts)
	opts.web = kingpinflag.AddFlags(app, "127.0.0.1:9427")
	app.Flag("web.read-timeout", "Longest time to read a whole request, body included; slower clients are cut off.").
		Default(defaultWebLimits.read.String()).DurationVar(&opts.webLimits.read)
	app.Flag("web.idle-timeout", "Keep-alive connections idle this long are closed.").
		Default(defaultWebLimits.idle.String()).DurationVar(&opts.webLimits.idle)
	app.Flag("web.max-requests", "Maximum number of requests served at once (health checks and /metrics excepted); more are answered 503.").
		Default(strconv.Itoa(defaultWebLimits.maxInFlight)).IntVar(&opts.webLimits.maxInFlight)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	app.Version(version.Print(program))
	app.HelpFlag.Short('h')
	app.Command("serve", "Receive webhooks and send messages (default).").Default()
	tm := app.Command("test-message", "Send a test message to the default chat (or --route) and exit.")
	tm.Flag("route", "Route whose chat gets the test message.").StringVar(&opts.route)
	app.Command("chats", "List the chats and forum topics the bot has seen (getUpdates), to find chat ids.")
	addDeadLetterCommands(app, opts)
	addIncidentsCommand(app, opts)
	cmd, err := app.Parse(args)
	if err != nil {
		return nil, err
	}
	opts.command = cmd
	if err := opts.storage.check(); err != nil {
		return nil, err
	}
	opts.logger = promslog.New(logCfg)
	return opts, nil
}

func run(ctx context.Context, opts *options) error {
	if opts.logger == nil {
		opts.logger = promslog.NewNopLogger()
	}
	if opts.stdout == nil {
		opts.stdout = io.Discard
	}
	if opts.clock == nil {
		opts.clock = clock.Real()
	}
	if opts.now == nil {
		opts.now = opts.clock.Now
	}
	if opts.configCheck {
		return checkConfig(opts)
	}
	switch opts.command {
	case "test-message":
		return testMessage(ctx, opts)
	case "chats":
		return listChats(ctx, opts)
	case "dead-letters list", "dead-letters retry", "dead-letters purge":
		return deadLetters(ctx, opts)
	case "incidents":
		return listIncidents(ctx, opts)
	default:
		return serve(ctx, opts)
	}
}
