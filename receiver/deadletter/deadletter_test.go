package deadletter

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/store"
	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// newLocal returns a Local over a store holding dead letters 1 and 2.
func newLocal(t *testing.T, queued func()) Local {
	t.Helper()
	st, err := bolt.OpenWith(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := store.Enqueue(st, []store.Job{{Kind: store.KindFiring, ChatID: "-1", Text: "a", Keys: []string{"ka"}},
		{Kind: store.KindFiring, ChatID: "-1", Text: "b", Keys: []string{"kb"}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range q {
		if err := st.DeadLetter(j, "forbidden", errors.New("403"), t0); err != nil {
			t.Fatal(err)
		}
	}
	return Local{Store: st, Now: func() time.Time { return t0 }, Queued: queued}
}

func bearerAuth(tok string) func() config.WebhookAuth {
	return func() config.WebhookAuth { return config.WebhookAuth{BearerToken: commoncfg.Secret(tok)} }
}

func TestHandlerGuard(t *testing.T) {
	noAuth := func() config.WebhookAuth { return config.WebhookAuth{} }
	for _, tc := range []struct {
		name, remote, authz, body string
		auth                      func() config.WebhookAuth
		path                      string
		code                      int
		want                      string
	}{
		{"loopback without auth", "127.0.0.1:4000", "", "", noAuth, "GET " + Path, 200, `"reason":"forbidden"`},
		{"remote without auth", "198.18.0.2:4000", "", "", noAuth, "GET " + Path, 403, "needs webhook_auth"},
		{"missing credentials", "127.0.0.1:4000", "", "", bearerAuth("tok"), "GET " + Path, 401, "missing or wrong"},
		{"wrong credentials", "198.18.0.2:4000", "Bearer nope", "", bearerAuth("tok"), "GET " + Path, 401, "missing or wrong"},
		{"remote with credentials", "198.18.0.2:4000", "Bearer tok", "", bearerAuth("tok"), "GET " + Path, 200, `"job"`},
		{"empty body", "127.0.0.1:4000", "", "{}", noAuth, "POST " + Path + "/retry", 400, `give either`},
		{"ids and all", "127.0.0.1:4000", "", `{"ids":[1],"all":true}`, noAuth, "POST " + Path + "/purge", 400, `give either`},
		{"unknown field", "127.0.0.1:4000", "", `{"id":[1]}`, noAuth, "POST " + Path + "/purge", 400, `unknown field`},
		{"unknown id", "127.0.0.1:4000", "", `{"ids":[9]}`, noAuth, "POST " + Path + "/purge", 404, `no such dead letter`},
		{"purge one", "127.0.0.1:4000", "", `{"ids":[2]}`, noAuth, "POST " + Path + "/purge", 200, `{"purged":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			Handler{Manager: newLocal(t, nil), Auth: tc.auth}.Register(mux)
			method, path, _ := strings.Cut(tc.path, " ")
			req := httptest.NewRequest(method, path, strings.NewReader(tc.body))
			req.RemoteAddr = tc.remote
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("got %d %s, want %d containing %q", rec.Code, rec.Body, tc.code, tc.want)
			}
			if tc.code == 401 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="downtime_receiver"` {
				t.Errorf("challenge: got %q, want the Bearer challenge", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestClient drives a Handler over a real loopback listener through Client.
func TestClient(t *testing.T) {
	woken := 0
	mux := http.NewServeMux()
	Handler{Manager: newLocal(t, func() { woken++ }), Auth: bearerAuth("tok")}.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	c := Client{URL: srv.URL + "/", Auth: bearerAuth("tok")()}
	dl, err := c.List(ctx)
	if err != nil || len(dl) != 2 || dl[0].Job.Text != "a" {
		t.Fatalf("List: got %+v, %v, want a and b", dl, err)
	}
	jobs, err := c.Retry(ctx, []uint64{1})
	if err != nil || len(jobs) != 1 || jobs[0].Text != "a" || jobs[0].ID != 3 || woken != 1 {
		t.Fatalf("Retry 1: got %+v, %v (woken %d), want a as job 3 and the worker woken", jobs, err, woken)
	}
	if _, err := c.Retry(ctx, []uint64{1}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Retry of a retried id: got %v, want 404", err)
	}
	if n, err := c.Purge(ctx, nil); err != nil || n != 1 {
		t.Errorf("Purge all: got %d, %v, want 1", n, err)
	}
	bad := Client{URL: srv.URL}
	if _, err := bad.List(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("List without credentials: got %v, want 401", err)
	}
}
