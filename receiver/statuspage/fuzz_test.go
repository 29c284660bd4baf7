package statuspage

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseQuery: any query string either parses into a filter or fails
// with an error naming a parameter; nothing panics.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "state=open", "since=24h&target=nas", "since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z&format=csv",
		"limit=0", "since=-1h", "state=open&state=open", "%zz", "since=99999999999999999999h", "until=1y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, _, err := ParseQuery(q, now)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), strconv.Quote(pe.param)) {
				t.Fatalf("%q: error %v does not name a parameter", raw, err)
			}
			return
		}
		if !flt.Since.IsZero() && !flt.Until.IsZero() && !flt.Until.After(flt.Since) {
			t.Fatalf("%q: accepted until %v not after since %v", raw, flt.Until, flt.Since)
		}
	})
}
