package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string // build-output events
}

// test is a running top-level test: its output so far, shown if it fails.
type test struct {
	started time.Time
	output  []string
}

// filter holds the state between lines.
type filter struct {
	w       io.Writer
	trim    string
	quiet   time.Duration
	now     func() time.Time
	running map[string]*test // key: package + " " + top-level test
	printed time.Time        // last line written
	failed  bool
}

func newFilter(w io.Writer, trim string, quiet time.Duration, now func() time.Time) *filter {
	return &filter{w: w, trim: trim, quiet: quiet, now: now, running: map[string]*test{}, printed: now()}
}

func (f *filter) print(format string, args ...any) {
	fmt.Fprintf(f.w, format, args...)
	f.printed = f.now()
}

// line handles one line of go test's output. Lines that are not JSON (go
// command errors on a shared stream) pass through.
func (f *filter) line(line string) {
	var e event
	if err := json.Unmarshal([]byte(line), &e); err != nil || e.Action == "" {
		f.print("%s\n", line)
		return
	}
	switch {
	case e.Action == "build-output":
		f.print("%s", e.Output)
	case e.Test == "":
		f.packageEvent(e)
	default:
		f.testEvent(e)
	}
}

// packageEvent prints go test's package lines ("ok  \tpkg\t1.2s", "FAIL
// pkg", "?   \tpkg\t[no test files]", panics outside a test) as they are.
func (f *filter) packageEvent(e event) {
	switch e.Action {
	case "output":
		if e.Output != "PASS\n" {
			f.print("%s", e.Output)
		}
	case "fail":
		f.failed = true
		// A test that never ended (panic, timeout) shows what it printed.
		for _, key := range f.keys(e.Package) {
			f.print("%s", strings.Join(f.running[key].output, ""))
			delete(f.running, key)
		}
	case "pass", "skip":
		for _, key := range f.keys(e.Package) {
			delete(f.running, key)
		}
	}
}

func (f *filter) testEvent(e event) {
	top, _, sub := strings.Cut(e.Test, "/")
	key := e.Package + " " + top
	t := f.running[key]
	if t == nil {
		t = &test{started: f.now()}
		f.running[key] = t
	}
	name := strings.TrimPrefix(e.Package, f.trim) + "." + e.Test
	switch e.Action {
	case "output":
		t.output = append(t.output, e.Output)
	case "skip":
		f.print("SKIP  %s%s\n", name, reason(t.output, e.Test))
	case "fail":
		if !sub {
			f.failed = true
			f.print("FAIL  %s (%.2fs)\n%s", name, e.Elapsed, strings.Join(t.output, ""))
		}
	case "pass":
		if !sub {
			f.print("PASS  %s (%.2fs)\n", name, e.Elapsed)
		}
	}
	if !sub && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
		delete(f.running, key)
	}
}

// reason is what a skipped test logged, on one line: t.Skip's message is
// the test's own output line just before "--- SKIP: <name>".
func reason(output []string, name string) string {
	var msg []string
	for i, l := range output {
		if !strings.HasPrefix(strings.TrimSpace(l), "--- SKIP: "+name+" ") {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			s := strings.TrimSpace(output[j])
			if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- ") {
				break
			}
			msg = append([]string{s}, msg...)
		}
		// test2json puts the message after the "--- SKIP" line.
		for _, m := range output[i+1:] {
			s := strings.TrimSpace(m)
			if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- ") {
				break
			}
			msg = append(msg, s)
		}
	}
	if len(msg) == 0 {
		return ""
	}
	return ": " + strings.Join(msg, " ")
}

// tick lists the tests still running when nothing was printed for f.quiet.
func (f *filter) tick() {
	now := f.now()
	if now.Sub(f.printed) < f.quiet || len(f.running) == 0 {
		return
	}
	var names []string
	for _, key := range f.keys("") {
		pkg, name, _ := strings.Cut(key, " ")
		names = append(names, fmt.Sprintf("%s.%s (%v)", strings.TrimPrefix(pkg, f.trim), name,
			now.Sub(f.running[key].started).Round(time.Second)))
	}
	f.print("...   running: %s\n", strings.Join(names, ", "))
}

// end is called when go test's output ends.
func (f *filter) end() {
	for _, key := range f.keys("") {
		f.failed = true
		f.print("%s", strings.Join(f.running[key].output, ""))
	}
	f.running = map[string]*test{}
}

// keys lists the running tests of pkg (all with ""), sorted.
func (f *filter) keys(pkg string) []string {
	var keys []string
	for k := range f.running {
		if pkg == "" || strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
