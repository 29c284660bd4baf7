package collector

import (
	"math"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The native RTT buckets, in the exporter's own store (native). They are the
// buckets client_golang's histogram uses with the same options
// (NativeHistogramBucketFactor nativeBucketFactor, the default zero
// threshold), and the exposition is the same message it writes
// (native_test.go compares the two), but the store is a few words and one
// slice per target instead of two sync.Maps of boxed counters, and an
// observation is a lock and an increment.

// nativeSchema is the schema client_golang picks for nativeBucketFactor:
// the largest n with 2^(2^-n) <= 1.1, so each bucket is 2^(1/8) = 1.09 wide.
const nativeSchema = 3

// nativeZeroThreshold is client_golang's default zero threshold (2^-128):
// only an RTT of exactly 0 falls into the zero bucket.
const nativeZeroThreshold = 2.938735877055719e-39

// nativeBounds are the bucket boundaries of schema 3 within one power of
// two: 2^(k/8)/2 for k = 0..7, as float64 (the values the native histogram
// format defines; math.Frexp's fraction is compared with them).
var nativeBounds = [1 << nativeSchema]float64{
	0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048,
	0.7071067811865475, 0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
}

// nativeKey is the index of the schema-3 bucket of v > 0: bucket k holds
// (2^((k-1)/8), 2^(k/8)].
func nativeKey(v float64) int {
	frac, exp := math.Frexp(v)
	return sort.SearchFloat64s(nativeBounds[:], frac) + (exp-1)*len(nativeBounds)
}

// window is a dense run of bucket counters: counts[i] is bucket first+i.
// It grows to cover the buckets observed, so a target whose RTTs span a
// factor of 2 holds about 8 counters. RTTs are time.Durations: at most
// 9.2e9 s and at least 1 ns when not 0, so keys lie in [-239, 265] and a
// window never exceeds 505 counters.
type window struct {
	first  int
	counts []uint64
}

func (w *window) add(key int) {
	if len(w.counts) == 0 {
		w.first = key
		if cap(w.counts) == 0 {
			w.counts = make([]uint64, 0, 4)
		}
		w.counts = w.counts[:1]
	}
	i := key - w.first
	switch {
	case i < 0:
		// Grow downwards with a little slack: neighbouring buckets are
		// the likely next ones.
		grow := -i + 2
		if n := len(w.counts) + grow; n <= cap(w.counts) {
			w.counts = w.counts[:n]
			copy(w.counts[grow:], w.counts[:n-grow])
			clear(w.counts[:grow])
		} else {
			c := make([]uint64, n)
			copy(c[grow:], w.counts)
			w.counts = c
		}
		w.first, i = w.first-grow, 2
	case i >= len(w.counts):
		if i < cap(w.counts) {
			w.counts = w.counts[:i+1]
		} else {
			c := make([]uint64, i+1, i+3)
			copy(c, w.counts)
			w.counts = c
		}
	}
	w.counts[i]++
}

// span is a run of buckets: offset is the gap to the previous span (or
// the first key), length the number of buckets.
type span struct {
	offset int32
	length uint32
}

// appendSpans appends the spans and deltas of the window's non-empty
// buckets the way client_golang encodes them: a gap of one or two empty
// buckets is filled with zero deltas, a longer one starts a new span.
func (w *window) appendSpans(spans []span, delta []int64) ([]span, []int64) {
	var (
		first = len(spans)
		prev  int64
		next  int // the key after the last bucket written
	)
	for i, c := range w.counts {
		if c == 0 {
			continue
		}
		key := w.first + i
		gap := int32(key - next)
		if len(spans) == first || gap > 2 {
			spans = append(spans, span{offset: gap})
		} else {
			for range gap {
				spans[len(spans)-1].length++
				delta = append(delta, -prev)
				prev = 0
			}
		}
		spans[len(spans)-1].length++
		delta = append(delta, int64(c)-prev)
		prev = int64(c)
		next = key + 1
	}
	return spans, delta
}

// spans returns the spans and deltas as client_model messages.
func (w *window) spans() ([]*dto.BucketSpan, []int64) {
	s, d := w.appendSpans(nil, nil)
	if len(s) == 0 {
		return nil, nil
	}
	out := make([]*dto.BucketSpan, len(s))
	for i, x := range s {
		out[i] = &dto.BucketSpan{Offset: proto.Int32(x.offset), Length: proto.Uint32(x.length)}
	}
	return out, d
}

// nativeBuckets is the room for bucket counters a target's native histogram
// starts with: RTTs within a factor of 4 (16 buckets of schema 3) never
// move its counters. They are allocated with the target, not at its first
// reply and again as the window grows, so they lie next to the other
// targets' state, which is probed in the order it was allocated (see the
// prober's AddAll). Scattered over the heap, the counter's increment was a
// cache miss on every reply (issue 14's profile: the largest item left in
// our code).
const nativeBuckets = 16

// newNative returns an empty native histogram created at created.
func newNative(created time.Time) *native {
	return &native{created: created.UnixNano(), pos: window{counts: make([]uint64, 0, nativeBuckets)}}
}

// native is a target's native RTT histogram. Its count and sum are the
// target's classic counters (updated under the same lock), so one scrape
// sees one consistent histogram.
type native struct {
	mu      sync.Mutex
	created int64 // unix nanoseconds: the created timestamp
	zero    uint64
	pos     window
	neg     *window // RTTs are never negative; kept for exactness
}

// observe counts v in its bucket; the caller holds n.mu.
func (n *native) observe(v float64) {
	switch {
	case v > nativeZeroThreshold:
		n.pos.add(nativeKey(v))
	case v < -nativeZeroThreshold:
		if n.neg == nil {
			n.neg = &window{}
		}
		n.neg.add(nativeKey(-v))
	default:
		n.zero++
	}
}

// write fills the native fields of h and its created timestamp; the
// caller holds n.mu.
func (n *native) write(h *dto.Histogram) {
	h.CreatedTimestamp = timestamppb.New(time.Unix(0, n.created))
	h.Schema = proto.Int32(nativeSchema)
	h.ZeroThreshold = proto.Float64(nativeZeroThreshold)
	h.ZeroCount = proto.Uint64(n.zero)
	if n.neg != nil {
		h.NegativeSpan, h.NegativeDelta = n.neg.spans()
	}
	h.PositiveSpan, h.PositiveDelta = n.pos.spans()
}
