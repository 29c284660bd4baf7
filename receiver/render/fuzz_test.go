package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// FuzzRender renders random label and annotation strings with the built-in
// templates: every message must fit Telegram's limit, be well-formed HTML and
// carry each alert exactly once, up to the flood cap (ResolvedEdit: one
// message).
func FuzzRender(f *testing.F) {
	f.Add("db1", "job", "ping", "host is down", uint8(1), uint8(0), uint16(0))
	f.Add(`<script>alert("x")</script>`, "team", `R&D "core" <ops>`, "5 < 6 && 7 > 3", uint8(3), uint8(1), uint16(2000))
	f.Add("🔥👩‍👩‍👧", "a<b", "&amp;&lt;", "\xff\xfe\x00", uint8(40), uint8(4), uint16(5000))
	f.Add(strings.Repeat("long-host.", 50), "blob", strings.Repeat("x<&>", 100), strings.Repeat("🔥", 300), uint8(200), uint8(2), uint16(300))
	f.Add("", "", "", "", uint8(0), uint8(3), uint16(0))
	r, err := New(config.Templates{}, time.UTC, "")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 19, 2, 11, 0, time.UTC)
	f.Fuzz(func(t *testing.T, host, key, value, summary string, n, kind uint8, repeat uint16) {
		count := int(n)%100 + 1
		alerts := make([]amtemplate.Alert, count)
		for i := range alerts {
			alerts[i] = amtemplate.Alert{
				Status:      []string{"firing", "resolved"}[i%2],
				Labels:      amtemplate.KV{"target": host, key: value, "alertname": summary},
				Annotations: amtemplate.KV{"summary": summary, key: strings.Repeat(value, int(repeat)%64), ForKey: value, SinceKey: value},
				StartsAt:    now.Add(-time.Duration(i) * time.Minute),
				EndsAt:      now.Add(time.Duration(repeat) * time.Second),
			}
		}
		if repeat > 1000 { // one huge value, bounded so the fuzzer does not run out of memory
			alerts[0].Labels["huge"] = strings.Repeat(value+"<&>", min(int(repeat), 50000/(len(value)+3)))
		}
		k := Kinds[int(kind)%len(Kinds)]
		msgs, err := r.Render(Data{Kind: k, Alerts: alerts, Now: now, Reminder: 1, Reminders: 3})
		if err != nil {
			t.Fatal(err)
		}
		// Past the flood cap (flood.go) the alerts left out are in no
		// message; the last one says how many.
		shown := 0
		for _, m := range msgs {
			shown += len(m.Alerts)
		}
		if shown < count {
			more := fmt.Sprintf("… and %d more ", count-shown)
			if len(msgs) != MaxMessages || !strings.Contains(msgs[len(msgs)-1].Text, more) {
				t.Errorf("%d of %d alerts shown: got %d messages, want %d, the last saying %q", shown, count, len(msgs), MaxMessages, more)
			}
		}
		checkMessages(t, msgs, shown)
		if k == ResolvedEdit && len(msgs) != 1 {
			t.Errorf("resolved_edit: got %d messages, want 1", len(msgs))
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = valid
	}{
		{"plain text", ""},
		{"<b>bold</b> <i>it</i> <s>x</s> <code>c</code> <pre>p</pre>", ""},
		{`<a href="https://example.com/?a=1&amp;b=2">link</a>`, ""},
		{"&lt;&gt;&amp;&quot;&#39;&#x1F525;", ""},
		{"<b><i>nested</i></b>", ""},
		{"<B>upper</b> <a href='x'>single</a> <a href=x>bare</a>", ""},
		{"<tg-spoiler>s</tg-spoiler> <blockquote>q</blockquote>", ""},
		{"a < b", "offset 2: bad tag or bare '<'"},
		{"a > b", "offset 2: bare '>'"},
		{"a & b", "offset 2: bare '&' or unknown entity"},
		{"&nbsp;", "offset 0: bare '&' or unknown entity"},
		{"<script>x</script>", "offset 0: bad tag or bare '<'"},
		{"<b>open", "unclosed <b>"},
		{"<b><i>x</b></i>", "offset 7: unexpected </b>"},
		{"</b>", "offset 0: unexpected </b>"},
		{"bad \xff", "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := Validate(tt.in)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestValidateLikeTelegram: Validate refuses every text Telegram refuses
// (telegramtest.HTMLCases, read from tdlib's parser), so a template that
// passes --config.check is not refused by Telegram.
func TestValidateLikeTelegram(t *testing.T) {
	for _, tc := range telegramtest.HTMLCases {
		t.Run(tc.Name, func(t *testing.T) {
			err := Validate(tc.HTML)
			if tc.Telegram != "" && err == nil {
				t.Fatalf("Validate(%q): got no error, want one (Telegram: %s)", tc.HTML, tc.Telegram)
			}
			if got := err == nil; got != tc.Valid {
				t.Errorf("Validate(%q): got error %v, want valid %v", tc.HTML, err, tc.Valid)
			}
		})
	}
}

// FuzzValidate: whatever Validate accepts, the fake's tdlib-like parser
// accepts too.
func FuzzValidate(f *testing.F) {
	for _, tc := range telegramtest.HTMLCases {
		f.Add(tc.HTML)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Validate(s) != nil {
			return
		}
		if _, _, err := telegramtest.ParseHTML(s); err != nil {
			t.Errorf("Validate(%q) = nil, but Telegram's parser says %v", s, err)
		}
	})
}

func TestPlainTruncate(t *testing.T) {
	in := "<b>" + strings.Repeat("a&amp;🔥", 100) + "</b>"
	for _, limit := range []int{1, 2, 5, 6, 7, 50, 4096} {
		got := plainTruncate(in, limit)
		if Length(got) > limit {
			t.Errorf("limit %d: got length %d", limit, Length(got))
		}
		if err := Validate(got); err != nil {
			t.Errorf("limit %d: got invalid %q: %v", limit, got, err)
		}
	}
}
