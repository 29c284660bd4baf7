package collector

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// TestWriteProto: WriteProto's messages are exactly Gather's: targets with
// and without replies, without an address, with labels sorting around the
// info labels.
func TestWriteProto(t *testing.T) {
	for _, tc := range optionCases {
		t.Run(tc.name, func(t *testing.T) { testWriteProto(t, tc.o) })
	}
}

func testWriteProto(t *testing.T, o Options) {
	now := time.Unix(1_800_000_000, 0)
	c := NewWithOptions(func() time.Time { return now }, o)
	a := c.NewTarget("127.0.0.1", map[string]string{"zone": "b", "apex": "a\"\n\\", "g": "é"}, time.Second)
	a.SetAddr(netip.MustParseAddr("127.0.0.1"))
	for i := range 20 {
		a.Sent(now)
		a.Replied(time.Duration(i+1)*137*time.Microsecond, now.Add(-time.Duration(i)*time.Second))
	}
	a.Late(3 * time.Second)
	a.SendFailed(nil)
	a.ResolveFailed()
	b := c.NewTarget("db.example.internal", map[string]string{"zone": "c"}, time.Second)
	b.Sent(now)
	c.SetTargets([]*Target{a, b})
	check := func(name string) {
		want, err := c.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := c.WriteProto(&buf); err != nil {
			t.Fatal(err)
		}
		dec := expfmt.NewDecoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
		var got []*dto.MetricFamily
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: decoding: %v", name, err)
			}
			got = append(got, mf)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d families, want %d", name, len(got), len(want))
		}
		for i := range want {
			if !proto.Equal(got[i], want[i]) {
				t.Errorf("%s: family %d:\ngot  %v\nwant %v", name, i, got[i], want[i])
			}
		}
	}
	check("one replied")
	c.SetTargets([]*Target{b})
	check("no replies") // no ping_last_response_timestamp_seconds family
	c.SetTargets(nil)
	var buf bytes.Buffer
	if err := c.WriteProto(&buf); err != nil || buf.Len() != 0 {
		t.Errorf("no targets: got %d bytes, %v, want none", buf.Len(), err)
	}
}

// BenchmarkWriteProto is WriteProto of 10,000 targets.
func BenchmarkWriteProto(b *testing.B) {
	c := benchTargets(10_000)
	b.ReportAllocs()
	for b.Loop() {
		var n countingWriter
		if err := c.WriteProto(&n); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(n))
	}
}

type countingWriter int

func (n *countingWriter) Write(p []byte) (int, error) {
	*n += countingWriter(len(p))
	return len(p), nil
}
