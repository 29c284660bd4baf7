package webhook

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/receiver/store/bolt"
)

// BenchmarkWebhook measures one accepted notification (decode, plan, render
// stub, one fsync'd bbolt transaction) with a new alert each time.
func BenchmarkWebhook(b *testing.B) {
	st, err := bolt.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := New(Options{Store: st, Router: testRouter{}, Renderer: testRenderer{}})
	i := 0
	for b.Loop() {
		i++
		req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(payload("firing", alert("firing", fmt.Sprint("fp", i)))))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("got %d, want 200", rec.Code)
		}
	}
}
