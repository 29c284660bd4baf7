package chat

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestStoreBehaviour is the behaviour every Store must have; the lead runs it
// against the real store too (copy or export when wiring).
func TestStoreBehaviour(t *testing.T) {
	var s Store = NewMemStore()
	if _, err := s.Action("nope"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v, want ErrUnknownKey", err)
	}
	if err := s.PutAction("../x", ActionRecord{}); err == nil {
		t.Error("PutAction accepted a bad key")
	}
	if err := s.PutAction("K1", ActionRecord{Route: "ops", ChatID: -100, MessageID: 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAction("K1", ActionRecord{}); err == nil {
		t.Error("PutAction overwrote a key")
	}
	if err := s.UpdateAction("K1", func(r *ActionRecord) error { r.SilenceID = "sil"; return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.UpdateAction("K1", func(r *ActionRecord) error { r.SilenceID = "other"; return boom }); !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
	if r, _ := s.Action("K1"); r.SilenceID != "sil" || r.MessageID != 7 {
		t.Errorf("record %+v, want silence sil on message 7 (a failed update changes nothing)", r)
	}
	if o, _ := s.UpdatesOffset(); o != 0 {
		t.Errorf("first offset %d, want 0", o)
	}
	if err := s.SetUpdatesOffset(42); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUpdatesOffset(41); err == nil {
		t.Error("offset went back")
	}
	if o, _ := s.UpdatesOffset(); o != 42 {
		t.Errorf("offset %d, want 42", o)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	n, err := testutil.GatherAndCount(reg, "downtime_receiver_chat_actions_total")
	if err != nil || n != (len(Actions)+4)*len(Results) {
		t.Errorf("got %d series (%v), want %d at start", n, err, (len(Actions)+4)*len(Results))
	}
	m.Actions.WithLabelValues(string(SilenceHour), ResultOK).Inc()
	if v := testutil.ToFloat64(m.Actions.WithLabelValues(string(SilenceHour), ResultOK)); v != 1 {
		t.Errorf("got %v, want 1", v)
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}
