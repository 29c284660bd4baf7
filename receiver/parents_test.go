package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
	"github.com/downtime-detector/downtime/receiver/store/postgres"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// TestParentListAfterRestart: the receiver restarts (same store) while a
// router is down; then one more host becomes unreachable behind it, and
// the router's message is edited with the new list although no webhook
// about the router reached the restarted receiver. The watch ends when the
// router resolves. With the bbolt and the PostgreSQL store.
func TestParentListAfterRestart(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testParentListAfterRestart(t, backend)
		})
	}
}

func testParentListAfterRestart(t *testing.T, backend string) {
	u := amtest.Start(t)
	am, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{u}, Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	real := time.Now()
	behindRouter := func(target string) {
		amtest.PostAlert(t, u, map[string]string{"alertname": "HostUnreachableBehindParent", "job": "ping",
			"instance": "prober:9426", "target": target, "parent": "router1", "severity": "info"},
			real.Add(-time.Minute), real.Add(time.Hour))
	}
	behindRouter("db1")
	behindRouter("db2")

	tg := telegramtest.NewServer(t, testToken)
	config, dir, dsn := writeConfig(t, "4242", ""), t.TempDir(), ""
	if backend == "postgres" {
		dir, dsn = "", pgtest.DB(t)
	}
	start := func(clk *clocktest.Fake) *receiver {
		opts := newOptions(t, config, dir, tg.URL)
		opts.storage.url = dsn
		opts.clock, opts.alerts = clk, am
		return startReceiver(t, opts)
	}
	clk := clocktest.New(t0)
	r := start(clk)
	mustPost(t, r.url+"/webhook", body("firing", routerDown("firing", t0.Add(-time.Minute))))
	msgs := tg.WaitMessages(t, 1, 10*time.Second)
	edits := advanceUntilEdits(t, clk, tg, 1)
	checkFirstLine(t, edits[0].Plain, "🔴 router1 is down — 2 hosts behind it are unreachable too: db1, db2")
	settle(t, r.url)
	if err := r.stop(); err != nil {
		t.Fatalf("stopping the first receiver: %v", err)
	}

	clk = clocktest.New(t0.Add(time.Hour))
	r = start(clk)
	behindRouter("web1")
	edits = advanceUntilEdits(t, clk, tg, 2)
	checkFirstLine(t, edits[1].Plain, "🔴 router1 is down — 3 hosts behind it are unreachable too: db1, db2, web1")
	if edits[1].MessageID != msgs[0].MessageID {
		t.Errorf("edited message %d, want the router's %d", edits[1].MessageID, msgs[0].MessageID)
	}
	settle(t, r.url)
	if n, e := len(tg.Messages()), len(tg.Edits()); n != 1 || e != 2 {
		t.Errorf("got %d messages and %d edits, want 1 (the router's) and 2 (its lists)", n, e)
	}

	mustPost(t, r.url+"/webhook", body("resolved", routerDown("resolved", t0.Add(-time.Minute))))
	// The recovery and the edit of the router's message; the worker's
	// flood limits wait on the fake clock.
	advanceUntil(t, clk, time.Second, func() bool { return len(tg.Messages()) >= 2 && len(tg.Edits()) >= 3 })
	settle(t, r.url)
	checkFirstLine(t, tg.Messages()[1].Plain, "✅ router1 is up after")
	if err := r.stop(); err != nil {
		t.Fatalf("stopping the second receiver: %v", err)
	}
	if ps := watchedParents(t, dir, dsn); len(ps) != 0 {
		t.Errorf("after the router resolved: got %+v watched, want none", ps)
	}
}

// watchedParents reads the store of a stopped receiver.
func watchedParents(t *testing.T, dir, dsn string) []store.Parent {
	t.Helper()
	var st store.Store
	var err error
	if dsn != "" {
		st, err = postgres.Open(t.Context(), dsn, postgres.Options{})
	} else {
		st, err = bolt.Open(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.WatchedParents()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
