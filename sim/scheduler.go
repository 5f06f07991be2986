package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
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
	slot uint32 // the event's payload slot
	seq  uint64 // the event's sequence number, never 0: a slot is reused, a sequence number never
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
// Keeping the entry at 16 bytes makes sift operations cheap; the payload is
// never moved.
type entry struct {
	at Time
	// key is ord<<32 | slot. ord is a 32-bit order that increases with the
	// sequence number among pending events, so comparing keys compares
	// sequence numbers (the slot bits never decide: ords are unique).
	key uint64
}

// slot returns the index of the entry's payload in Scheduler.slots.
func (e entry) slot() uint32 { return uint32(e.key) }

// less orders entries by (time, sequence number).
func less(a, b entry) bool {
	return a.at < b.at || (a.at == b.at && a.key < b.key) // never leave ties to the heap: FIFO among equal times
}

// lessBit is less as 1 or 0, computed without a branch: the borrow of the
// 128-bit subtraction (a.at, a.key) - (b.at, b.key). Times are never
// negative, so comparing them as unsigned numbers is comparing them.
func lessBit(a, b entry) uint64 {
	_, borrow := bits.Sub64(a.key, b.key, 0)
	_, borrow = bits.Sub64(uint64(a.at), uint64(b.at), borrow)
	return borrow
}

// slotRec holds a scheduled event's payload, its sequence number and where
// its key sits in the heap.
type slotRec struct {
	h   Handler
	ev  Event
	seq uint64 // of the event in the slot, or of the last one when free
	// pos is the index of the event's key in the heap, or, when the slot
	// is free, -1 minus the next free slot plus 1 (the free slots are a
	// stack threaded through the slab): negative, and -1 for the last.
	pos int32
}

// maxPending bounds the number of pending events, so that a slot index
// and a heap position fit in an int32 (the slab of that many would need
// 128 GiB).
const maxPending = math.MaxInt32

