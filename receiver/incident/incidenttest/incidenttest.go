// Package incidenttest is the behaviour every incident.Log must have,
// specified once and run against each implementation:
//
//	func TestLog(t *testing.T) {
//		incidenttest.Run(t, func(t *testing.T) incident.Log { return newLog(t) })
//	}
package incidenttest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/incident"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// Fixture is an open incident of target on route, starting at start.
func Fixture(route, fingerprint, target string, start time.Time) incident.Incident {
	return incident.Incident{
		Key:       incident.Key{Route: route, Fingerprint: fingerprint},
		Target:    target,
		AlertName: "HostDown",
		Labels:    map[string]string{"alertname": "HostDown", "target": target, "job": "ping"},
		Start:     start,
	}
}

// Run runs the suite; newLog returns an empty log for each subtest.
func Run(t *testing.T, newLog func(t *testing.T) incident.Log) {
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, l incident.Log)
	}{
		{"OpenResolve", testOpenResolve},
		{"OpenIsIdempotent", testOpenIdempotent},
		{"OpenRejectsIncomplete", testOpenRejects},
		{"ResolveNotOpen", testResolveNotOpen},
		{"ReopenAfterResolve", testReopen},
		{"Annotate", testAnnotate},
		{"ListFilters", testList},
		{"Prune", testPrune},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newLog(t)) })
	}
}

func mustOpen(t *testing.T, l incident.Log, inc incident.Incident) incident.Incident {
	t.Helper()
	got, err := l.Open(context.Background(), inc)
	if err != nil {
		t.Fatalf("Open(%v): %v", inc.Key, err)
	}
	return got
}

func mustResolve(t *testing.T, l incident.Log, key incident.Key, end time.Time) incident.Incident {
	t.Helper()
	got, err := l.Resolve(context.Background(), key, end)
	if err != nil {
		t.Fatalf("Resolve(%v): %v", key, err)
	}
	return got
}

func mustList(t *testing.T, l incident.Log, f incident.Filter) []incident.Incident {
	t.Helper()
	got, err := l.List(context.Background(), f)
	if err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return got
}

func ids(incs []incident.Incident) []uint64 {
	out := []uint64{}
	for _, i := range incs {
		out = append(out, i.ID)
	}
	return out
}

func testOpenResolve(t *testing.T, l incident.Log) {
	in := Fixture("ops", "fp1", "nas", at(0))
	opened := mustOpen(t, l, in)
	if opened.ID == 0 || !opened.Open() {
		t.Fatalf("got %+v, want an open incident with an ID", opened)
	}
	in.ID = opened.ID
	if !reflect.DeepEqual(opened, in) {
		t.Errorf("Open: got %+v, want %+v", opened, in)
	}
	resolved := mustResolve(t, l, in.Key, at(1.5))
	if !resolved.End.Equal(at(1.5)) || resolved.Duration(at(9)) != 90*time.Minute {
		t.Errorf("Resolve: got end %v duration %v, want %v and 1h30m", resolved.End, resolved.Duration(at(9)), at(1.5))
	}
	list := mustList(t, l, incident.Filter{})
	if len(list) != 1 || list[0].Open() || !list[0].End.Equal(at(1.5)) || list[0].Labels["job"] != "ping" {
		t.Errorf("List: got %+v, want the resolved incident with its labels", list)
	}
}

func testOpenIdempotent(t *testing.T, l incident.Log) {
	first := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(0)))
	again := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(0.5)))
	if again.ID != first.ID || !again.Start.Equal(at(0)) {
		t.Errorf("repeated Open: got ID %d start %v, want ID %d start %v", again.ID, again.Start, first.ID, at(0))
	}
	earlier := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(-1)))
	if earlier.ID != first.ID || !earlier.Start.Equal(at(-1)) {
		t.Errorf("Open with an earlier start: got ID %d start %v, want ID %d start %v", earlier.ID, earlier.Start, first.ID, at(-1))
	}
	other := mustOpen(t, l, Fixture("family", "fp1", "nas", at(0)))
	if other.ID == first.ID {
		t.Errorf("same alert on another route: got the same ID %d, want a new incident", other.ID)
	}
	if n := len(mustList(t, l, incident.Filter{})); n != 2 {
		t.Errorf("got %d incidents, want 2", n)
	}
}

func testOpenRejects(t *testing.T, l incident.Log) {
	for name, inc := range map[string]incident.Incident{
		"no fingerprint": Fixture("ops", "", "nas", at(0)),
		"no target":      Fixture("ops", "fp", "", at(0)),
		"no start":       Fixture("ops", "fp", "nas", time.Time{}),
	} {
		if _, err := l.Open(context.Background(), inc); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}

func testResolveNotOpen(t *testing.T, l incident.Log) {
	_, err := l.Resolve(context.Background(), incident.Key{Route: "ops", Fingerprint: "nope"}, at(1))
	if !errors.Is(err, incident.ErrNotOpen) {
		t.Errorf("got %v, want ErrNotOpen", err)
	}
	in := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(0)))
	mustResolve(t, l, in.Key, at(1))
	if _, err := l.Resolve(context.Background(), in.Key, at(2)); !errors.Is(err, incident.ErrNotOpen) {
		t.Errorf("second Resolve: got %v, want ErrNotOpen", err)
	}
	got := mustList(t, l, incident.Filter{})
	if len(got) != 1 || !got[0].End.Equal(at(1)) {
		t.Errorf("a second Resolve changed the record: %+v", got)
	}
	// An end before the start (clock skew) gives a zero duration.
	in2 := mustOpen(t, l, Fixture("ops", "fp2", "nas", at(5)))
	r := mustResolve(t, l, in2.Key, at(4))
	if r.Open() || r.Duration(at(9)) != 0 {
		t.Errorf("end before start: got open=%v duration %v, want resolved, 0", r.Open(), r.Duration(at(9)))
	}
}

