package prober

import "errors"

// Item is one target for AddAll.
type Item struct {
	Key    string
	Target Target
	Obs    Observer
}

// BatchAdder is an Engine that adds many targets at once; the shared
// engine is one. targets.Manager uses it when it (re)loads a configuration.
type BatchAdder interface {
	// AddAll is Add for every item, under one lock and with one wake-up of
	// the scheduler. Items that fail are skipped; the error joins theirs.
	AddAll(items []Item) error
}

var _ BatchAdder = (*shared)(nil)

// AddAll adds items like Add, taking the engine's lock once, and spreads
// their first sends evenly over the interval in the order of items.
//
// In that order and not in golden-ratio order (Add), because items are
// added, and their state allocated, in order: their targets, rings and
// packets (and the collector's Targets, made in the same order) lie in
// memory in the order they are probed. Probing in golden-ratio order
// jumped around memory; at 10,000 targets the cache and TLB misses cost
// about 1 us per probe, a sixth of the exporter's CPU (issue 14,
// BENCHMARKS.md). Two batches added at different times are each spread
// evenly, so together they are too.
//
// Adding them one by one made loading N targets O(N^2) in wall time: while
// targets were added the scheduler was already probing the earlier ones,
// and every Add queued for the lock behind the scheduler's and receivers'
// turns (5.5 s for 40,000 targets in BenchmarkAddMany, minutes on a loaded
// machine).
func (e *shared) AddAll(items []Item) error {
	var errs []error
	ok := make([]Item, 0, len(items))
	for _, it := range items {
		tg, err := checkAdd(it.Key, it.Target, it.Obs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		it.Target = tg
		ok = append(ok, it)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("prober is closed")
	}
	// One now for all: adding 100,000 targets takes a good part of a
	// second, and phases from a clock read per target bunched them.
	now, first := e.since(e.now()), e.nextPhase()
	for i, it := range ok {
		phase := first + float64(i)/float64(len(ok))
		e.addLocked(it.Key, it.Target, it.Obs, now, phase-float64(int64(phase)))
	}
	e.poke()
	return errors.Join(errs...)
}