// Scheduler is the event queue and the virtual clock. It is a 4-ary min-heap
// of (time, sequence) keys over a slab of payloads with a free list, so that
// in steady state scheduling, firing and cancelling allocate nothing.
// Schedule and Cancel are O(log n), Step is O(log n) in the number of
// pending events; once every 2^32 events, Schedule also renumbers the
// pending events' tie-break order in O(n log n). At most 2^31-1 events can
// be pending; scheduling more panics. A Scheduler is not safe for
// concurrent use; each run owns one.
type Scheduler struct {
	now    Time
	seq    uint64 // sequence numbers assigned so far
	ord    uint32 // the heap order of the latest event scheduled (see renumber)
	fired  uint64
	cfg    Config
	heap   []entry
	slots  []slotRec
	free   int32 // the first free slot plus 1, 0 for none; see slotRec.pos
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
// in the order in which they were scheduled. The complexity is O(log n),
// amortised (see Scheduler).
func (s *Scheduler) Schedule(at Time, h Handler, ev Event) Timer {
	rec, t := s.push(at, 0)
	rec.h, rec.ev = h, ev
	return t
}

// After schedules h.Handle(ev) d after now. A negative d panics.
func (s *Scheduler) After(d time.Duration, h Handler, ev Event) Timer {
	rec, t := s.push(s.now, d)
	rec.h, rec.ev = h, ev
	return t
}

// push schedules an event at base.Add(d): it checks the time, takes a free
// slot and sifts the event's key up from the end of the heap. It returns
// the slot, for the caller to store the handler and the event in, and the
// event's Timer. Schedule and After are push and those two stores, small
// enough to be inlined into their callers, so that scheduling costs one
// call and the payload is not passed through it.
func (s *Scheduler) push(base Time, d time.Duration) (*slotRec, Timer) {
	at := base.Add(d)
	// Everything that is not the common case goes through one call, so
	// that the arguments are not saved on the stack in the common case.
	if at < s.now || s.free == 0 || len(s.heap) == cap(s.heap) || s.ord == math.MaxUint32 {
		s.prepare(at)
	}
	slot := uint32(s.free - 1)
	rec := &s.slots[slot]
	s.free = -1 - rec.pos
	s.seq++
	s.ord++
	rec.seq = s.seq
	e := entry{at: at, key: uint64(s.ord)<<32 | uint64(slot)}
	i := len(s.heap)
	heap := s.heap[:i+1]
	s.heap = heap
	if i == 0 {
		heap[0] = e
		rec.pos = 0
		return rec, Timer{slot: slot, seq: s.seq}
	}
	// The first level of the sift without a branch on the comparison, and
	// with stores to the same places either way: at was usually drawn just
	// before, and a branch on it, mispredicted about half the time in a
	// small heap, waits for the draw. Measured on M/M/1: 3% faster through
	// the models, 7% slower in BenchmarkMM1/kernel, whose handler branches
	// on the event kind right after (see benchmarks/README.md). Only in a
	// heap of more than five entries can e rise further.
	p := (i - 1) >> 2
	pe := heap[p]
	m := -lessBit(e, pe) // all ones if e goes above pe, else 0
	dat, dkey := (e.at^pe.at)&Time(m), (e.key^pe.key)&m
	heap[p] = entry{at: pe.at ^ dat, key: pe.key ^ dkey} // e if it goes up, else pe
	heap[i] = entry{at: e.at ^ dat, key: e.key ^ dkey}   // pe if e goes up, else e
	pePos := p ^ (p^i)&int(m)
	s.slots[pe.slot()].pos = int32(pePos)
	rec.pos = int32(pePos ^ p ^ i)
	t := Timer{slot: slot, seq: s.seq}
	if p > 0 && m != 0 {
		return s.rise(p, e, rec, t) // nothing is live across the call
	}
	return rec, t
}

// rise goes on with push's sift from p, where e now is, and returns push's
// results. It is not inlined, so that push keeps nothing across the call.
//
//go:noinline
func (s *Scheduler) rise(p int, e entry, rec *slotRec, t Timer) (*slotRec, Timer) {
	s.siftUp(p, e)
	return rec, t
}

// prepare makes push's common case apply: it panics if at is in the past,
// and otherwise makes sure that there is a free slot, room in the heap and
// an order left for one more event.
//
//go:noinline
func (s *Scheduler) prepare(at Time) {
	if at < s.now {
		s.pastPanic(at)
	}
	if s.free == 0 {
		n := len(s.slots)
		if n >= maxPending {
			panic(fmt.Sprintf("sim: more than %d events pending (seq %d)", maxPending, s.seq))
		}
		s.slots = append(s.slots, slotRec{pos: -1})
		s.free = int32(n) + 1
	}
	if len(s.heap) == cap(s.heap) {
		s.heap = append(s.heap, entry{})[:len(s.heap)]
	}
	if s.ord == math.MaxUint32 {
		s.renumber()
	}
}

// renumber gives the pending events the orders 1, 2, ..., n in their
// present order and the next order n+1 to the event being scheduled. It
// runs when the 32-bit order would wrap, once every 2^32 events, and keeps
// the heap valid because it keeps the order of the keys. The complexity is
// O(n log n); it allocates.
func (s *Scheduler) renumber() {
	byOrd := make([]int32, len(s.heap))
	for i := range byOrd {
		byOrd[i] = int32(i)
	}
	slices.SortFunc(byOrd, func(a, b int32) int { return cmp.Compare(s.heap[a].key, s.heap[b].key) })
	for r, i := range byOrd {
		s.heap[i].key = uint64(r+1)<<32 | uint64(s.heap[i].slot())
	}
	s.ord = uint32(len(byOrd))
}

// pastPanic reports an event scheduled in the past. It is kept out of
// push so that the hot path stays small.
//
//go:noinline
func (s *Scheduler) pastPanic(at Time) {
	panic(fmt.Sprintf("sim: Schedule at %v before now %v (seq %d)", at, s.now, s.seq))
}

// Cancel removes the event t refers to, if it is still pending, and reports
// whether it did. Cancelling a fired, cancelled or zero Timer is a no-op. The
// complexity is O(log n).
func (s *Scheduler) Cancel(t Timer) bool {
	if int(t.slot) >= len(s.slots) {
		return false
	}
	rec := &s.slots[t.slot]
	if rec.seq != t.seq || rec.pos < 0 {
		return false
	}
	i := int(rec.pos)
	s.release(rec, t.slot)
	last := len(s.heap) - 1
	e := s.heap[last]
	s.heap = s.heap[:last]
	if i != last {
		if i > 0 && less(e, s.heap[(i-1)>>2]) {
			s.siftUp(i, e)
		} else {
			s.siftDown(i, e)
		}
	}
	return true
}

// Scheduled reports whether t refers to an event that is still pending.
func (s *Scheduler) Scheduled(t Timer) bool {
	if int(t.slot) >= len(s.slots) {
		return false
	}
	rec := &s.slots[t.slot]
	return rec.seq == t.seq && rec.pos >= 0
}

// release frees the slot rec (index slot) and drops its references for the
// GC.
func (s *Scheduler) release(rec *slotRec, slot uint32) {
	rec.h, rec.ev.Ptr = nil, nil
	rec.pos = -1 - s.free
	s.free = int32(slot) + 1
}

// Step fires the earliest pending event, advancing the clock to its time, and
// reports whether there was one. Step ignores the limits; Run enforces them.
func (s *Scheduler) Step() bool {
	if len(s.heap) == 0 {
		return false
	}
	// The body of fire's loop, once: calling fire for one event costs
	// about 20 instructions more per event (BenchmarkMM1/kernel).
	heap := s.heap
	top := heap[0]
	last := len(heap) - 1
	s.heap = heap[:last]
	if last == 1 {
		heap[0] = heap[1]
		s.slots[heap[0].slot()].pos = 0
	} else if last > 1 {
		s.siftDown(0, heap[last])
	}
	slot := top.slot()
	rec := &s.slots[slot]
	h, ev := rec.h, rec.ev
	s.lastSq = rec.seq
	s.release(rec, slot)
	s.now = top.at
	s.fired++
	h.Handle(ev)
	return true
}

// fire fires events in (time, sequence) order while the earliest lies at or
// before t and fewer than limit events have fired in all. The loop holds
// the whole pop, so that an event costs no call of its own; Step repeats
// its body for one event.
func (s *Scheduler) fire(t Time, limit uint64) {
	for s.fired < limit && len(s.heap) > 0 && s.heap[0].at <= t {
		heap := s.heap
		top := heap[0]
		last := len(heap) - 1
		s.heap = heap[:last]
		if last == 1 { // the common case of a small heap, without a call
			heap[0] = heap[1]
			s.slots[heap[0].slot()].pos = 0
		} else if last > 1 {
			s.siftDown(0, heap[last])
		}
		slot := top.slot()
		rec := &s.slots[slot]
		h, ev := rec.h, rec.ev
		s.lastSq = rec.seq
		s.release(rec, slot)
		s.now = top.at
		s.fired++
		h.Handle(ev)
	}
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
	s.fire(t, s.cfg.MaxEvents)
	if len(s.heap) > 0 && s.heap[0].at <= t { // fire stopped at the event limit
		return &LimitError{Limit: ErrMaxEvents, At: s.now, Events: s.fired, Seq: s.lastSq}
	}
	return nil
}

// siftUp places e at i or above it, moving the entries it passes one level
// down, and records every position it changes.
func (s *Scheduler) siftUp(i int, e entry) {
	heap := s.heap
	for i > 0 {
		p := (i - 1) >> 2
		pe := heap[p]
		if !less(e, pe) {
			break
		}
		heap[i] = pe
		s.slots[pe.slot()].pos = int32(i)
		i = p
	}
	heap[i] = e
	s.slots[e.slot()].pos = int32(i)
}

// siftDown places e at i or below it, moving the least children it
// passes one level up, and records every position it changes.
func (s *Scheduler) siftDown(i int, e entry) {
	heap := s.heap
	n := len(heap)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m, me := c, heap[c]
		if c+3 < n {
			ch := heap[c : c+4 : c+4]
			if less(ch[1], me) {
				m, me = c+1, ch[1]
			}
			if less(ch[2], me) {
				m, me = c+2, ch[2]
			}
			if less(ch[3], me) {
				m, me = c+3, ch[3]
			}
		} else {
			for j := c + 1; j < n; j++ {
				if less(heap[j], me) {
					m, me = j, heap[j]
				}
			}
		}
		if !less(me, e) {
			break
		}
		heap[i] = me
		s.slots[me.slot()].pos = int32(i)
		i = m
	}
	heap[i] = e
	s.slots[e.slot()].pos = int32(i)
}
