package main

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// processTimeout is the heartbeat timeout of the process tests
// (--heartbeat.test-timeout): short enough to run in seconds, long enough
// that a loaded machine does not stall the heartbeat posts (every
// beatEvery) for that long.
const (
	processTimeout = 4 * time.Second
	beatEvery      = 200 * time.Millisecond
)

// beater plays Alertmanager's Watchdog route: it posts a heartbeat to the
// receiver it points at every beatEvery, and ignores refusals (a killed
// receiver).
type beater struct {
	mu     sync.Mutex // held during a post: pause waits for the one in flight
	url    string     // "": paused
	last   time.Time  // when the last accepted heartbeat was answered
	n      int        // accepted heartbeats
	start  time.Time  // the Watchdog's StartsAt
	notify chan struct{}
}

func startBeater(t *testing.T) *beater {
	b := &beater{start: time.Now().Add(-time.Hour), notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(beatEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			b.beat()
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b
}

func (b *beater) beat() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.url == "" {
		return
	}
	if r := postQuiet(b.url+"/webhook", watchdogBody(b.start)); r.ok {
		b.last, b.n = time.Now(), b.n+1
		select {
		case b.notify <- struct{}{}:
		default:
		}
	}
}

// to points the beater at a receiver; pause ("" ) returns once no post is
// in flight, so no heartbeat arrives after it.
func (b *beater) to(url string) {
	b.mu.Lock()
	b.url = url
	b.mu.Unlock()
}

func (b *beater) pause() time.Time {
	b.to("")
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func (b *beater) state() (int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.last
}

// waitUntil waits until the receiver accepted heartbeats up to at least
// until (counted by the test's clock); it fails after timeout.
func (b *beater) waitUntil(t *testing.T, until time.Time, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(time.Until(until) + timeout)
	defer deadline.Stop()
	for {
		if _, last := b.state(); !last.Before(until) {
			return
		}
		select {
		case <-b.notify:
		case <-deadline.C:
			n, last := b.state()
			t.Fatalf("heartbeats: %d accepted, the last at %v, want one accepted after %v", n, last, until)
		}
	}
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestHeartbeatKill9 runs the receiver as a process with a 4 s heartbeat
// timeout, heartbeats posted by the test, and kills it with SIGKILL twice,
// on bbolt and on PostgreSQL:
//
//   - killed while heartbeats flow and restarted after a downtime longer
//     than the timeout: the restart is not a silence (no warning while
//     heartbeats keep coming);
//   - heartbeats stop: the warning, once, after they stopped;
//   - killed after the warning was sent, restarted, still silent: no second
//     warning; heartbeats resume: "monitoring is back" once, as a reply to
//     the warning.
//
// Every wait is for a condition with a generous deadline. The windows the
// test leaves for a wrong message (two timeouts) only make a bug visible:
// a message that should not exist is counted at the end however late it
// came, since the "back" reply is queued after it.
func TestHeartbeatKill9(t *testing.T) {
	t.Parallel()
	for _, storage := range []string{"bbolt", "postgresql"} {
		t.Run(storage, func(t *testing.T) {
			t.Parallel()
			tg := telegramtest.NewServer(t, testToken)
			var env []string
			args := []string{"--config.file=" + writeConfig(t, "-100", ""), "--telegram.api-url=" + tg.URL,
				"--heartbeat.test-timeout=" + processTimeout.String()}
			if storage == "bbolt" {
				args = append(args, "--storage.path="+t.TempDir())
			} else {
				env = []string{envStorageURL + "=" + pgtest.DB(t)}
			}
			testHeartbeatKill9(t, tg, env, args)
		})
	}
}

func testHeartbeatKill9(t *testing.T, tg *telegramtest.Server, env, args []string) {
	const wait = 60 * time.Second // for anything that should happen within seconds
	b := startBeater(t)
	cmd, url, _ := startProcessEnv(t, env, args...)
	b.to(url)
	b.waitUntil(t, time.Now().Add(time.Second), wait)

	// kill -9 while heartbeats are fine; down for two timeouts.
	kill9(t, cmd)
	_, last := b.state()
	time.Sleep(time.Until(last.Add(2 * processTimeout)))
	cmd, url, _ = startProcessEnv(t, env, args...)
	restarted := time.Now()
	b.to(url)
	b.waitUntil(t, restarted.Add(2*processTimeout), wait)
	if msgs := tg.Messages(); len(msgs) != 0 {
		t.Fatalf("restart after %v down, heartbeats flowing for two timeouts: got %d messages, first %q, want none",
			restarted.Sub(last).Round(time.Millisecond), len(msgs), msgs[0].Plain)
	}

	// Heartbeats stop: one warning, after they stopped.
	stopped := b.pause()
	warning := tg.WaitMessages(t, 1, wait)[0]
	if !strings.HasPrefix(warning.Plain, "⚠️ no heartbeat from Alertmanager since") || warning.ChatID != "-100" {
		t.Errorf("warning: got %q to %s, want \"⚠️ no heartbeat from Alertmanager since\" to -100", warning.Plain, warning.ChatID)
	}
	if warning.At.Before(stopped) {
		t.Errorf("warning sent at %v, before the heartbeats stopped at %v", warning.At, stopped)
	}
	settle(t, url) // the warning and its message id are committed

	// kill -9 during the silence; the successor stays silent for two
	// timeouts, then heartbeats resume.
	kill9(t, cmd)
	_, url, out := startProcessEnv(t, env, args...)
	time.Sleep(2 * processTimeout) // a window for a wrong second warning (counted below)
	b.to(url)
	msgs := tg.WaitMessages(t, 2, wait)
	back := msgs[1]
	if !strings.HasPrefix(back.Plain, "✅ monitoring is back after") || back.ReplyTo != warning.MessageID {
		t.Errorf("second message: got %q replying to %d, want \"✅ monitoring is back after\" replying to the warning %d",
			back.Plain, back.ReplyTo, warning.MessageID)
	}
	b.waitUntil(t, time.Now().Add(time.Second), wait)
	settle(t, url)
	if msgs := tg.Messages(); len(msgs) != 2 {
		var texts []string
		for _, m := range msgs {
			texts = append(texts, m.Plain)
		}
		t.Errorf("messages: got %d %q, want the warning and the reply", len(msgs), texts)
	}
	if !strings.Contains(out.String(), "heartbeats are back") {
		t.Errorf("the restarted receiver's log does not say heartbeats are back")
	}
}
