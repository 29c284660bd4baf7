package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestFilter replays recorded `go test -json` streams (testdata/*.json)
// and compares the lines printed with testdata/*.golden.
func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wantFailed bool
	}{
		{"mixed", true},      // pass, skip, skipped subtest, failed subtest, package lines
		{"unfinished", true}, // stream ends inside a test: its output is shown
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			f := newFilter(&out, "example.com/tp/", time.Minute, fixedClock())
			if err := f.run(context.Background(), bytes.NewReader(in), nil); err != nil {
				t.Fatalf("run: %v", err)
			}
			if f.failed != tc.wantFailed {
				t.Errorf("got failed %v, want %v", f.failed, tc.wantFailed)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("got\n%s\nwant (%s)\n%s", out.String(), golden, want)
			}
		})
	}
}

// TestFilterOK: a passing stream keeps go test's "ok" lines and is not a failure.
func TestFilterOK(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"m/p","Test":"TestA"}`,
		`{"Action":"output","Package":"m/p","Test":"TestA","Output":"--- PASS: TestA (1.50s)\n"}`,
		`{"Action":"pass","Package":"m/p","Test":"TestA","Elapsed":1.5}`,
		`{"Action":"output","Package":"m/p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"m/p","Output":"ok  \tm/p\t1.6s\n"}`,
		`{"Action":"pass","Package":"m/p","Elapsed":1.6}`,
	}, "\n")
	var out bytes.Buffer
	f := newFilter(&out, "m/", time.Minute, fixedClock())
	if err := f.run(context.Background(), strings.NewReader(in), nil); err != nil {
		t.Fatalf("run: %v", err)
	}
	if want := "PASS  p.TestA (1.50s)\nok  \tm/p\t1.6s\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if f.failed {
		t.Errorf("got failed, want not")
	}
}

// TestTick: after quiet time without output the running tests are listed,
// once per quiet period, and not while lines keep coming.
func TestTick(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	f := newFilter(&out, "m/", 30*time.Second, func() time.Time { return now })
	f.line(`{"Action":"run","Package":"m/e2e","Test":"TestPipeline"}`)
	f.line(`{"Action":"run","Package":"m/e2e","Test":"TestPipeline/prometheus-3"}`)
	now = now.Add(20 * time.Second)
	f.tick()
	if out.Len() != 0 {
		t.Fatalf("got %q after 20 s, want nothing before 30 s", out.String())
	}
	now = now.Add(15 * time.Second)
	f.tick()
	if want := "...   running: e2e.TestPipeline (35s)\n"; out.String() != want {
		t.Fatalf("got %q after 35 s, want %q", out.String(), want)
	}
	out.Reset()
	now = now.Add(10 * time.Second)
	f.tick()
	if out.Len() != 0 {
		t.Errorf("got %q 10 s after the last line, want nothing", out.String())
	}
}

// fixedClock never moves: no "running" lines in replays.
func fixedClock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return t }
}
