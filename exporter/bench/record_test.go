package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	begin = "<!-- bench: latest run, written by exporter/bench/record.sh -->"
	end   = "<!-- bench: end of latest run -->"
)

// record runs record.sh on a results directory holding the given files and
// on a BENCHMARKS.md holding doc; it returns the file afterwards, the
// script's stderr and whether it succeeded.
func record(t *testing.T, results map[string]string, doc string, times int) (string, string, bool) {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "results")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range results {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(tmp, "BENCHMARKS.md")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	ok := true
	for range times {
		cmd := exec.Command("bash", "record.sh", dir, file)
		cmd.Stderr = &stderr
		ok = ok && cmd.Run() == nil
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(got), stderr.String(), ok
}

func TestRecord(t *testing.T) {
	table := "| exporter | N |\n|---|---|\n| downtime | 10000 |\n\nmachine: 2 cores\n"
	pipeline := "# pipeline.sh 2026-12-01T09:34:51Z\n\n| run | N |\n|---|---|\n| big | 100000 |\n"
	doc := "# Benchmarks\n\nintro\n\n" + begin + "\nold run\n" + end + "\n\n## Earlier runs\n\nby hand\n"
	for _, tc := range []struct {
		name    string
		results map[string]string
		doc     string
		times   int
		ok      bool
		want    []string // in the file afterwards, in this order
		notWant []string
		errWant string
	}{
		{
			name: "replaces the latest run", results: map[string]string{"table.md": table, "pipeline.md": pipeline},
			doc: doc, times: 1, ok: true,
			want:    []string{"intro", begin, "| downtime | 10000 |", "machine: 2 cores", "pipeline.sh, started 2026-12-01T09:34:51Z", "| big | 100000 |", end, "## Earlier runs", "by hand"},
			notWant: []string{"old run", "# pipeline.sh"},
		},
		{
			name: "twice: one run", results: map[string]string{"table.md": table, "pipeline.md": pipeline},
			doc: doc, times: 2, ok: true,
			want: []string{begin, "| downtime | 10000 |", "| big | 100000 |", end, "by hand"},
		},
		{
			name: "without pipeline.sh", results: map[string]string{"table.md": table},
			doc: doc, times: 1, ok: true,
			want:    []string{begin, "| downtime | 10000 |", end},
			notWant: []string{"pipeline.sh, started", "old run"},
		},
		{
			name: "no markers", results: map[string]string{"table.md": table},
			doc: "# Benchmarks\n\nby hand\n", times: 1,
			want: []string{"by hand"}, notWant: []string{"downtime"}, errWant: `must hold the line "` + begin + `" exactly once`,
		},
		{
			name: "marker twice", results: map[string]string{"table.md": table},
			doc: doc + begin + "\n", times: 1,
			want: []string{"old run"}, notWant: []string{"| downtime"}, errWant: "exactly once",
		},
		{
			name: "markers swapped", results: map[string]string{"table.md": table},
			doc: end + "\nold run\n" + begin + "\n", times: 1,
			want: []string{"old run"}, notWant: []string{"| downtime"}, errWant: "must come before",
		},
		{
			name: "not a results directory", results: map[string]string{"other.txt": "x"},
			doc: doc, times: 1,
			want: []string{"old run"}, errWant: "table.md is missing or empty",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, stderr, ok := record(t, tc.results, tc.doc, tc.times)
			if ok != tc.ok {
				t.Fatalf("succeeded: got %v, want %v; stderr:\n%s", ok, tc.ok, stderr)
			}
			if !strings.Contains(stderr, tc.errWant) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tc.errWant)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("file: %q missing or out of order; file:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("file: got %q in it, want not; file:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "| downtime | 10000 |"); n > 1 {
				t.Errorf("file: the run %d times, want once", n)
			}
		})
	}
}
