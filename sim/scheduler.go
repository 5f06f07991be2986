package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Handler reacts to events. Handle runs to completion: it may schedule or
// cancel events but must not block, loop on time or start goroutines.
type Handler interface {
	Handle(ev Event)
}

// Event is the payload delivered to a Handler. It is a plain value, so that
// scheduling an event allocates nothing: Kind tells the handler what
// happened, Arg carries a small integer (an index or id) and Ptr an optional
// pointer to an object the handler owns (a pointer stored in an interface
// does not allocate).
type Event struct {
	Kind int32
	Arg  int64
	Ptr  any
}

// Timer identifies one scheduled event so that it can be cancelled. The zero
// Timer refers to no event.
type Timer struct {
	slot int32
	gen  uint64 // 64 bits: a slot is reused about once per event, so 32 could wrap within max_events
}

// Config bounds a run. Every run has both limits (TIGER_STYLE: limits on
// everything): Until is the virtual instant at which Run stops, MaxEvents the
// number of events after which Run stops with ErrMaxEvents.
type Config struct {
	Until     Time   // 0 means MaxTime
	MaxEvents uint64 // 0 means math.MaxUint64
}

// ErrUntil and ErrMaxEvents are the limits a run can hit. Run returns them
// wrapped in a *LimitError.
var (
	ErrUntil     = errors.New("sim: reached the time limit")
	ErrMaxEvents = errors.New("sim: reached the event limit")
)

// LimitError reports which limit stopped a run, when, and after how many
// events. errors.Is(err, ErrUntil) and errors.Is(err, ErrMaxEvents) tell
// the limits apart.
type LimitError struct {
	Limit  error  // ErrUntil or ErrMaxEvents
	At     Time   // virtual time when the run stopped
	Events uint64 // events fired so far
	Seq    uint64 // sequence number of the last event fired
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case ErrMaxEvents:
		return fmt.Sprintf("sim: stopped at the event limit max_events=%d at t=%v (last seq %d)", e.Events, e.At, e.Seq)
	default:
		return fmt.Sprintf("sim: stopped at the time limit until=%v after %d events", e.At, e.Events)
	}
}

func (e *LimitError) Unwrap() error { return e.Limit }

// entry is one heap record: the ordering key and the slot of the payload.
// Keeping the key small makes sift operations cheap; the payload is moved
// never.
type entry struct {
	at   Time
	seq  uint64
	slot int32
}

// slotRec holds a scheduled event's payload and where its key sits in the heap.
type slotRec struct {
	h   Handler
	ev  Event
	pos int32  // index in heap, -1 when free
	gen uint64 // incremented when the slot is freed, so stale Timers miss
}

// Scheduler is the event queue and the virtual clock. It is a 4-ary min-heap
// of (time, sequence) keys over a slab of payloads with a free list, so that
// in steady state scheduling, firing and cancelling allocate nothing.
// Schedule and Cancel are O(log n), Step is O(log n) in the number of
// pending events. A Scheduler is not safe for concurrent use; each run owns
// one.
type Scheduler struct {
	now    Time
	seq    uint64
	fired  uint64
	cfg    Config
	heap   []entry
	slots  []slotRec
	free   []int32
	lastSq uint64
}

// NewScheduler returns an empty scheduler at time 0 bounded by cfg.
func NewScheduler(cfg Config) *Scheduler {
	if cfg.Until == 0 {
		cfg.Until = MaxTime
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = math.MaxUint64
	}
	return &Scheduler{cfg: cfg}
}

// Now returns the current virtual time: the time of the event being handled,
// or of the last event handled.
func (s *Scheduler) Now() Time { return s.now }

// Fired returns the number of events handled so far.
func (s *Scheduler) Fired() uint64 { return s.fired }

// Pending returns the number of scheduled, not yet fired or cancelled events.
func (s *Scheduler) Pending() int { return len(s.heap) }

// Config returns the limits the scheduler runs under.
func (s *Scheduler) Config() Config { return s.cfg }

// Schedule arranges for h.Handle(ev) to run at virtual time at. Scheduling in
// the past is a programmer error and panics. Events at the same instant fire
// in the order in which they were scheduled. The complexity is O(log n).
func (s *Scheduler) Schedule(at Time, h Handler, ev Event) Timer {
	if at < s.now {
		s.pastPanic(at)
	}
	var slot int32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		slot = int32(len(s.slots))
		s.slots = append(s.slots, slotRec{})
	}
	rec := &s.slots[slot]
	rec.h = h
	rec.ev = ev
	s.seq++
	i := len(s.heap)
	s.heap = append(s.heap, entry{at: at, seq: s.seq, slot: slot})
	rec.pos = int32(i)
	s.up(i)
	return Timer{slot: slot + 1, gen: rec.gen}
}

// pastPanic reports an event scheduled in the past. It is kept out of
// Schedule so that the hot path stays small.
//
//go:noinline
func (s *Scheduler) pastPanic(at Time) {
	panic(fmt.Sprintf("sim: Schedule at %v before now %v (seq %d)", at, s.now, s.seq))
}

// After schedules h.Handle(ev) d after now. A negative d panics.
func (s *Scheduler) After(d time.Duration, h Handler, ev Event) Timer {
	return s.Schedule(s.now.Add(d), h, ev)
}

