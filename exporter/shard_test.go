package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/exporter/internal/fakes"
	"github.com/downtime-detector/downtime/exporter/shard"
)

// TestShards runs two exporters on one configuration with
// --targets.shard=0/2 and 1/2: together they probe every target once, a
// child sits with its parent, each shows its share in
// downtime_exporter_shard_info, and a shard left with no target of a
// non-empty configuration starts (without --config.allow-empty).
func TestShards(t *testing.T) {
	var b strings.Builder
	b.WriteString("targets:\n  - host: 127.0.0.1\n")
	for i := 2; i <= 40; i++ {
		fmt.Fprintf(&b, "  - host: 127.0.0.%d\n", i)
	}
	b.WriteString("    parent: 127.0.0.1\n") // 127.0.0.40 sits behind 127.0.0.1
	path := tempConfig(t, b.String())

	probed := map[string]int{}
	for i := range 2 {
		fe := fakes.NewEngine()
		a := start(t, options{configFile: path, newEngine: fe.New, shard: shard.Shard{Index: i, Count: 2}})
		body := a.scrape(t)
		if got := mustValue(t, body, fmt.Sprintf(`downtime_exporter_shard_info{shard="%d",shards="2"}`, i)); got != 1 {
			t.Errorf("shard %d: shard_info got %v, want 1", i, got)
		}
		n := 0
		for j := 1; j <= 40; j++ {
			host := fmt.Sprintf("127.0.0.%d", j)
			if _, ok := fe.Get(host); ok {
				probed[host]++
				n++
			}
		}
		if n == 0 || n == 40 {
			t.Errorf("shard %d/2 probes %d of 40 targets, want a share", i, n)
		}
		if got := mustValue(t, body, `downtime_exporter_targets`); got != float64(n) {
			t.Errorf("shard %d: targets gauge got %v, want %d", i, got, n)
		}
		_, parent := fe.Get("127.0.0.1")
		if _, child := fe.Get("127.0.0.40"); child != parent {
			t.Errorf("shard %d: probes 127.0.0.1 %v but its child 127.0.0.40 %v, want both or neither", i, parent, child)
		}
	}
	for j := 1; j <= 40; j++ {
		if host := fmt.Sprintf("127.0.0.%d", j); probed[host] != 1 {
			t.Errorf("%s probed by %d shards, want exactly 1", host, probed[host])
		}
	}

	t.Run("empty share", func(t *testing.T) {
		one := tempConfig(t, "targets:\n  - host: 127.0.0.1\n")
		other := 1 - shard.Of("127.0.0.1", 2)
		fe := fakes.NewEngine()
		a := start(t, options{configFile: one, newEngine: fe.New, shard: shard.Shard{Index: other, Count: 2}})
		if got := mustValue(t, a.scrape(t), `downtime_exporter_targets`); got != 0 {
			t.Errorf("targets gauge: got %v, want 0", got)
		}
	})
}
