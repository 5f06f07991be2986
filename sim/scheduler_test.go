package sim

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder appends every event it handles.
type recorder struct {
	s   *Scheduler
	got []int64
	at  []Time
}

func (r *recorder) Handle(ev Event) {
	r.got = append(r.got, ev.Arg)
	r.at = append(r.at, r.s.Now())
}

func TestSchedulerOrdersByTimeThenSequence(t *testing.T) {
	s := NewScheduler(Config{})
	r := &recorder{s: s}
	// Eight events at the same instant fire in scheduling order (FIFO), the
	// case container/heap gets wrong when Less compares time only.
	for i := int64(0); i < 8; i++ {
		s.Schedule(10, r, Event{Arg: i})
	}
	s.Schedule(5, r, Event{Arg: 100})
	s.Schedule(20, r, Event{Arg: 200})
	require.NoError(t, s.Run())
	assert.Equal(t, []int64{100, 0, 1, 2, 3, 4, 5, 6, 7, 200}, r.got)
	assert.Equal(t, Time(20), s.Now())
	assert.Equal(t, uint64(10), s.Fired())
}

func TestSchedulerRandomOrderMatchesSort(t *testing.T) {
	// Property: popping yields events sorted by (time, scheduling order),
	// whatever the insertion pattern, including cancellations.
	s := NewScheduler(Config{})
	r := &recorder{s: s}
	rnd := NewRand(1, 2)
	type want struct {
		at  Time
		arg int64
	}
	var timers []Timer
	var all []want
	for i := int64(0); i < 5000; i++ {
		at := Time(rnd.IntN(300))
		timers = append(timers, s.Schedule(at, r, Event{Arg: i}))
		all = append(all, want{at, i})
	}
	cancelled := map[int64]bool{}
	for i := 0; i < 1500; i++ {
		k := rnd.IntN(len(timers))
		if s.Cancel(timers[k]) {
			cancelled[int64(k)] = true
		}
	}
	require.NoError(t, s.Run())
	var exp []int64
	for at := Time(0); at < 300; at++ {
		for _, w := range all {
			if w.at == at && !cancelled[w.arg] {
				exp = append(exp, w.arg)
			}
		}
	}
	assert.Equal(t, exp, r.got)
}

func TestCancel(t *testing.T) {
	s := NewScheduler(Config{})
	r := &recorder{s: s}
	a := s.Schedule(1, r, Event{Arg: 1})
	b := s.Schedule(2, r, Event{Arg: 2})
	require.True(t, s.Scheduled(a))
	assert.True(t, s.Cancel(a))
	assert.False(t, s.Cancel(a), "cancelling twice is a no-op")
	assert.False(t, s.Scheduled(a))
	assert.False(t, s.Cancel(Timer{}), "the zero timer refers to nothing")
	require.NoError(t, s.Run())
	assert.Equal(t, []int64{2}, r.got)
	assert.False(t, s.Cancel(b), "a fired timer cannot be cancelled")
	// The slot of a fired event is reused; the stale timer must not cancel
	// the new event that now lives in it.
	c := s.Schedule(3, r, Event{Arg: 3})
	assert.False(t, s.Cancel(b))
	assert.True(t, s.Scheduled(c))
}

func TestRunLimits(t *testing.T) {
	t.Run("until", func(t *testing.T) {
		s := NewScheduler(Config{Until: Time(time.Second)})
		tk := &ticker{s: s, every: 100 * time.Millisecond}
		s.After(0, tk, Event{})
		err := s.Run()
		var le *LimitError
		require.ErrorAs(t, err, &le)
		assert.True(t, errors.Is(err, ErrUntil))
		assert.Equal(t, Time(time.Second), s.Now())
		assert.Equal(t, 11, tk.n, "ticks at 0, 100ms, ..., 1s inclusive")
		assert.Equal(t, "sim: stopped at the time limit until=1s after 11 events", err.Error())
	})
	t.Run("max events", func(t *testing.T) {
		s := NewScheduler(Config{MaxEvents: 5})
		tk := &ticker{s: s, every: time.Millisecond}
		s.After(0, tk, Event{})
		err := s.Run()
		assert.True(t, errors.Is(err, ErrMaxEvents))
		assert.Equal(t, 5, tk.n)
		assert.Equal(t, "sim: stopped at the event limit max_events=5 at t=4ms (last seq 5)", err.Error())
	})
	t.Run("drained", func(t *testing.T) {
		s := NewScheduler(Config{Until: 10})
		s.Schedule(3, &recorder{s: s}, Event{})
		assert.NoError(t, s.Run())
	})
}

