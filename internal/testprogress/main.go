// Command testprogress turns `go test -json` into short progress lines for
// `make test`: one line per finished top-level test, the reason of every
// skipped test, the whole output of a failed test, go test's own package
// lines (ok, FAIL, no test files) unchanged, and a "still running" line
// when nothing was printed for a while. Without it, `go test ./...` prints
// nothing until each package ends (over a minute for the race run).
//
//	go test -race -json ./... | go run ./internal/testprogress -trim example.com/mod/
//
// It exits 1 when a test or package failed, 0 otherwise; the Makefile also
// sets pipefail, so go test's own exit status counts.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("testprogress", flag.ContinueOnError)
	trim := fs.String("trim", "", "import path prefix left out of test lines (the module path and a slash)")
	quiet := fs.Duration("quiet", 30*time.Second, "after this long without output, list the tests still running")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ticker := time.NewTicker(*quiet / 3)
	defer ticker.Stop()
	f := newFilter(os.Stdout, *trim, *quiet, time.Now)
	if err := f.run(ctx, os.Stdin, ticker.C); err != nil {
		fmt.Fprintf(os.Stderr, "testprogress: %v\n", err)
		os.Exit(1)
	}
	if f.failed {
		os.Exit(1)
	}
}

// run feeds every line of r to the filter and calls tick for each value of
// ticks, until r ends or ctx is done.
func (f *filter) run(ctx context.Context, r io.Reader, ticks <-chan time.Time) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 16<<20)
		for s.Scan() {
			select {
			case lines <- s.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- s.Err()
		close(lines)
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				f.end()
				return <-errc
			}
			f.line(line)
		case <-ticks:
			f.tick()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
