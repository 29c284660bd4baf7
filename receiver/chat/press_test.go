package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

type fakeSilencer struct {
	created []alertmanager.SilenceRequest
	expired []string
	err     error
}

func (f *fakeSilencer) CreateSilence(_ context.Context, r alertmanager.SilenceRequest) (alertmanager.Created, error) {
	if f.err != nil {
		return alertmanager.Created{}, f.err
	}
	f.created = append(f.created, r)
	return alertmanager.Created{ID: "sil-1", URL: "http://am"}, nil
}

func (f *fakeSilencer) ExpireSilence(_ context.Context, id string) error {
	if f.err != nil {
		return f.err
	}
	f.expired = append(f.expired, id)
	return nil
}

const chatID = -1001234567890

var (
	clock0 = time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	alice  = Press{User: User{ID: 1, Username: "alice_ops"}, ChatID: chatID}
	mallet = Press{User: User{ID: 9, Username: "mallory_x"}, ChatID: chatID}
)

func newActor(t *testing.T, sil Silencer) (*Actor, *MemStore) {
	t.Helper()
	st := NewMemStore()
	if err := st.PutAction("KEY", ActionRecord{Route: "ops", ChatID: chatID, MessageID: 45, Fingerprint: "fp",
		Labels: map[string]string{"alertname": "HostDown", "target": "h.example", "job": "ping"}}); err != nil {
		t.Fatal(err)
	}
	allowed, _ := ParseAllowedUsers("allowed_users", []string{"alice_ops"})
	return &Actor{Store: st, Silencer: sil, Allowed: func(string) AllowedUsers { return allowed },
		Now: func() time.Time { return clock0 }, Metrics: NewMetrics(prometheus.NewRegistry())}, st
}

func data(a Action) string { return Callback{Action: a, Key: "KEY"}.Data() }

func TestPressSequence(t *testing.T) {
	sil := &fakeSilencer{}
	a, st := newActor(t, sil)
	ctx := context.Background()
	steps := []struct {
		p       Press
		data    string
		result  string
		answer  string
		changed bool
		note    string
	}{
		{alice, data(SilenceHour), ResultOK, "Silenced until 23:00 UTC.", true, "🔕 silenced by @alice_ops until 23:00 UTC"},
		{alice, data(SilenceMorning), ResultOK, "Already silenced by @alice_ops until 23:00 UTC.", false, "🔕 silenced by @alice_ops until 23:00 UTC"},
		{alice, data(Ack), ResultOK, "Acknowledged: no more reminders; the recovery will still be reported.", true, "🔕 silenced by @alice_ops until 23:00 UTC · ✅ acknowledged by @alice_ops"},
		{mallet, data(Unsilence), ResultNotAllowed, "Not allowed: you are not on this route's allowed_users.", false, ""},
		{Press{User: alice.User, ChatID: 5}, data(Unsilence), ResultNotAllowed, "Not allowed: this button belongs to another chat.", false, ""},
		{alice, data(Unsilence), ResultOK, "Unsilenced.", true, "✅ acknowledged by @alice_ops"},
		{alice, data(Unack), ResultOK, "Acknowledgement removed: reminders resume.", true, ""},
		{alice, data(Unack), ResultOK, "Not acknowledged.", false, ""},
		{alice, "d1:ack:OTHERKEY", ResultStale, answerStale, false, ""},
		{alice, "d0:ack:KEY", ResultStale, answerStale, false, ""},
		{alice, "rm -rf /", ResultInvalid, answerInvalid, false, ""},
	}
	for i, s := range steps {
		o := a.HandlePress(ctx, s.p, s.data)
		if o.Result != s.result || o.Answer != s.answer || o.Changed != s.changed {
			t.Fatalf("step %d: got %s %q changed=%v, want %s %q changed=%v", i, o.Result, o.Answer, o.Changed, s.result, s.answer, s.changed)
		}
		if o.Changed {
			if got := Note(o.Record, clock0, nil); got != s.note {
				t.Errorf("step %d: note %q, want %q", i, got, s.note)
			}
		}
	}
	if len(sil.created) != 1 || len(sil.expired) != 1 || sil.expired[0] != "sil-1" {
		t.Fatalf("created %d silences, expired %v; want 1 and [sil-1]", len(sil.created), sil.expired)
	}
	r := sil.created[0]
	if r.CreatedBy != "@alice_ops (Telegram)" || !r.EndsAt.Equal(clock0.Add(time.Hour)) ||
		r.Comment != "Silenced from Telegram by @alice_ops: https://t.me/c/1234567890/45" || r.Labels["target"] != "h.example" {
		t.Errorf("silence request %+v", r)
	}
	rec, _ := st.Action("KEY")
	if rec.SilenceID != "" || rec.AckedBy != "" {
		t.Errorf("record after unsilence and unack %+v, want clean", rec)
	}
	m := a.Metrics.Actions
	for _, c := range []struct {
		action, result string
		want           float64
	}{{"s1h", ResultOK, 1}, {"uns", ResultNotAllowed, 2}, {"unknown", ResultInvalid, 1}, {"ack", ResultStale, 1}, {"unknown", ResultStale, 1}} {
		if v := testutil.ToFloat64(m.WithLabelValues(c.action, c.result)); v != c.want {
			t.Errorf("actions_total{%s,%s} = %v, want %v", c.action, c.result, v, c.want)
		}
	}
}

