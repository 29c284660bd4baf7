package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/incident"
	"github.com/downtime-detector/downtime/receiver/incident/incidenttest"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// seedIncidents writes a resolved incident of db (30m, two days ago) and
// an open one of nas (since 1h ago) into the store in dir.
func seedIncidents(t *testing.T, dir string) {
	t.Helper()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, log := context.Background(), st.Incidents()
	db, err := log.Open(ctx, incidenttest.Fixture("ops", "fp-db", "db", t0.Add(-48*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Resolve(ctx, db.Key, t0.Add(-47*time.Hour-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Open(ctx, incidenttest.Fixture("ops", "fp-nas", "nas", t0.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
}

func incidentOpts(t *testing.T, dir string, args ...string) *options {
	t.Helper()
	opts, err := parseFlags(append([]string{"incidents", "--storage.path=" + dir}, args...), nil, nil)
	if err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	opts.now = func() time.Time { return t0 }
	return opts
}

// TestIncidentsOffline: the command reads the store of a stopped receiver,
// with filters and the three outputs.
func TestIncidentsOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedIncidents(t, dir)
	for _, tc := range []struct {
		args    []string
		want    []string // in the output
		notWant []string
		wantErr string
	}{
		{nil, []string{"ID", "TARGET", "nas", "open", "1h", "db", "resolved", "30m"}, nil, ""},
		{[]string{"--open"}, []string{"nas"}, []string{"db"}, ""},
		{[]string{"--since", "24h"}, []string{"nas"}, []string{"db"}, ""},
		{[]string{"--target", "db"}, []string{"db"}, []string{"nas"}, ""},
		{[]string{"--target", "printer"}, []string{"no incidents"}, nil, ""},
		{[]string{"-o", "csv"}, []string{"id,route,target,alertname,state", ",nas,HostDown,open,"}, nil, ""},
		{[]string{"--since", "yesterday"}, nil, nil, `--since "yesterday": want a duration`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := runCommand(t, incidentOpts(t, dir, tc.args...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
	out, _, err := runCommand(t, incidentOpts(t, dir, "-o", "json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []incident.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 2 || recs[0].Target != "nas" ||
		recs[0].DurationSeconds != 3600 || recs[1].Duration != "30m" {
		t.Errorf("-o json: got %+v (%v), want nas (open, 3600 s) then db (30m)", recs, err)
	}
	if _, _, err := runCommand(t, incidentOpts(t, t.TempDir())); err == nil || !strings.Contains(err.Error(), "no store in --storage.path") {
		t.Errorf("empty directory: got %v, want the no-store error", err)
	}
}

// TestIncidentsRunning: a running receiver holds the store; the command
// says so, and reads through it with --web.url and the credentials of
// --config.file.
func TestIncidentsRunning(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	dir := t.TempDir()
	cfg := writeConfig(t, "-100", "webhook_auth:\n  bearer_token: adm1n-Tok\n")
	opts := newOptions(t, cfg, dir, tg.URL)
	opts.now = clocktest.New(t0).Now
	r := startReceiver(t, opts)
	code, b := post(t, r.url+"/webhook", body("firing", hostAlert("firing", "web1", t0.Add(-5*time.Minute))),
		"Authorization", "Bearer adm1n-Tok")
	if code != 200 {
		t.Fatalf("webhook: got %d %s", code, b)
	}

	_, _, err := runCommand(t, incidentOpts(t, dir))
	if err == nil || !strings.Contains(err.Error(), "in use by a running receiver: use --web.url") {
		t.Fatalf("offline read of a running receiver's store: got %v, want the in-use error", err)
	}
	if _, _, err := runCommand(t, incidentOpts(t, dir, "--web.url="+r.url)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without credentials: got %v, want 401", err)
	}
	o := incidentOpts(t, dir, "--web.url="+r.url, "--open")
	o.configFile = cfg
	out, _, err := runCommand(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "web1") || !strings.Contains(out, "open") || !strings.Contains(out, "5m") {
		t.Errorf("through --web.url: got %q, want web1 open for 5m", out)
	}
}
