package statuspage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/downtime-detector/downtime/receiver/statuspage/browsertest"
)

// TestBrowser loads the page in a real headless chromium: the down host
// with its duration, the resolved incident in the history, a hostile label
// as text, no console errors, and a layout that fits a phone.
func TestBrowser(t *testing.T) {
	ctx := browsertest.Browser(t)
	page := newPage(t, fixtureLog(t), Config{Title: "Home lab", GrafanaURL: "http://127.0.0.1:3000/d/downtime-hosts"})
	mux := http.NewServeMux()
	page.Register(mux, nil)
	// A page that writes a console error and throws: proves the listener
	// sees what it must report.
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><link rel="icon" href="data:,"><script>console.error("broken"); throw new Error("boom")</script>`)
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	problems := browsertest.ListenConsole(t, ctx)

	t.Run("desktop", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		if got := browsertest.Eval[string](t, ctx, `document.title`); got != "1 down · Home lab" {
			t.Errorf("title: got %q", got)
		}
		down := browsertest.Eval[string](t, ctx, `document.querySelector("#down").innerText`)
		for _, want := range []string{"nas.example.lan", "1h15m", "acknowledged by @alice"} {
			if !strings.Contains(down, want) {
				t.Errorf("down now: lacks %q in %q", want, down)
			}
		}
		history := browsertest.Eval[string](t, ctx, `document.querySelector("#history").innerText`)
		for _, want := range []string{"db1.example.lan", "42m", hostile, "printer.example.lan", "2h"} {
			if !strings.Contains(history, want) {
				t.Errorf("history: lacks %q in %q", want, history)
			}
		}
		if strings.Contains(history, "nas.example.lan") {
			t.Errorf("history lists the open incident: %q", history)
		}
		// The hostile label is text: no element came out of it.
		if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("script, img, [onerror]").length`); n != 0 {
			t.Errorf("got %d script/img elements, want 0 (label not escaped)", n)
		}
		browsertest.Screenshot(t, ctx, "statuspage-desktop.png")
		if p := problems.Take(); len(p) != 0 {
			t.Errorf("console problems: %q", p)
		}
	})

	t.Run("phone", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)),
			chromedp.Navigate(srv.URL+"/"))
		if err != nil {
			t.Fatal(err)
		}
		type layout struct {
			InnerWidth, ScrollWidth, BodyScrollWidth int
			Overflowing                              []string
			TheadDisplay                             string
		}
		l := browsertest.Eval[layout](t, ctx, `(() => {
			const w = window.innerWidth;
			const over = [...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > w + 0.5)
				.map(e => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 40));
			return {
				InnerWidth: w,
				ScrollWidth: document.documentElement.scrollWidth,
				BodyScrollWidth: document.body.scrollWidth,
				Overflowing: over,
				TheadDisplay: getComputedStyle(document.querySelector("thead")).display,
			};
		})()`)
		if l.InnerWidth != 375 {
			t.Fatalf("innerWidth: got %d, want 375 (viewport emulation)", l.InnerWidth)
		}
		if l.ScrollWidth > l.InnerWidth || l.BodyScrollWidth > l.InnerWidth || len(l.Overflowing) != 0 {
			t.Errorf("horizontal overflow at 375px: scrollWidth %d, body %d, elements past the edge %q",
				l.ScrollWidth, l.BodyScrollWidth, l.Overflowing)
		}
		if l.TheadDisplay != "none" {
			t.Errorf("table headers: got display %q, want none (rows as cards on a phone)", l.TheadDisplay)
		}
		down := browsertest.Eval[string](t, ctx, `document.querySelector("#down").innerText`)
		if !strings.Contains(down, "nas.example.lan") || !strings.Contains(down, "1h15m") {
			t.Errorf("down now on a phone: got %q", down)
		}
		browsertest.Screenshot(t, ctx, "statuspage-phone.png")
		if p := problems.Take(); len(p) != 0 {
			t.Errorf("console problems: %q", p)
		}
	})

	t.Run("listener sees errors", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/broken")); err != nil {
			t.Fatal(err)
		}
		// The exception is reported before the load event the navigation
		// waits for; a round trip makes sure its event was read.
		browsertest.Eval[int](t, ctx, `1`)
		p := strings.Join(problems.Take(), "\n")
		if !strings.Contains(p, "broken") || !strings.Contains(p, "boom") {
			t.Errorf("got console problems %q, want the console.error and the exception", p)
		}
	})
}
