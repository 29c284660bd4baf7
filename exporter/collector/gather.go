package collector

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Gather returns the targets' metric families directly, the same series as
// Collect. Registry.Gather would check every series for consistency and
// sort each family by label values, which is most of the cost of a scrape
// with 10,000 targets; here series are unique by construction (one per
// configured target) and come in the order of SetTargets (sorted by target).
// The values and metrics of a family are allocated in one slice each.
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	c.mu.RLock()
	set := c.set
	c.mu.RUnlock()
	now := c.now()
	n := len(set)
	if n == 0 {
		return nil, nil
	}
	mfs := make([]*dto.MetricFamily, numFamilies)
	for i, f := range families {
		mfs[i] = &dto.MetricFamily{Name: proto.String(f.name), Help: proto.String(f.help), Type: f.typ.Enum(),
			Metric: make([]*dto.Metric, 0, n)}
	}
	ms := make([]dto.Metric, n*numFamilies)
	vals := make([]float64, n*numFamilies)
	ctrs := make([]dto.Counter, n*5)
	gauges := make([]dto.Gauge, n*3)
	for i := range set {
		e := &set[i]
		t := e.t
		m := ms[i*numFamilies : (i+1)*numFamilies]
		v := vals[i*numFamilies : (i+1)*numFamilies]
		ctr, gauge := ctrs[i*5:(i+1)*5], gauges[i*3:(i+1)*3]
		counter := func(fam int, x uint64, k int) {
			if c.omit(fam, t) {
				return
			}
			v[fam] = float64(x)
			ctr[k].Value = &v[fam]
			m[fam].Label, m[fam].Counter = e.labels, &ctr[k]
			mfs[fam].Metric = append(mfs[fam].Metric, &m[fam])
		}
		gaugeOf := func(fam int, x float64, k int, labels []*dto.LabelPair) {
			v[fam] = x
			gauge[k].Value = &v[fam]
			m[fam].Label, m[fam].Gauge = labels, &gauge[k]
			mfs[fam].Metric = append(mfs[fam].Metric, &m[fam])
		}
		counter(famRequests, t.requests.Load(), 0)
		counter(famResponses, t.responses.Load(), 1)
		counter(famLate, t.late.Load(), 2)
		counter(famSendErrs, t.sendErrs.Load(), 3)
		counter(famResolveErrs, t.resolvErr.Load(), 4)
		up := 0.0
		if t.Up(now) {
			up = 1
		}
		gaugeOf(famUp, up, 0, e.labels)
		if last := t.lastReply.Load(); last != 0 {
			gaugeOf(famLastReply, float64(last)/1e9, 1, e.labels)
		}
		gaugeOf(famInfo, 1, 2, infoLabels(e.infoLabels, t.Addr()))
		if err := t.writeRTT(&m[famRTT]); err != nil {
			return nil, err
		}
		m[famRTT].Label = e.labels
		mfs[famRTT].Metric = append(mfs[famRTT].Metric, &m[famRTT])
	}
	// No last reply yet, or error counters left out (Options.OmitZeroErrors).
	mfs = slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool { return len(mf.Metric) == 0 })
	return mfs, nil
}

// Gatherers merges the families of gatherers whose metric names do not
// overlap (a registry and a Collector), sorted by name, without re-checking
// every series as prometheus.Gatherers would.
type Gatherers []prometheus.Gatherer

// Gather implements prometheus.Gatherer.
func (gs Gatherers) Gather() ([]*dto.MetricFamily, error) {
	var all []*dto.MetricFamily
	var errs prometheus.MultiError
	for _, g := range gs {
		mfs, err := g.Gather()
		errs.Append(err)
		all = append(all, mfs...)
	}
	slices.SortFunc(all, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return all, errs.MaybeUnwrap()
}