func TestPressAlertmanagerFails(t *testing.T) {
	amErr := &alertmanager.Error{URL: "http://am.example:9093", Operation: "create silence", Status: 503, Message: "unavailable"}
	sil := &fakeSilencer{err: amErr}
	a, st := newActor(t, sil)
	o := a.HandlePress(context.Background(), alice, data(SilenceHour))
	if o.Result != ResultFailed || o.Changed || !strings.Contains(o.Answer, "Not silenced: alertmanager http://am.example:9093: create silence: HTTP 503") {
		t.Errorf("got %+v, want failed naming the Alertmanager and the status", o)
	}
	if rec, _ := st.Action("KEY"); rec.SilenceID != "" {
		t.Errorf("record %+v marked silenced after a failure", rec)
	}

	// A reload removed the Alertmanager URL since the buttons were sent.
	sil.err = fmt.Errorf("wrapped: %w", alertmanager.ErrNotConfigured)
	if o := a.HandlePress(context.Background(), alice, data(SilenceHour)); o.Result != ResultFailed || o.Answer != answerNoAM {
		t.Errorf("alertmanager removed by a reload: got %+v, want %q", o, answerNoAM)
	}

	a.Silencer = nil
	if o := a.HandlePress(context.Background(), alice, data(SilenceMorning)); o.Result != ResultFailed || o.Answer != answerNoAM {
		t.Errorf("without alertmanager: %+v", o)
	}
	if o := a.HandlePress(context.Background(), alice, data(Ack)); o.Result != ResultOK || !o.Changed {
		t.Errorf("ack without alertmanager: %+v, want ok (ack is local)", o)
	}
}

func TestPressUnsilenceGone(t *testing.T) {
	sil := &fakeSilencer{}
	a, _ := newActor(t, sil)
	ctx := context.Background()
	a.HandlePress(ctx, alice, data(SilenceHour))
	sil.err = errors.Join(alertmanager.ErrSilenceNotFound)
	if o := a.HandlePress(ctx, alice, data(Unsilence)); o.Result != ResultOK || o.Answer != "The silence was already gone." || !o.Changed {
		t.Errorf("got %+v", o)
	}
	// A silence that ended on its own: the button just resets.
	sil.err = nil
	a.HandlePress(ctx, alice, data(SilenceHour))
	a.Now = func() time.Time { return clock0.Add(2 * time.Hour) }
	if o := a.HandlePress(ctx, alice, data(Unsilence)); o.Answer != "Not silenced (any more)." || !o.Changed || len(sil.expired) != 0 {
		t.Errorf("got %+v, expired %v", o, sil.expired)
	}
}

func TestPressAnswersFit(t *testing.T) {
	long := errors.New(strings.Repeat("x", 500))
	a, _ := newActor(t, &fakeSilencer{err: long})
	if o := a.HandlePress(context.Background(), alice, data(SilenceHour)); len([]rune(o.Answer)) > 200 {
		t.Errorf("answer %d characters, want at most 200", len([]rune(o.Answer)))
	}
}
