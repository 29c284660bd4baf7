package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// incidentsOptions are the flags of the incidents command.
type incidentsOptions struct {
	open   bool
	since  string
	target string
	output string
}

func addIncidentsCommand(app *kingpin.Application, opts *options) {
	cmd := app.Command("incidents", "List the incident log (what was down, when, for how long). Reads --storage.path while the receiver is stopped, or a running receiver with --web.url.")
	cmd.Flag("open", "Open incidents only (hosts down now).").BoolVar(&opts.incidents.open)
	cmd.Flag("since", `Incidents going on at some time after this: a duration before now ("24h", "7d") or an RFC 3339 time.`).
		StringVar(&opts.incidents.since)
	cmd.Flag("target", "One host, exactly as listed.").StringVar(&opts.incidents.target)
	cmd.Flag("output", "Output: table, json or csv.").Short('o').Default("table").
		EnumVar(&opts.incidents.output, "table", "json", "csv")
	cmd.Flag("web.url", "Base URL of a running receiver (e.g. http://127.0.0.1:9427); its webhook_auth credentials are read from --config.file.").
		StringVar(&opts.webURL)
}

// listIncidents runs "incidents".
func listIncidents(ctx context.Context, opts *options) error {
	o := opts.incidents
	now := opts.now()
	f := incident.Filter{Target: o.target}
	if o.open {
		f.State = incident.StateOpen
	}
	if o.since != "" {
		t, err := incident.ParseTime(o.since, now)
		if err != nil {
			return fmt.Errorf("--since %q: %w", o.since, err)
		}
		f.Since = t
	}
	format, err := incident.ParseFormat(o.output)
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	loc, auth := time.Local, config.WebhookAuth{}
	if opts.configFile != "" {
		cfg, err := config.LoadDryRun(opts.configFile)
		if err != nil {
			return err
		}
		loc, auth = cfg.Location(), cfg.WebhookAuth
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var incs []incident.Incident
	if opts.webURL != "" {
		incs, err = remoteIncidents(ctx, opts.webURL, auth, o)
	} else {
		incs, err = localIncidents(ctx, opts.storagePath, f)
	}
	if err != nil {
		return err
	}
	if format == incident.FormatTable && len(incs) == 0 {
		fmt.Fprintln(opts.stdout, "no incidents")
		return nil
	}
	return incident.Write(opts.stdout, incs, format, now, loc)
}

// localIncidents reads the log from the store, which must exist and not
// be held by a running receiver.
func localIncidents(ctx context.Context, dir string, f incident.Filter) ([]incident.Incident, error) {
	// A wrong --storage.path must not create an empty store and report
	// "no incidents".
	if _, err := os.Stat(filepath.Join(dir, bolt.FileName)); err != nil {
		return nil, fmt.Errorf("no store in --storage.path %q: %w", dir, err)
	}
	st, err := bolt.OpenWith(dir, bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("store %q is in use by a running receiver: use --web.url=http://127.0.0.1:9427 (its listen address) to read through it", dir)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Incidents().List(ctx, f)
}

// remoteIncidents asks a running receiver's /api/v1/incidents.
func remoteIncidents(ctx context.Context, base string, auth config.WebhookAuth, o incidentsOptions) ([]incident.Incident, error) {
	q := url.Values{}
	if o.open {
		q.Set("state", string(incident.StateOpen))
	}
	if o.since != "" {
		q.Set("since", o.since)
	}
	if o.target != "" {
		q.Set("target", o.target)
	}
	u := strings.TrimSuffix(base, "/") + "/api/v1/incidents?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("--web.url: %w", err)
	}
	auth.Apply(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Incidents []incident.Record `json:"incidents"`
		Error     string            `json:"error"`
	}
	raw, err := readLimited(resp.Body)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK {
		msg := body.Error
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, msg)
	}
	out := make([]incident.Incident, 0, len(body.Incidents))
	for _, r := range body.Incidents {
		out = append(out, r.Incident)
	}
	return out, nil
}

// readLimited reads an API answer, at most 64 MiB (90 days of incidents).
func readLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, 64<<20))
}
