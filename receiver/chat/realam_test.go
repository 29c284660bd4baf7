package chat

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/alertmanager/amtest"
)

// TestRealButtonPress: presses against Debian's Alertmanager make exactly one
// silence with the identifying matchers and createdBy, Unsilence expires it,
// and a press while Alertmanager is down silences nothing.
func TestRealButtonPress(t *testing.T) {
	u := amtest.Start(t)
	c, err := alertmanager.New(alertmanager.Config{URLs: []*url.URL{u}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	labels := map[string]string{"alertname": "HostDown", "target": "h.example", "job": "ping", "severity": "page"}
	amtest.PostAlert(t, u, labels, now.Add(-time.Minute), now.Add(time.Hour))
	a, _ := newActor(t, c)
	a.Now = time.Now
	ctx := context.Background()

	for range 2 { // the second press finds the silence and makes none
		if o := a.HandlePress(ctx, alice, data(SilenceHour)); o.Result != ResultOK {
			t.Fatalf("press: %+v", o)
		}
	}
	if o := a.HandlePress(ctx, mallet, data(SilenceMorning)); o.Result != ResultNotAllowed {
		t.Fatalf("mallory's press: %+v", o)
	}
	sils, err := c.ListSilences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sils) != 1 {
		t.Fatalf("got %d silences, want exactly 1", len(sils))
	}
	var ms []string
	for _, m := range sils[0].Matchers {
		ms = append(ms, m.String())
	}
	sort.Strings(ms)
	if got := strings.Join(ms, " "); got != `alertname="HostDown" job="ping" target="h.example"` {
		t.Errorf("matchers %s", got)
	}
	if sils[0].CreatedBy != "@alice_ops (Telegram)" || !strings.Contains(sils[0].Comment, "https://t.me/c/1234567890/45") {
		t.Errorf("silence %+v", sils[0])
	}
	as, _ := c.Alerts(ctx, []string{`target="h.example"`})
	if len(as) != 1 || as[0].State != "suppressed" {
		t.Errorf("alert %+v, want suppressed", as)
	}
	if o := a.HandlePress(ctx, alice, data(Unsilence)); o.Result != ResultOK || o.Answer != "Unsilenced." {
		t.Fatalf("unsilence: %+v", o)
	}
	if sils, _ := c.ListSilences(ctx); len(sils) != 0 {
		t.Errorf("%d silences after unsilence, want 0", len(sils))
	}

	down, _ := alertmanager.New(alertmanager.Config{URLs: []*url.URL{{Scheme: "http", Host: amtest.FreeAddr(t)}}}, nil, nil)
	a.Silencer = down
	o := a.HandlePress(ctx, alice, data(SilenceHour))
	if o.Result != ResultFailed || !strings.Contains(o.Answer, "connection refused") || o.Changed {
		t.Errorf("press with Alertmanager down: %+v", o)
	}
	if sils, _ := c.ListSilences(ctx); len(sils) != 0 {
		t.Errorf("%d silences, want 0", len(sils))
	}
}
