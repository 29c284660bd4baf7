package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/internal/pgtest"
	"github.com/downtime-detector/downtime/receiver/ha"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// The burst: burstNotifications notifications of burstAlerts alerts each
// (burstNotifications*burstAlerts alerts, one message per notification),
// spread over burstChats private chats (1 message/s each) so it takes
// about burstNotifications/burstChats seconds to send.
const (
	burstNotifications = 60
	burstAlerts        = 5
	burstChats         = 4
	burstGap           = 40 * time.Millisecond // between notifications
)

// killDelay is how long after a message the sender is killed: half the
// per-chat pacing interval, between two rounds of sends.
const killDelay = 500 * time.Millisecond

const leaderSeries = `downtime_receiver_leader{role="sender"}`

// burstConfig routes /webhook/c<i> to chat 500<i>.
func burstConfig(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("routes:\n")
	for c := range burstChats {
		fmt.Fprintf(&b, "  - name: c%d\n    chat_id: \"500%d\"\n", c, c)
	}
	return writeConfig(t, "4242", b.String())
}

// burstNotification is notification n: its route and its alerts' hosts.
func burstNotification(n int, start time.Time) (route, payload string, hosts []string) {
	var alerts []template.Alert
	for a := range burstAlerts {
		h := fmt.Sprintf("h%03d", n*burstAlerts+a)
		hosts = append(hosts, h)
		alerts = append(alerts, hostAlert("firing", h, start))
	}
	payload = strings.Replace(body("firing", alerts...), `"groupKey":"{}:{}"`, fmt.Sprintf(`"groupKey":"{}:{n=\"%d\"}"`, n), 1)
	return fmt.Sprintf("c%d", n%burstChats), payload, hosts
}

// startProcessEnv is startProcess with extra environment variables.
func startProcessEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnv(env, append(args, "--web.listen-address="+addr, "--log.level=debug")...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		checkNoSecret(t, "process output", out.String())
	})
	waitReady(t, "http://"+addr)
	return cmd, "http://" + addr, out
}

// postResult is one webhook answer: ok with how many jobs it queued, or
// failed (the receiver was killed).
type postResult struct {
	ok     bool
	queued int
}

var (
	queuedRE = regexp.MustCompile(`"queued":(\d+)`)
	hostRE   = regexp.MustCompile(`\bh\d{3}\b`)
)

// postQuiet posts without failing the test: a killed receiver refuses.
func postQuiet(url, payload string) postResult {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(payload))
	if err != nil {
		return postResult{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return postResult{}
	}
	m := queuedRE.FindStringSubmatch(string(b))
	if m == nil {
		return postResult{}
	}
	var n int
	fmt.Sscan(m[1], &n)
	return postResult{ok: true, queued: n}
}

// deliveredOnce checks that every host is in exactly one message, except
// those of at most one message sent twice: the one the killed process had
// sent when it died, before recording it (Telegram accepted it, the commit
// did not happen). Messages accepted before cut come from the killed
// process, the others from its successor; the only message that can have
// been in flight at the kill is the last one accepted before cut.
func deliveredOnce(t *testing.T, tg *telegramtest.Server, hosts []string, cut time.Time) {
	t.Helper()
	msgs := tg.Messages()
	var lastBefore *telegramtest.Sent
	byText := map[string]int{}
	for i := range msgs {
		if msgs[i].At.Before(cut) {
			lastBefore = &msgs[i]
		}
		byText[msgs[i].Text]++
	}
	var dup []string
	for text, n := range byText {
		if n > 1 {
			dup = append(dup, text)
		}
	}
	switch {
	case len(dup) == 0:
		t.Logf("no duplicate: the kill did not land between a send and its commit")
	case len(dup) == 1 && byText[dup[0]] == 2 && lastBefore != nil && lastBefore.Text == dup[0]:
		t.Logf("1 duplicate, the message in flight at the kill (accepted by Telegram at %s, not committed): %.60q",
			lastBefore.At.Format("15:04:05.000"), lastBefore.Plain)
	default:
		t.Errorf("%d message(s) sent more than once (at most the one in flight at the kill may be): %q", len(dup), dup)
	}
	if len(msgs) != burstNotifications+len(dup) {
		t.Errorf("messages: got %d, want %d (one per notification) plus %d duplicate(s)", len(msgs), burstNotifications, len(dup))
	}
	count := map[string]int{}
	counted := map[string]bool{}
	for _, m := range msgs {
		if counted[m.Text] {
			continue // the allowed duplicate's second copy
		}
		counted[m.Text] = true
		in := map[string]bool{}
		for _, h := range hostRE.FindAllString(m.Plain, -1) {
			in[h] = true
		}
		for h := range in {
			count[h]++
		}
	}
	for _, h := range hosts {
		if count[h] != 1 {
			t.Errorf("host %s: in %d messages, want 1", h, count[h])
		}
	}
	if n := tg.TooManyRequests(); n != 0 {
		t.Errorf("Telegram answered 429 %d times, want 0: pacing broken", n)
	}
}

