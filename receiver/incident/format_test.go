package incident

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"github.com/downtime-detector/downtime/internal/golden"
	"testing"
	"time"
)

func formatFixture() []Incident {
	return []Incident{
		{
			ID: 3, Key: Key{Route: "ops", Fingerprint: "c3"}, Target: "nas.example.lan", AlertName: "HostDown",
			Labels: map[string]string{"alertname": "HostDown", "target": "nas.example.lan", "job": "ping"},
			Start:  at(-1.25), AcknowledgedBy: "@alice",
			Messages: []MessageRef{{ChatID: -1001234567890, MessageID: 42}},
		},
		{
			ID: 2, Key: Key{Route: "ops", Fingerprint: "b2"}, Target: "=HYPERLINK(\"x\")", AlertName: "HostDown",
			Labels: map[string]string{"alertname": "HostDown", "note": "<script>alert(1)</script>\nnext"},
			Start:  at(-5), End: at(-4.5), SilencedBy: "@bob",
		},
		{
			ID: 1, Key: Key{Route: "family", Fingerprint: "a1"}, Target: "printer", AlertName: "HostDown",
			Start: at(-30), End: at(-2),
		},
	}
}

func TestWriteGolden(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, formatFixture(), f, at(0), berlin); err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, "incidents."+string(f), buf.Bytes())
		})
	}
}

func TestWriteParses(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, formatFixture(), FormatCSV, at(0), time.UTC); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if len(rows) != 4 || rows[1][7] != "4500" || rows[2][2] != `'=HYPERLINK("x")` || rows[1][6] != "" {
		t.Errorf("got rows %q, want header + 3, open one lasting 4500s with no end, formula quoted", rows)
	}
	buf.Reset()
	if err := Write(&buf, nil, FormatJSON, at(0), time.UTC); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if err := json.Unmarshal(buf.Bytes(), &recs); err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("empty JSON: got %q (%v), want []", buf.String(), err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "json", "csv"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q): got %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || err.Error() != `unknown output format "yaml": want table, json or csv` {
		t.Errorf("ParseFormat(yaml): got %v", err)
	}
}

func TestParseTime(t *testing.T) {
	now := at(0)
	for _, tc := range []struct {
		in, want, err string
	}{
		{"24h", "2026-11-23T12:00:00Z", ""},
		{"7d", "2026-11-17T12:00:00Z", ""},
		{"1w", "2026-11-17T12:00:00Z", ""},
		{"90m", "2026-11-24T10:30:00Z", ""},
		{"2026-11-01T00:00:00+01:00", "2026-10-31T23:00:00Z", ""},
		{"0s", "", "duration must be positive"},
		{"yesterday", "", `want a duration before now ("24h", "7d") or an RFC 3339 time ("2026-11-01T00:00:00Z")`},
		{"2026-11-01", "", `want a duration before now ("24h", "7d") or an RFC 3339 time ("2026-11-01T00:00:00Z")`},
	} {
		got, err := ParseTime(tc.in, now)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: got error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got.UTC().Format(time.RFC3339) != tc.want):
			t.Errorf("%q: got %v, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}
