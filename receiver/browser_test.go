package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/downtime-detector/downtime/internal/clock/clocktest"
	"github.com/downtime-detector/downtime/receiver/statuspage/browsertest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// TestStatusPageBrowser loads the real receiver's page, fed by webhooks, in
// a headless chromium: the down host with its duration, the resolved one
// in the history, no console problems, no overflow at phone width.
func TestStatusPageBrowser(t *testing.T) {
	ctx := browsertest.Browser(t)
	tg := telegramtest.NewServer(t, testToken)
	clk := clocktest.New(t0)
	opts := newOptions(t, writeConfig(t, "-100", "status_page:\n  title: Home lab\n"), t.TempDir(), tg.URL)
	opts.now = clk.Now
	r := startReceiver(t, opts)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "nas.example.lan", t0.Add(-75*time.Minute))))
	db := t0.Add(-3 * time.Hour)
	mustPost(t, r.url+"/webhook", body("firing", hostAlert("firing", "db1.example.lan", db)))
	mustPost(t, r.url+"/webhook", body("resolved", hostAlert("resolved", "db1.example.lan", db)))
	settle(t, r.url)

	problems := browsertest.ListenConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(r.url+"/")); err != nil {
		t.Fatal(err)
	}
	if got := browsertest.Eval[string](t, ctx, `document.title`); got != "1 down · Home lab" {
		t.Errorf("title: got %q, want %q", got, "1 down · Home lab")
	}
	down := browsertest.Eval[string](t, ctx, `document.querySelector("#down").innerText`)
	if !strings.Contains(down, "nas.example.lan") || !strings.Contains(down, "1h15m") {
		t.Errorf("down now: got %q, want nas.example.lan for 1h15m", down)
	}
	history := browsertest.Eval[string](t, ctx, `document.querySelector("#history").innerText`)
	if !strings.Contains(history, "db1.example.lan") || !strings.Contains(history, "42m") || strings.Contains(history, "nas.example.lan") {
		t.Errorf("history: got %q, want db1.example.lan for 42m and not the open nas", history)
	}
	browsertest.Screenshot(t, ctx, "receiver-desktop.png")
	if p := problems.Take(); len(p) != 0 {
		t.Errorf("console problems: %q", p)
	}

	err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)),
		chromedp.Navigate(r.url+"/"))
	if err != nil {
		t.Fatal(err)
	}
	type layout struct{ InnerWidth, ScrollWidth int }
	l := browsertest.Eval[layout](t, ctx, `({InnerWidth: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth})`)
	if l.InnerWidth != 375 || l.ScrollWidth > l.InnerWidth {
		t.Errorf("phone: got innerWidth %d scrollWidth %d, want 375 and no horizontal overflow", l.InnerWidth, l.ScrollWidth)
	}
	browsertest.Screenshot(t, ctx, "receiver-phone.png")
	if p := problems.Take(); len(p) != 0 {
		t.Errorf("console problems at phone width: %q", p)
	}
}
