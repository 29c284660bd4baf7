package shard

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/exporter/config"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "2/3", want: Shard{2, 3}},
		{in: "999/1000", want: Shard{999, 1000}},
		{in: "3", err: `shard "3": want i/N`},
		{in: "a/2", err: `shard "a/2": index "a" is not a number`},
		{in: "0/b", err: `shard "0/b": count "b" is not a number`},
		{in: "2/2", err: `shard "2/2": index 2 must be between 0 and 1 (shards are numbered from 0)`},
		{in: "-1/2", err: `shard "-1/2": index -1 must be between 0 and 1`},
		{in: "0/0", err: `shard "0/0": count 0 must be between 1 and 1000`},
		{in: "0/1001", err: `shard "0/1001": count 1001 must be between 1 and 1000`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("got error %v, want one starting %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String: got %q, want %q", got.String(), tc.in)
			}
		})
	}
}

// keys are 100,000 loopback-style addresses and names, like real configs:
// similar strings that differ in a few characters.
func keys() []string {
	var k []string
	for i := range 50000 {
		k = append(k, fmt.Sprintf("127.%d.%d.%d", 1+i/65024, i/254%256, i%254+1))
		k = append(k, fmt.Sprintf("host-%d.example.org", i))
	}
	return k
}

func TestDistribution(t *testing.T) {
	ks := keys()
	for _, n := range []int{2, 3, 4, 7, 16} {
		counts := make([]int, n)
		for _, k := range ks {
			counts[Of(k, n)]++
		}
		want := float64(len(ks)) / float64(n)
		for i, c := range counts {
			// Binomial standard deviation is under 1 % of want here;
			// 5 % is far outside chance and well inside "even".
			if math.Abs(float64(c)-want) > 0.05*want {
				t.Errorf("n=%d: shard %d got %d keys, want %.0f +- 5 %%", n, i, c, want)
			}
		}
	}
}

func TestGrowMovesOnlyTheNewShare(t *testing.T) {
	ks := keys()
	for _, n := range []int{1, 2, 3, 4, 9} {
		moved := 0
		for _, k := range ks {
			before, after := Of(k, n), Of(k, n+1)
			if before == after {
				continue
			}
			moved++
			if after != n {
				t.Fatalf("n=%d->%d: %q moved from shard %d to %d, want only moves onto the new shard %d", n, n+1, k, before, after, n)
			}
		}
		want := float64(len(ks)) / float64(n+1)
		if math.Abs(float64(moved)-want) > 0.05*want {
			t.Errorf("n=%d->%d: %d of %d keys moved, want about 1/%d = %.0f", n, n+1, moved, len(ks), n+1, want)
		}
	}
}

func TestFilter(t *testing.T) {
	cfg := &config.Config{}
	for i := range 200 {
		cfg.Targets = append(cfg.Targets, config.Target{Host: fmt.Sprintf("router-%d", i)})
		for j := range 3 {
			host := fmt.Sprintf("host-%d-%d", i, j)
			cfg.Targets = append(cfg.Targets, config.Target{Host: host, Parent: fmt.Sprintf("router-%d", i)})
			// a grandchild behind the host
			cfg.Targets = append(cfg.Targets, config.Target{Host: host + "-cam", Parent: host})
		}
	}
	if got := All.Filter(cfg); got != cfg {
		t.Errorf("All.Filter: got a copy, want the config itself")
	}
	const n = 3
	owner := map[string]int{}
	for i := range n {
		part := Shard{i, n}.Filter(cfg)
		if len(part.Targets) == 0 || len(part.Targets) == len(cfg.Targets) {
			t.Errorf("shard %d/%d: got %d of %d targets, want a share", i, n, len(part.Targets), len(cfg.Targets))
		}
		in := map[string]bool{}
		for _, tg := range part.Targets {
			if prev, dup := owner[tg.Host]; dup {
				t.Errorf("%s: in shards %d and %d, want one", tg.Host, prev, i)
			}
			owner[tg.Host] = i
			in[tg.Host] = true
		}
		for _, tg := range part.Targets {
			if tg.Parent != "" && !in[tg.Parent] {
				t.Errorf("shard %d/%d: %s without its parent %s, want a family on one shard", i, n, tg.Host, tg.Parent)
			}
		}
	}
	if len(owner) != len(cfg.Targets) {
		t.Errorf("shards hold %d distinct targets, want all %d", len(owner), len(cfg.Targets))
	}
	if len(cfg.Targets) != 200*7 {
		t.Errorf("the input changed: %d targets", len(cfg.Targets))
	}
}
