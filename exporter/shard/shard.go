// Package shard splits one target list between N exporters
// (--targets.shard=i/N): each exporter probes the targets whose shard, by
// rendezvous hashing on the target, is its own.
//
// Rendezvous (highest random weight) hashing gives every target a score for
// each shard and puts it on the shard with the highest score. The score of
// a target for shard j does not depend on N, so going from N to N+1 shards
// moves only the targets whose new shard N scores highest: about 1/(N+1)
// of them, all onto the new shard; nothing moves between the old ones.
//
// A target is hashed by the root of its parent chain (the target itself
// when it has no parent), so a host and the hosts behind it are always
// probed by the same exporter: the alert rules join a target with its
// parent on (job, instance), which needs both in one exporter's metrics.
package shard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/downtime-detector/downtime/exporter/config"
)

// Shard is one exporter's share: Index in [0, Count). The zero value is
// not valid; All is the single shard that owns everything.
type Shard struct {
	Index, Count int
}

// All is the shard of an exporter that probes every target.
var All = Shard{Index: 0, Count: 1}

// MaxCount bounds N: the cost of placing a target grows with N.
const MaxCount = 1000

// Parse reads "i/N" (0 <= i < N <= MaxCount).
func Parse(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/N, e.g. 0/2 for the first of two exporters", s)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: index %q is not a number", s, is)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: count %q is not a number", s, ns)
	}
	sh := Shard{Index: i, Count: n}
	if err := sh.Validate(); err != nil {
		return Shard{}, fmt.Errorf("shard %q: %w", s, err)
	}
	return sh, nil
}

// Validate checks 0 <= Index < Count <= MaxCount.
func (s Shard) Validate() error {
	switch {
	case s.Count < 1 || s.Count > MaxCount:
		return fmt.Errorf("count %d must be between 1 and %d", s.Count, MaxCount)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("index %d must be between 0 and %d (shards are numbered from 0)", s.Index, s.Count-1)
	}
	return nil
}

func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// Of returns the shard, in [0, n), that owns key.
func Of(key string, n int) int {
	h := hashString(key)
	best, bestScore := 0, uint64(0)
	for j := 0; j < n; j++ {
		if sc := mix(h ^ mix(uint64(j)+1)); j == 0 || sc > bestScore {
			best, bestScore = j, sc
		}
	}
	return best
}

// Owns reports whether key belongs to s.
func (s Shard) Owns(key string) bool { return s.Count <= 1 || Of(key, s.Count) == s.Index }

// Filter returns cfg with only the targets of s (cfg itself when s owns
// everything). Each target goes by the root of its parent chain; cfg must
// have passed config validation (parents exist, chains end).
func (s Shard) Filter(cfg *config.Config) *config.Config {
	if s.Count <= 1 {
		return cfg
	}
	parent := make(map[string]string, len(cfg.Targets))
	for _, t := range cfg.Targets {
		parent[t.Host] = t.Parent
	}
	out := *cfg
	out.Targets = nil
	for _, t := range cfg.Targets {
		if s.Owns(root(t.Host, parent)) {
			out.Targets = append(out.Targets, t)
		}
	}
	return &out
}

// root follows parents to the top; the bound guards against a cycle that
// validation would have refused.
func root(host string, parent map[string]string) string {
	for range config.MaxParentDepth + 1 {
		p := parent[host]
		if p == "" || p == host {
			return host
		}
		host = p
	}
	return host
}

// hashString is 64-bit FNV-1a: stable across processes, versions and
// machines, which is what lets N exporters agree without talking.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is the splitmix64 finaliser: FNV-1a alone distributes similar keys
// (127.1.0.1, 127.1.0.2, ...) poorly across the high bits compared here.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
