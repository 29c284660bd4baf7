package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/deadletter"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// lockTimeout is how long the dead-letters command waits for the store:
// a running receiver holds it for as long as it runs.
const lockTimeout = 200 * time.Millisecond

func addDeadLetterCommands(app *kingpin.Application, opts *options) {
	dl := app.Command("dead-letters", "List, retry or purge the jobs Telegram refused for good. Works on --storage.path while the receiver is stopped, or through a running receiver with --web.url.")
	dl.Flag("web.url", "Base URL of a running receiver (e.g. http://127.0.0.1:9427); its webhook_auth credentials are read from --config.file.").
		StringVar(&opts.webURL)
	dl.Command("list", "List the dead letters.").Default()
	for _, c := range []struct{ name, help string }{
		{"retry", "Queue dead letters again (their idempotency keys stay)."},
		{"purge", "Delete dead letters."},
	} {
		cmd := dl.Command(c.name, c.help)
		cmd.Flag("all", "Every dead letter.").BoolVar(&opts.all)
		cmd.Arg("id", "Job ids, as listed.").Uint64ListVar(&opts.ids)
	}
}

// deadLetters runs "dead-letters list|retry|purge".
func deadLetters(ctx context.Context, opts *options) error {
	op := strings.TrimPrefix(opts.command, "dead-letters ")
	if op != "list" && opts.all == (len(opts.ids) > 0) {
		return fmt.Errorf("dead-letters %s: give job ids or --all", op)
	}
	m, closeFn, err := deadLetterManager(opts)
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch op {
	case "retry":
		jobs, err := m.Retry(ctx, opts.ids)
		if err != nil {
			return fmt.Errorf("retrying dead letters: %w", err)
		}
		for _, j := range jobs {
			fmt.Fprintf(opts.stdout, "queued again as job %d: %s to chat %s\n", j.ID, j.Kind, j.ChatID)
		}
		fmt.Fprintf(opts.stdout, "%d dead letter(s) queued again\n", len(jobs))
	case "purge":
		n, err := m.Purge(ctx, opts.ids)
		if err != nil {
			return fmt.Errorf("purging dead letters: %w", err)
		}
		fmt.Fprintf(opts.stdout, "%d dead letter(s) purged\n", n)
	default:
		dl, err := m.List(ctx)
		if err != nil {
			return fmt.Errorf("listing dead letters: %w", err)
		}
		return printDeadLetters(opts, dl)
	}
	return nil
}

// deadLetterManager opens the store, or with --web.url a client of the
// running receiver that holds it.
func deadLetterManager(opts *options) (deadletter.Manager, func() error, error) {
	if opts.webURL != "" {
		var auth config.WebhookAuth
		if opts.configFile != "" {
			cfg, err := config.LoadDryRun(opts.configFile)
			if err != nil {
				return nil, nil, err
			}
			auth = cfg.WebhookAuth
		}
		return deadletter.Client{URL: opts.webURL, Auth: auth}, func() error { return nil }, nil
	}
	if opts.storage.url != "" { // shared by design: no need to stop the receivers
		st, err := openStore(context.Background(), opts)
		if err != nil {
			return nil, nil, err
		}
		return deadletter.Local{Store: st, Now: opts.now}, st.Close, nil
	}
	// A wrong --storage.path must not create an empty store and report
	// "no dead letters".
	if _, err := os.Stat(filepath.Join(opts.storagePath, bolt.FileName)); err != nil {
		return nil, nil, fmt.Errorf("no store in --storage.path %q: %w", opts.storagePath, err)
	}
	st, err := bolt.OpenWith(opts.storagePath, bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("store %q is in use by a running receiver: use --web.url=http://127.0.0.1:9427 (its listen address) to act through it", opts.storagePath)
	}
	if err != nil {
		return nil, nil, err
	}
	return deadletter.Local{Store: st, Now: opts.now}, st.Close, nil
}

func printDeadLetters(opts *options, dl []store.DeadLetter) error {
	if len(dl) == 0 {
		fmt.Fprintln(opts.stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tKIND\tCHAT\tROUTE\tAT\tREASON\tERROR\n")
	for _, d := range dl {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Job.ID, d.Job.Kind, d.Job.ChatID, d.Job.Route,
			d.At.UTC().Format(time.RFC3339), d.Reason, d.Error)
	}
	return tw.Flush()
}
