package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/receiver/store"
)

// realStoreFile makes a real store file with queued jobs, alert states,
// keys and a dead letter, and returns its bytes.
func realStoreFile(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenWith(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []store.Job
	for i := range 300 {
		jobs = append(jobs, storetestJob(store.KindFiring, fmt.Sprintf("host-%03d %s", i, strings.Repeat("x", 200)), fmt.Sprint("k", i)))
	}
	q, err := store.Enqueue(s, jobs, t0)
	if err != nil || len(q) != len(jobs) {
		t.Fatalf("Enqueue: got %d jobs, %v", len(q), err)
	}
	if err := s.DeadLetter(q[0], "forbidden", errors.New("403"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// damage returns copies of a real store file damaged in the ways a disk, a
// full file system or a careless copy damage them.
func damage(t *testing.T, good []byte) map[string][]byte {
	t.Helper()
	ps := os.Getpagesize()
	if len(good) < 8*ps {
		t.Fatalf("store file: got %d bytes, want at least 8 pages for the test", len(good))
	}
	flip := func(at func(b []byte) []int) []byte {
		b := bytes.Clone(good)
		for _, i := range at(b) {
			b[i] ^= 0xff
		}
		return b
	}
	return map[string][]byte{
		"zero length":            {},
		"truncated to half":      good[:len(good)/2],
		"truncated to two pages": good[:2*ps],
		"truncated mid-page":     good[:len(good)-ps/2],
		"page headers flipped": flip(func(b []byte) []int { // the type flags of every data page
			var at []int
			for off := 2 * ps; off < len(b); off += ps {
				at = append(at, off+8)
			}
			return at
		}),
		"records flipped": flip(func(b []byte) []int { // the first byte of every JSON record
			var at []int
			for i := 0; i+1 < len(b); i++ {
				if b[i] == '{' && b[i+1] == '"' {
					at = append(at, i)
				}
			}
			return at
		}),
		"both meta pages flipped": flip(func([]byte) []int { return []int{32, ps + 32} }),
	}
}

// Open refuses a damaged store file with an error that names the file and
// says what to do, and never crashes, whatever the damage.
func TestOpenDamaged(t *testing.T) {
	good := realStoreFile(t)
	for name, b := range damage(t, good) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err == nil {
				s.Close()
				t.Fatalf("Open of a damaged store (%s) succeeded, want an error", name)
			}
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("got %v, want ErrDamaged", err)
			}
			for _, w := range []string{path, "move the file aside", "may be lost"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
				t.Errorf("Open changed the damaged file (%d bytes, was %d)", len(after), len(b))
			}
		})
	}
	t.Run("undamaged copy", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), good, 0o600); err != nil {
			t.Fatal(err)
		}
		s := openDir(t, dir)
		if p, err := s.Pending(0); err != nil || len(p) != 299 {
			t.Errorf("pending: got %d jobs, %v, want 299", len(p), err)
		}
	})
}
