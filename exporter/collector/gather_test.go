package collector

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// TestGatherMatchesCollect checks that the fast Gather emits exactly what
// Collect emits through a pedantic registry (which checks consistency).
func TestGatherMatchesCollect(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(n, " targets"), func(t *testing.T) {
			clk := &clock{t: t0.Add(3 * time.Second)}
			c := New(clk.now)
			var ts []*Target
			for i := range n {
				tg := NewTarget(fmt.Sprintf("127.0.0.%d", 3-i), map[string]string{fmt.Sprint("l", i): "v"}, time.Second)
				if i > 0 {
					tg.SetAddr(netip.AddrFrom4([4]byte{127, 0, 0, byte(3 - i)}))
					tg.Sent(t0)
					tg.Replied(time.Duration(i)*time.Millisecond, t0)
					tg.Late(2 * time.Second)
					tg.SendFailed(errors.New("x"))
				}
				ts = append(ts, tg)
			}
			c.SetTargets(ts)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			want, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := byName(got), byName(want); len(g) != len(w) {
				t.Fatalf("got families %v, want %v", keys(g), keys(w))
			}
			for _, wf := range want {
				gf := byName(got)[wf.GetName()]
				if gf == nil {
					t.Errorf("got no family %s, want one", wf.GetName())
					continue
				}
				if gf.GetHelp() != wf.GetHelp() || gf.GetType() != wf.GetType() {
					t.Errorf("%s: got help %q type %v, want %q %v", wf.GetName(), gf.GetHelp(), gf.GetType(), wf.GetHelp(), wf.GetType())
				}
				gm, wm := byLabels(gf), byLabels(wf)
				if len(gm) != len(wm) {
					t.Errorf("%s: got %d series, want %d", wf.GetName(), len(gm), len(wm))
				}
				for k, w := range wm {
					if !proto.Equal(gm[k], w) {
						t.Errorf("%s{%s}: got %v, want %v", wf.GetName(), k, gm[k], w)
					}
				}
			}
		})
	}
}

func byName(mfs []*dto.MetricFamily) map[string]*dto.MetricFamily {
	m := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		m[mf.GetName()] = mf
	}
	return m
}

func keys(m map[string]*dto.MetricFamily) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// byLabels indexes a family's metrics by their sorted label pairs.
func byLabels(mf *dto.MetricFamily) map[string]*dto.Metric {
	m := map[string]*dto.Metric{}
	for _, x := range mf.GetMetric() {
		var pairs []string
		for _, l := range x.GetLabel() {
			pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		sort.Strings(pairs)
		m[strings.Join(pairs, ",")] = x
	}
	return m
}

// BenchmarkGather is BenchmarkCollect through the fast path.
func BenchmarkGather(b *testing.B) {
	c := benchTargets(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
