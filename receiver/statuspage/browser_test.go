package statuspage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, installed by `make deps`.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless chromium that can reach nothing but loopback,
// with a fresh profile, and returns a tab context. Without chromium the test
// is skipped, saying why; under CI=true that is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := fmt.Sprintf("browser test needs Debian's chromium (make deps): %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	profile, err := os.MkdirTemp("", "statuspage-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's helpers may still write there for a moment after the
		// browser exits; retry rather than fail the test on cleanup.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", profile)
	})
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in a container: no user namespaces for the sandbox
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		// Every name resolves to nothing and only 127.0.0.1 is reachable:
		// the test never sends traffic off the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consoleProblems collects the console errors and warnings, uncaught
// exceptions and browser log errors (failed loads, CSP violations) of the
// tab from now on.
type consoleProblems struct {
	mu   sync.Mutex
	list []string
}

func listenConsole(t *testing.T, ctx context.Context) *consoleProblems {
	t.Helper()
	c := &consoleProblems{}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				msg = fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
		if msg != "" {
			c.mu.Lock()
			c.list = append(c.list, msg)
			c.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	return c
}

func (c *consoleProblems) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.list
	c.list = nil
	return l
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// screenshot saves the page to $STATUSPAGE_SCREENSHOTS/name when that is
// set, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("STATUSPAGE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser loads the page in a real headless chromium: the down host
// with its duration, the resolved incident in the history, a hostile label
// as text, no console errors, and a layout that fits a phone.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
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

	problems := listenConsole(t, ctx)

	t.Run("desktop", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		if got := eval[string](t, ctx, `document.title`); got != "1 down · Home lab" {
			t.Errorf("title: got %q", got)
		}
		down := eval[string](t, ctx, `document.querySelector("#down").innerText`)
		for _, want := range []string{"nas.example.lan", "1h15m", "acknowledged by @alice"} {
			if !strings.Contains(down, want) {
				t.Errorf("down now: lacks %q in %q", want, down)
			}
		}
		history := eval[string](t, ctx, `document.querySelector("#history").innerText`)
		for _, want := range []string{"db1.example.lan", "42m", hostile, "printer.example.lan", "2h"} {
			if !strings.Contains(history, want) {
				t.Errorf("history: lacks %q in %q", want, history)
			}
		}
		if strings.Contains(history, "nas.example.lan") {
			t.Errorf("history lists the open incident: %q", history)
		}
		// The hostile label is text: no element came out of it.
		if n := eval[int](t, ctx, `document.querySelectorAll("script, img, [onerror]").length`); n != 0 {
			t.Errorf("got %d script/img elements, want 0 (label not escaped)", n)
		}
		screenshot(t, ctx, "statuspage-desktop.png")
		if p := problems.take(); len(p) != 0 {
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
		l := eval[layout](t, ctx, `(() => {
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
		down := eval[string](t, ctx, `document.querySelector("#down").innerText`)
		if !strings.Contains(down, "nas.example.lan") || !strings.Contains(down, "1h15m") {
			t.Errorf("down now on a phone: got %q", down)
		}
		screenshot(t, ctx, "statuspage-phone.png")
		if p := problems.take(); len(p) != 0 {
			t.Errorf("console problems: %q", p)
		}
	})

	t.Run("listener sees errors", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/broken")); err != nil {
			t.Fatal(err)
		}
		// The exception is reported before the load event the navigation
		// waits for; a round trip makes sure its event was read.
		eval[int](t, ctx, `1`)
		p := strings.Join(problems.take(), "\n")
		if !strings.Contains(p, "broken") || !strings.Contains(p, "boom") {
			t.Errorf("got console problems %q, want the console.error and the exception", p)
		}
	})
}