// waitAllHosts waits until every host is in some message.
func waitAllHosts(t *testing.T, tg *telegramtest.Server, hosts []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var all strings.Builder
		for _, m := range tg.Messages() {
			all.WriteString(m.Plain + "\n")
		}
		missing := 0
		for _, h := range hosts {
			if !strings.Contains(all.String(), h) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d hosts in no message after %v", missing, len(hosts), timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two receivers on one PostgreSQL, every notification of a burst posted to
// both (Alertmanager with two webhook_configs, or an HA pair), the sender
// killed -9 in the middle: the other takes over within the lease TTL and
// every alert is in exactly one message, with Telegram's pacing kept.
func TestHATwoReceiversKillSender(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DB(t)
	tg := telegramtest.NewServer(t, testToken)
	env := []string{envStorageURL + "=" + dsn}
	args := []string{"--config.file=" + burstConfig(t), "--telegram.api-url=" + tg.URL}
	cmds, urls, outs := [2]*exec.Cmd{}, [2]string{}, [2]*syncBuffer{}
	for i := range 2 {
		cmds[i], urls[i], outs[i] = startProcessEnv(t, env, args...)
	}
	pw := pgtest.Shared(t).Password()
	t.Cleanup(func() {
		for i, o := range outs {
			if strings.Contains(o.String(), pw) {
				t.Errorf("receiver %d output contains the PostgreSQL password", i)
			}
		}
	})
	leader := waitLeader(t, urls[:], -1)

	start := time.Now().Add(-time.Minute)
	var hosts []string
	results := make([][2]postResult, burstNotifications)
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := range burstNotifications {
			route, payload, _ := burstNotification(n, start)
			var pw sync.WaitGroup
			for i := range 2 {
				pw.Go(func() { results[n][i] = postQuiet(urls[i]+"/webhook/"+route, payload) })
			}
			pw.Wait()
			time.Sleep(burstGap)
		}
	})
	for n := range burstNotifications {
		_, _, h := burstNotification(n, start)
		hosts = append(hosts, h...)
	}
	// Kill the sender once it is well into the burst (the posts go on), at
	// a moment not tied to a send (killing right after a message arrived
	// would land in the accept-to-commit window on purpose).
	tg.WaitMessages(t, 2*burstChats, 20*time.Second)
	time.Sleep(killDelay)
	killed := time.Now()
	if err := cmds[leader].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmds[leader].Wait()
	sentBefore := len(tg.Messages())
	survivor := 1 - leader
	waitLeader(t, urls[survivor:survivor+1], 30*time.Second)
	takeover := time.Since(killed)
	wg.Wait()

	waitAllHosts(t, tg, hosts, 90*time.Second)
	settle(t, urls[survivor])
	t.Logf("killed the sender after %d of %d messages; the other took over after %v (lease TTL %v, renew %v)",
		sentBefore, burstNotifications, takeover.Round(100*time.Millisecond), ha.DefaultTTL, ha.DefaultRenew)
	if max := ha.DefaultTTL + ha.DefaultRenew + 5*time.Second; takeover > max {
		t.Errorf("takeover after %v, want within %v (TTL + renew + slack)", takeover, max)
	}
	// Messages before the kill (plus a margin for a request already on its
	// way) come from the killed process: its successor cannot start
	// before the lease expires, at least TTL-renew after the kill.
	deliveredOnce(t, tg, hosts, killed.Add(ha.DefaultTTL-ha.DefaultRenew-time.Second))
	for n, r := range results {
		if !r[survivor].ok {
			t.Errorf("notification %d: the surviving receiver did not accept it", n)
		}
		if r[0].ok && r[1].ok && r[0].queued+r[1].queued != 1 {
			t.Errorf("notification %d: queued %d by one receiver and %d by the other, want 1 in all", n, r[0].queued, r[1].queued)
		}
	}
	if !strings.Contains(outs[survivor].String(), "took the lease") {
		t.Errorf("survivor's log does not say it took the lease")
	}
}