func testReopen(t *testing.T, l incident.Log) {
	a := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(0)))
	mustResolve(t, l, a.Key, at(1))
	b := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(2)))
	if b.ID == a.ID || b.ID < a.ID {
		t.Errorf("new outage of the same alert: got ID %d after %d, want a new, larger ID", b.ID, a.ID)
	}
	if got := ids(mustList(t, l, incident.Filter{})); !reflect.DeepEqual(got, []uint64{b.ID, a.ID}) {
		t.Errorf("got IDs %v, want newest first %v", got, []uint64{b.ID, a.ID})
	}
}

func testAnnotate(t *testing.T, l incident.Log) {
	ctx := context.Background()
	a := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(0)))
	msg := incident.MessageRef{ChatID: -100123, MessageID: 17}
	for _, n := range []incident.Note{
		{Message: &msg},
		{Message: &msg}, // a retried send links once
		{AcknowledgedBy: "@alice"},
		{SilencedBy: "@bob"},
		{}, // changes nothing
	} {
		if _, err := l.Annotate(ctx, a.ID, n); err != nil {
			t.Fatalf("Annotate: %v", err)
		}
	}
	got := mustList(t, l, incident.Filter{})[0]
	if got.AcknowledgedBy != "@alice" || got.SilencedBy != "@bob" || !reflect.DeepEqual(got.Messages, []incident.MessageRef{msg}) {
		t.Errorf("got %+v, want acknowledged by @alice, silenced by @bob, one message", got)
	}
	if _, err := l.Annotate(ctx, a.ID+100, incident.Note{SilencedBy: "x"}); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown ID: got %v, want ErrNotFound", err)
	}
}

func testList(t *testing.T, l incident.Log) {
	nasOld := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(-50)))
	mustResolve(t, l, nasOld.Key, at(-49))
	dbDay := mustOpen(t, l, Fixture("ops", "fp2", "db", at(-30)))
	mustResolve(t, l, dbDay.Key, at(-20)) // went on across since=-24h
	nasNow := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(-2)))
	dbFam := mustOpen(t, l, Fixture("family", "fp2", "db", at(-1)))
	for _, tc := range []struct {
		name string
		f    incident.Filter
		want []uint64
	}{
		{"all newest first", incident.Filter{}, []uint64{dbFam.ID, nasNow.ID, dbDay.ID, nasOld.ID}},
		{"open", incident.Filter{State: incident.StateOpen}, []uint64{dbFam.ID, nasNow.ID}},
		{"resolved", incident.Filter{State: incident.StateResolved}, []uint64{dbDay.ID, nasOld.ID}},
		{"target", incident.Filter{Target: "nas"}, []uint64{nasNow.ID, nasOld.ID}},
		{"route", incident.Filter{Route: "family"}, []uint64{dbFam.ID}},
		{"since includes what was still going on", incident.Filter{Since: at(-24)}, []uint64{dbFam.ID, nasNow.ID, dbDay.ID}},
		{"until excludes what began after", incident.Filter{Since: at(-60), Until: at(-25)}, []uint64{dbDay.ID, nasOld.ID}},
		{"limit keeps the newest", incident.Filter{Limit: 1}, []uint64{dbFam.ID}},
		{"no match", incident.Filter{Target: "printer"}, []uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(mustList(t, l, tc.f)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func testPrune(t *testing.T, l incident.Log) {
	ctx := context.Background()
	now := at(0)
	day := 24.0
	old := mustOpen(t, l, Fixture("ops", "fp1", "nas", at(-100*day)))
	mustResolve(t, l, old.Key, at(-91*day))
	kept := mustOpen(t, l, Fixture("ops", "fp2", "db", at(-100*day)))
	mustResolve(t, l, kept.Key, at(-89*day)) // began long ago, ended within 90 days
	stillOpen := mustOpen(t, l, Fixture("ops", "fp3", "printer", at(-200*day)))
	n, err := l.Prune(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("default retention: pruned %d, want 1", n)
	}
	if got := ids(mustList(t, l, incident.Filter{})); !reflect.DeepEqual(got, []uint64{kept.ID, stillOpen.ID}) {
		t.Errorf("after pruning: got %v, want %v", got, []uint64{kept.ID, stillOpen.ID})
	}
	n, err = l.Prune(ctx, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(mustList(t, l, incident.Filter{})); n != 1 || !reflect.DeepEqual(got, []uint64{stillOpen.ID}) {
		t.Errorf("1-day retention: pruned %d leaving %v, want 1 leaving the open one %v", n, got, []uint64{stillOpen.ID})
	}
}
