package prober

import "time"

// The scheduler finds due targets in a hashed timing wheel rather than a
// binary heap: at 100,000 targets a heap's fix walks ~17 levels, each a
// cache miss on another target, for every probe (5 % of the CPU at 10,000
// targets, issue 14). The wheel's slot for a due time is a division, and a
// pass reads the targets of the slots it passes in list order.
const (
	slotWidth  = int64(time.Millisecond)
	wheelSlots = 1 << 14 // slots: the wheel turns once every 16.4 s
)

// wheel holds every target of the engine by due time: slot s%wheelSlots
// lists the targets due in [s*slotWidth, (s+1)*slotWidth), or one or more
// turns later (those are looked at and put back once per turn). Removed
// targets are dropped lazily, when their slot is next passed. Guarded by
// shared.mu.
type wheel struct {
	slots  [wheelSlots]*target // singly linked by target.next
	cursor int64               // the earliest slot a due target can be in
}

// insert puts t in the slot of t.due, or in the cursor's slot if t is due
// already (it is then handled by the next pass).
func (w *wheel) insert(t *target) {
	s := max(t.due/slotWidth, w.cursor)
	b := &w.slots[s%wheelSlots]
	t.next = *b
	*b = t
}

// expire calls f, in the order of their slots, for every live target due
// at or before now; f must move t.due past now. Afterwards every live target
// is due after now.
func (w *wheel) expire(now int64, f func(t *target)) {
	last := now / slotWidth
	if last < w.cursor {
		return
	}
	from := w.cursor
	if last-from >= wheelSlots { // asleep for more than a turn: each slot once
		from = last - wheelSlots + 1
	}
	for s := from; s <= last; s++ {
		b := &w.slots[s%wheelSlots]
		t := *b
		*b = nil
		for t != nil {
			next := t.next
			t.next = nil
			if !t.dead {
				if t.due <= now {
					f(t)
				}
				w.insert(t) // t.due > now: this slot (a later pass) or a later one
			}
			t = next
		}
	}
	w.cursor = last
}

// next returns the earliest due time of a live target, or the time of the
// wheel's next turn if none is due within a turn (or there is none).
func (w *wheel) next() int64 {
	for i := range int64(wheelSlots) {
		s := w.cursor + i
		end := (s + 1) * slotWidth
		found, best := false, end
		for t := w.slots[s%wheelSlots]; t != nil; t = t.next {
			if !t.dead && t.due < best {
				found, best = true, t.due
			}
		}
		if found {
			return best
		}
	}
	return (w.cursor + wheelSlots) * slotWidth
}