// The same burst on bbolt: one receiver given every notification twice
// (two webhook_configs to the same receiver), killed -9 in the middle and
// restarted on the same --storage.path.
func TestBurstKillRestartBolt(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, testToken)
	args := []string{"--config.file=" + burstConfig(t), "--telegram.api-url=" + tg.URL, "--storage.path=" + t.TempDir()}
	cmd, url, _ := startProcessEnv(t, nil, args...)
	if got := metric(t, url, leaderSeries); got != "1" {
		t.Errorf("bbolt: %s = %q, want 1 (always the leader)", leaderSeries, got)
	}
	start := time.Now().Add(-time.Minute)
	var hosts []string
	for n := range burstNotifications {
		route, payload, h := burstNotification(n, start)
		hosts = append(hosts, h...)
		r := [2]postResult{postQuiet(url+"/webhook/"+route, payload), postQuiet(url+"/webhook/"+route, payload)}
		if !r[0].ok || !r[1].ok || r[0].queued+r[1].queued != 1 {
			t.Fatalf("notification %d posted twice: got %+v, want both accepted and queued once", n, r)
		}
	}
	tg.WaitMessages(t, 2*burstChats, 20*time.Second)
	time.Sleep(killDelay)
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	sentBefore := len(tg.Messages())
	restarted := time.Now() // every message before comes from the killed process
	_, url, _ = startProcessEnv(t, nil, args...)
	waitAllHosts(t, tg, hosts, 90*time.Second)
	settle(t, url)
	t.Logf("killed after %d of %d messages, restarted %v later", sentBefore, burstNotifications, restarted.Sub(killed).Round(time.Millisecond))
	deliveredOnce(t, tg, hosts, restarted)
}

// waitLeader waits until exactly one of urls reports holding the sender
// lease (want -1: any of them) and returns its index.
func waitLeader(t *testing.T, urls []string, timeout time.Duration) int {
	t.Helper()
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		leaders := []int{}
		for i, u := range urls {
			if metric(t, u, leaderSeries) == "1" {
				leaders = append(leaders, i)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d receivers hold the sender lease at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receiver took the sender lease within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PostgreSQL refusing connections: the webhook answers 500, so that
// Alertmanager retries it; once the database is back the retry is queued
// and sent once. The password shows up in no log line.
func TestPostgresDownAnswers5xx(t *testing.T) {
	dsn := pgtest.DB(t)
	cluster := pgtest.Shared(t)
	tg := telegramtest.NewServer(t, testToken)
	opts := newOptions(t, writeConfig(t, "4242", ""), "", tg.URL)
	opts.storage.url = dsn
	r := startReceiver(t, opts)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, cluster.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, err := neturl.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", db, on)); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	defer allow(true)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
		strings.TrimPrefix(u.Path, "/")); err != nil {
		t.Fatal(err)
	}
	payload := body("firing", hostAlert("firing", "db1", time.Now()))
	if code, resp := post(t, r.url+"/webhook", payload); code != 500 {
		t.Errorf("webhook with PostgreSQL down: got %d %s, want 500 (Alertmanager retries)", code, resp)
	}
	if got := metric(t, r.url, `downtime_receiver_webhook_requests_total{code="500"}`); got != "1" {
		t.Errorf("/metrics with PostgreSQL down: webhook 500s = %q, want 1 (served without the queue gauges)", got)
	}
	allow(true)
	// Alertmanager retries until the receiver accepts: the pool may still
	// hand out a connection that died with the database.
	var code int
	var resp string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, resp = post(t, r.url+"/webhook", payload); code == 200 {
			break
		}
	}
	if code != 200 || !strings.Contains(resp, `"queued":1`) {
		t.Errorf("the retry once PostgreSQL is back: got %d %s, want 200 with 1 queued", code, resp)
	}
	tg.WaitMessages(t, 1, 30*time.Second)
	settle(t, r.url)
	if n := len(tg.Messages()); n != 1 {
		t.Errorf("messages: got %d, want 1", n)
	}
	if logs := r.logs.String(); strings.Contains(logs, cluster.Password()) {
		t.Errorf("logs contain the PostgreSQL password")
	} else if !strings.Contains(logs, "webhook failed") {
		t.Errorf("logs do not report the failed webhook:\n%s", logs)
	}
}