func TestScheduleInThePastPanics(t *testing.T) {
	s := NewScheduler(Config{})
	s.Schedule(10, &recorder{s: s}, Event{})
	s.Step()
	assert.PanicsWithValue(t, "sim: Schedule at 5ns before now 10ns (seq 1)", func() {
		s.Schedule(5, &recorder{s: s}, Event{})
	})
}

func TestTimeAddSaturates(t *testing.T) {
	assert.Equal(t, MaxTime, (MaxTime - 1).Add(time.Hour))
	assert.Equal(t, Time(1500), Time(500).Add(time.Microsecond))
	assert.Equal(t, "1.5s", Time(1500*time.Millisecond).String())
}

// ticker reschedules itself forever.
type ticker struct {
	s     *Scheduler
	every time.Duration
	n     int
}

func (t *ticker) Handle(Event) {
	t.n++
	t.s.After(t.every, t, Event{})
}

// hold is the classic hold model: each fired event schedules one more at an
// exponential offset, keeping the number of pending events constant.
type hold struct {
	s   *Scheduler
	rnd *Rand
}

func (h *hold) Handle(ev Event) {
	h.s.After(time.Duration(h.rnd.ExpFloat64()*1e6), h, ev)
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	s := NewScheduler(Config{})
	h := &hold{s: s, rnd: NewRand(1, 1)}
	for i := 0; i < 1000; i++ {
		s.After(time.Duration(i), h, Event{Ptr: h})
	}
	for i := 0; i < 10000; i++ { // warm up the slab and heap capacity
		s.Step()
	}
	allocs := testing.AllocsPerRun(10000, func() { s.Step() })
	assert.Zero(t, allocs)
	// Cancel-and-reschedule, as a per-try timeout does, allocates nothing either.
	allocs = testing.AllocsPerRun(10000, func() {
		tm := s.After(time.Second, h, Event{})
		s.Cancel(tm)
	})
	assert.Zero(t, allocs)
}

func TestRunNeverMovesTheClockBackwards(t *testing.T) {
	s := NewScheduler(Config{Until: 10})
	tk := &ticker{s: s, every: 5}
	s.Schedule(0, tk, Event{})
	require.NoError(t, s.RunUntil(20))
	require.Equal(t, Time(20), s.Now())
	assert.ErrorIs(t, s.Run(), ErrUntil)
	assert.Equal(t, Time(20), s.Now(), "Run after RunUntil past Until keeps the later time")
	assert.Panics(t, func() { s.Schedule(12, tk, Event{}) }, "12 is in the past")
}

func TestOrderWrapKeepsTimeThenSequence(t *testing.T) {
	// The heap orders ties by a 32-bit order that is renumbered when it
	// would wrap (once every 2^32 events). Force many wraps in a random mix
	// of schedules, cancels and steps, and check that events still fire by
	// (time, scheduling order).
	s := NewScheduler(Config{})
	r := &recorder{s: s}
	rnd := NewRand(3, 4)
	type pending struct {
		at  Time
		arg int64
		tm  Timer
	}
	var live []pending // in scheduling order
	var want []int64
	next := int64(0)
	for round := 0; round < 200; round++ {
		s.ord = math.MaxUint32 - uint32(rnd.IntN(8)) // wrap within the next few schedules
		for k := rnd.IntN(40); k > 0; k-- {
			at := s.Now() + Time(rnd.IntN(20))
			live = append(live, pending{at, next, s.Schedule(at, r, Event{Arg: next})})
			next++
		}
		for k := rnd.IntN(5); k > 0 && len(live) > 0; k-- {
			i := rnd.IntN(len(live))
			require.True(t, s.Cancel(live[i].tm))
			live = slices.Delete(live, i, i+1)
		}
		for k := rnd.IntN(40); k > 0 && len(live) > 0; k-- {
			first := 0
			for i, p := range live {
				if p.at < live[first].at {
					first = i
				}
			}
			want = append(want, live[first].arg)
			live = slices.Delete(live, first, first+1)
			require.True(t, s.Step())
		}
	}
	assert.Equal(t, want, r.got)
	assert.Equal(t, len(live), s.Pending())
}
