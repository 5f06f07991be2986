package edf

import (
	"math/rand"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run makes n picks, re-adding each id with its weight, and returns the ids.
func run(s *Scheduler, weights []float64, n int) []int {
	out := make([]int, n)
	for i := range out {
		id := s.Pick()
		s.Add(id, weights[id])
		out[i] = id
	}
	return out
}

func counts(ids []int, n int) []int {
	c := make([]int, n)
	for _, id := range ids {
		c[id]++
	}
	return c
}

func TestSequence(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []int
	}{
		// Equal weights: all deadlines tie, FIFO by insertion order.
		{"equal", []float64{1, 1, 1}, []int{0, 1, 2, 0, 1, 2}},
		// Deadlines 1/3, 2/3, 1(b) and 1(a): a was added first, so at the
		// tie at 1 it goes first.
		{"1:3", []float64{1, 3}, []int{1, 1, 0, 1, 1, 1, 0, 1}},
		// Deadlines 0: .5 1 1.5; 1: 1; 2: .25 .5 .75 1 1.25 1.5. At .5, id 0
		// (added first) beats id 2's re-add; at 1, id 1's original entry
		// beats the re-adds of ids 0 and 2.
		{"2:1:4", []float64{2, 1, 4}, []int{2, 0, 2, 2, 1, 0, 2, 2, 0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.weights, 0)
			assert.Equal(t, tt.want, run(s, tt.weights, len(tt.want)))
		})
	}
}

func TestFullCyclesAreExactFromZero(t *testing.T) {
	// Without initial picks (Envoy before createWithPicks), every block of
	// sum(weights) picks contains each id exactly weight times.
	w := []float64{1, 2, 3, 4}
	s := New(w, 0)
	for cycle := 0; cycle < 1000; cycle++ {
		assert.Equal(t, []int{1, 2, 3, 4}, counts(run(s, w, 10), 4), "cycle %d", cycle)
	}
}

func TestNewWithPicksMatchesPickingOneByOne(t *testing.T) {
	// Envoy's createWithPicks promises the state of an empty scheduler after
	// `picks` picks, except that ties may break differently; with weights
	// that make no exact ties the sequences are identical.
	w := []float64{1.5, 2.7, 3.1, 7.3}
	for picks := uint32(0); picks < 200; picks++ {
		a := New(w, picks)
		b := New(w, 0)
		run(b, w, int(picks))
		require.Equal(t, run(b, w, 50), run(a, w, 50), "picks=%d", picks)
	}
}

func TestNewWithPicksLimitsPicks(t *testing.T) {
	w := []float64{1, 3}
	a := New(w, prePickLimit+5)
	b := New(w, 5)
	assert.Equal(t, run(b, w, 40), run(a, w, 40))
}

func TestEmptyAndSingle(t *testing.T) {
	s := New(nil, 12345)
	assert.Zero(t, s.Len())
	assert.Panics(t, func() { s.Pick() })
	s = New([]float64{5}, 12345)
	assert.Equal(t, []int{0, 0, 0}, run(s, []float64{5}, 3))
}

func TestBadWeightPanics(t *testing.T) {
	for _, w := range []float64{0, -1, nan(), inf()} {
		assert.Panics(t, func() { New([]float64{1, w}, 0) }, "%v", w)
	}
	s := New([]float64{1}, 0)
	assert.Panics(t, func() { s.Add(0, 0) })
}

func TestTinyWeightGivesInfiniteDeadline(t *testing.T) {
	w := []float64{1, 1}
	s := New(w, 0)
	id := s.Pick()
	s.Add(id, 1e-320) // 1/w overflows to +Inf
	for i := 0; i < 10; i++ {
		got := s.Pick()
		require.NotEqual(t, id, got)
		s.Add(got, w[got])
	}
}

func TestPickAndAddAllocateNothing(t *testing.T) {
	w := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	s := New(w, 99)
	allocs := testing.AllocsPerRun(1000, func() {
		id := s.Pick()
		s.Add(id, w[id])
	})
	assert.Zero(t, allocs)
}

// TestQuickCountsFollowWeights is a property test in the style of raft's
// quorum/quick_test.go: for any positive integer weights and any start
// offset, k full rounds of sum(weights) picks give every id k*weight picks,
// within one (EDF's lag bound: the window need not start on a round
// boundary, and floating-point deadlines shift ties).
func TestQuickCountsFollowWeights(t *testing.T) {
	prop := func(raw []uint8, start uint32, rounds uint8) bool {
		if len(raw) == 0 {
			return true
		}
		if len(raw) > 16 {
			raw = raw[:16]
		}
		w := make([]float64, len(raw))
		total := 0
		for i, r := range raw {
			w[i] = float64(1 + int(r)%100)
			total += 1 + int(r)%100
		}
		k := 1 + int(rounds)%8
		c := counts(run(New(w, start), w, k*total), len(w))
		for i := range c {
			if d := c[i] - k*int(w[i]); d < -1 || d > 1 {
				t.Logf("weights %v start %d rounds %d: id %d got %d picks, want %d±1", w, start, k, i, c[i], k*int(w[i]))
				return false
			}
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(1))}
	require.NoError(t, quick.Check(prop, cfg))
}

func nan() float64 { z := 0.0; return z / z }
func inf() float64 { z := 0.0; return 1 / z }
