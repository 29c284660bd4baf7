package incident

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Memory is a Log in memory: the reference implementation, for tests and
// for --dry-run. Safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	nextID uint64
	byID   map[uint64]*Incident
	open   map[Key]uint64
}

// NewMemory returns an empty log.
func NewMemory() *Memory {
	return &Memory{byID: map[uint64]*Incident{}, open: map[Key]uint64{}}
}

var _ Log = (*Memory)(nil)

// Open implements Log.
func (m *Memory) Open(_ context.Context, inc Incident) (Incident, error) {
	if err := inc.CheckOpen(); err != nil {
		return Incident{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.open[inc.Key]; ok {
		cur := m.byID[id]
		if !inc.Start.IsZero() && inc.Start.Before(cur.Start) {
			cur.Start = inc.Start
		}
		return cur.Clone(), nil
	}
	m.nextID++
	inc = inc.Clone()
	inc.ID, inc.End = m.nextID, time.Time{}
	m.byID[inc.ID] = &inc
	m.open[inc.Key] = inc.ID
	return inc.Clone(), nil
}

// Resolve implements Log.
func (m *Memory) Resolve(_ context.Context, key Key, end time.Time) (Incident, error) {
	if end.IsZero() {
		return Incident{}, errors.New("resolving an incident: zero end time")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.open[key]
	if !ok {
		return Incident{}, ErrNotOpen
	}
	inc := m.byID[id]
	inc.End = end
	if inc.End.Before(inc.Start) {
		inc.End = inc.Start
	}
	delete(m.open, key)
	return inc.Clone(), nil
}

// Annotate implements Log.
func (m *Memory) Annotate(_ context.Context, id uint64, n Note) (Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.byID[id]
	if !ok {
		return Incident{}, ErrNotFound
	}
	n.Apply(inc)
	return inc.Clone(), nil
}

// List implements Log.
func (m *Memory) List(_ context.Context, f Filter) ([]Incident, error) {
	m.mu.Lock()
	var out []Incident
	for _, inc := range m.byID {
		if f.Match(*inc) {
			out = append(out, inc.Clone())
		}
	}
	m.mu.Unlock()
	Sort(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Prune implements Log.
func (m *Memory) Prune(_ context.Context, now time.Time, retention time.Duration) (int, error) {
	cutoff := Cutoff(now, retention)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, inc := range m.byID {
		if !inc.Open() && inc.End.Before(cutoff) {
			delete(m.byID, id)
			n++
		}
	}
	return n, nil
}
