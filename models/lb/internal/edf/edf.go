// Package edf implements Envoy's earliest-deadline-first scheduler
// (source/common/upstream/edf_scheduler.h), which Envoy uses for weighted
// round robin and for least request when endpoint weights differ.
//
// Every entry has a deadline; a pick takes the entry with the earliest
// deadline, moves the scheduler's clock to that deadline, and the caller adds
// the entry back with deadline = clock + 1/weight. Entries with equal
// deadlines are picked in the order in which they were added (FIFO, by an
// insertion counter), exactly as Envoy's order_offset_ tie-break does, so
// the pick sequence depends only on the weights and the number of initial
// picks, never on the heap's internal layout.
//
// The queue is a typed binary heap of value entries: Pick and Add allocate
// nothing and take O(log n) time.
//
// Floating point: deadlines are sums of 1/weight, as in Envoy. Each step is
// one correctly rounded division and one correctly rounded addition (no
// multiply-add that a compiler could fuse), so the sequence is bit-identical
// on every platform.
package edf

import (
	"fmt"
	"math"
)

// Scheduler is an EDF queue of integer ids (host indexes). The zero value is
// an empty scheduler. A Scheduler is not safe for concurrent use.
type Scheduler struct {
	now   float64 // Envoy current_time_: the deadline of the last pick
	order uint64  // Envoy order_offset_: insertion counter for FIFO ties
	heap  []entry
}

type entry struct {
	deadline float64
	order    uint64
	id       int
}

// less orders entries by (deadline, insertion order). The order is unique,
// so the minimum is always one well-defined entry.
func less(a, b *entry) bool {
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	return a.order < b.order
}

// prePickLimit bounds the emulated initial picks, as Envoy does
// ("picks % UINT_MAX/10").
const prePickLimit = 429496729

// epsilon is added to every weight while emulating the initial picks, as in
// Envoy, so that weights that are multiples of each other do not produce
// deadlines that differ from one-by-one picking in the last bit.
const epsilon = 1e-13

// New returns a scheduler holding ids 0..len(weights)-1 with the given
// weights, in the state reached by adding them in id order to an empty
// scheduler and then making picks%429496729 picks (re-adding each picked id
// with its weight). It is a port of Envoy's EdfScheduler::createWithPicks,
// which newer Envoy uses so that the workers of one proxy (and here, the
// balancers of different sidecars) start at different points of the
// schedule instead of all sending their first requests to the same host.
// Like Envoy it emulates most picks in closed form (each id i is picked
// floor(P*w_i/W) times) and performs the remaining fewer-than-n picks one by
// one, so the cost is O(n log n) whatever picks is.
//
// New panics if a weight is not a positive number, since that is a
// programming error (Envoy asserts the same).
func New(weights []float64, picks uint32) *Scheduler {
	for i, w := range weights {
		checkWeight(i, w)
	}
	s := &Scheduler{heap: make([]entry, 0, len(weights))}
	if len(weights) == 0 {
		return s
	}
	picks %= prePickLimit
	// Sum in id order, as std::accumulate does.
	sum := 0.0
	for _, w := range weights {
		sum += w + epsilon
	}
	perPick := float64(picks) / sum
	done := uint32(0)
	maxPickTime := 0.0
	for i, w := range weights {
		aug := w + epsilon
		floor := uint32(aug * float64(picks) / sum)
		// Envoy: "there were a few cases where the math and floating-point
		// arithmetic did not agree (specifically floor(A*B) was greater
		// than A*B)"; it then emulates one pick fewer.
		if floor > 0 && float64(floor)/aug >= perPick {
			floor--
		}
		pickTime := float64(floor) / aug
		s.heap = append(s.heap, entry{deadline: float64(floor+1) / aug, order: uint64(i), id: i})
		maxPickTime = max(maxPickTime, pickTime)
		done += floor
	}
	// The clock is the latest time at which some entry was picked.
	s.now = maxPickTime
	s.order = uint64(len(weights))
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	// The remaining picks are done one by one, with the true weights.
	for ; done < picks; done++ {
		id := s.Pick()
		s.Add(id, weights[id])
	}
	return s
}

// Len returns the number of entries in the queue.
func (s *Scheduler) Len() int { return len(s.heap) }

// Pick removes the entry with the earliest deadline (the earliest added
// among equal deadlines), advances the clock to its deadline and returns its
// id. The caller adds it back with Add, with a weight it may recompute, as
// Envoy's pickAndAdd does. Pick panics if the queue is empty. The complexity
// is O(log n).
func (s *Scheduler) Pick() int {
	if len(s.heap) == 0 {
		panic("edf: Pick on an empty scheduler")
	}
	top := s.heap[0]
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap = s.heap[:last]
	if last > 0 {
		s.down(0)
	}
	s.now = top.deadline
	return top.id
}

// Add inserts id with deadline = clock + 1/weight. Add panics if weight is
// not a positive number. A weight so small that 1/weight overflows gives an
// infinite deadline: the entry is then picked only after every finite one,
// which is what Envoy does in release builds. The complexity is O(log n).
func (s *Scheduler) Add(id int, weight float64) {
	checkWeight(id, weight)
	s.heap = append(s.heap, entry{deadline: s.now + 1/weight, order: s.order, id: id})
	s.order++
	s.up(len(s.heap) - 1)
}

func checkWeight(id int, w float64) {
	if !(w > 0) || math.IsInf(w, 1) {
		panic(fmt.Sprintf("edf: id %d has weight %v, want a finite number > 0", id, w))
	}
}

func (s *Scheduler) up(i int) {
	h := s.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (s *Scheduler) down(i int) {
	h := s.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