// Cancel removes the event t refers to, if it is still pending, and reports
// whether it did. Cancelling a fired, cancelled or zero Timer is a no-op. The
// complexity is O(log n).
func (s *Scheduler) Cancel(t Timer) bool {
	if t.slot == 0 {
		return false
	}
	slot := t.slot - 1
	if int(slot) >= len(s.slots) {
		return false
	}
	rec := &s.slots[slot]
	if rec.gen != t.gen || rec.pos < 0 {
		return false
	}
	i := int(rec.pos)
	last := len(s.heap) - 1
	if i != last {
		s.heap[i] = s.heap[last]
		s.slots[s.heap[i].slot].pos = int32(i)
		s.heap = s.heap[:last]
		if !s.up(i) {
			s.down(i)
		}
	} else {
		s.heap = s.heap[:last]
	}
	s.release(slot)
	return true
}

// Scheduled reports whether t refers to an event that is still pending.
func (s *Scheduler) Scheduled(t Timer) bool {
	if t.slot == 0 || int(t.slot-1) >= len(s.slots) {
		return false
	}
	rec := &s.slots[t.slot-1]
	return rec.gen == t.gen && rec.pos >= 0
}

func (s *Scheduler) release(slot int32) {
	rec := &s.slots[slot]
	*rec = slotRec{pos: -1, gen: rec.gen + 1} // drop the references for the GC
	s.free = append(s.free, slot)
}

// Step fires the earliest pending event, advancing the clock to its time, and
// reports whether there was one. Step ignores the limits; Run enforces them.
func (s *Scheduler) Step() bool {
	if len(s.heap) == 0 {
		return false
	}
	top := s.heap[0]
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap = s.heap[:last]
	if last > 0 {
		s.slots[s.heap[0].slot].pos = 0
		s.down(0)
	}
	rec := &s.slots[top.slot]
	h, ev := rec.h, rec.ev
	s.release(top.slot)
	s.now = top.at
	s.lastSq = top.seq
	s.fired++
	h.Handle(ev)
	return true
}

// RunUntil fires events in (time, sequence) order until the next one lies
// after t, then sets the clock to t. It returns nil when it reaches t, and a
// *LimitError wrapping ErrMaxEvents when the configured event limit is hit
// first. The time limit in Config does not apply: t is the caller's explicit
// horizon.
func (s *Scheduler) RunUntil(t Time) error {
	if err := s.fireThrough(t); err != nil {
		return err
	}
	if t > s.now {
		s.now = t
	}
	return nil
}

// Run fires events until the queue is empty, returning nil with the clock at
// the last event, or until a limit stops it, returning a *LimitError that
// names the limit: ErrUntil when the next event lies after Config.Until (the
// clock is then set to Until), or ErrMaxEvents when Config.MaxEvents events
// have fired.
func (s *Scheduler) Run() error {
	if err := s.fireThrough(s.cfg.Until); err != nil {
		return err
	}
	if len(s.heap) == 0 {
		return nil
	}
	if s.now < s.cfg.Until { // never move the clock backwards (after RunUntil past Until)
		s.now = s.cfg.Until
	}
	return &LimitError{Limit: ErrUntil, At: s.now, Events: s.fired, Seq: s.lastSq}
}

// fireThrough fires every event at or before t, within the event limit.
func (s *Scheduler) fireThrough(t Time) error {
	for len(s.heap) > 0 && s.heap[0].at <= t {
		if s.fired >= s.cfg.MaxEvents {
			return &LimitError{Limit: ErrMaxEvents, At: s.now, Events: s.fired, Seq: s.lastSq}
		}
		s.Step()
	}
	return nil
}

func less(a, b *entry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq // never leave ties to the heap: FIFO among equal times
}

// up sifts the entry at i towards the root and reports whether it moved.
// The caller has already recorded the entry's position at i, so when it
// stays (the common case for a small heap) nothing is written.
func (s *Scheduler) up(i int) bool {
	h := s.heap
	if i == 0 {
		return false
	}
	p := (i - 1) >> 2
	if !less(&h[i], &h[p]) {
		return false
	}
	e := h[i]
	for {
		h[i] = h[p]
		s.slots[h[i].slot].pos = int32(i)
		i = p
		if i == 0 {
			break
		}
		p = (i - 1) >> 2
		if !less(&e, &h[p]) {
			break
		}
	}
	h[i] = e
	s.slots[e.slot].pos = int32(i)
	return true
}

// down sifts the entry at i towards the leaves. Like up, it writes nothing
// when the entry stays where it is.
func (s *Scheduler) down(i int) {
	h := s.heap
	m := s.minChild(i)
	if m < 0 || !less(&h[m], &h[i]) {
		return
	}
	e := h[i]
	for {
		h[i] = h[m]
		s.slots[h[i].slot].pos = int32(i)
		i = m
		m = s.minChild(i)
		if m < 0 || !less(&h[m], &e) {
			break
		}
	}
	h[i] = e
	s.slots[e.slot].pos = int32(i)
}

// minChild returns the index of the least of i's up to four children, or
// -1 if it has none.
func (s *Scheduler) minChild(i int) int {
	h := s.heap
	c := 4*i + 1
	if c >= len(h) {
		return -1
	}
	m := c
	end := min(c+4, len(h))
	for j := c + 1; j < end; j++ {
		if less(&h[j], &h[m]) {
			m = j
		}
	}
	return m
}
