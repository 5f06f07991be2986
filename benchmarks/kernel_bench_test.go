package benchmarks

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// The kernel benchmarks use the scheduler alone, with handlers that do the
// least work an event can do, so that they measure the event queue.

// holdMean is the mean hold time of the hold model. Its value only sets the
// time scale: with n events pending, the clock advances by about holdMean/n
// per event.
const holdMean = time.Millisecond

// holder is the handler of the hold model: every event it handles schedules
// one new event an exponential time later, so the number of pending events
// stays constant.
type holder struct {
	s   *sim.Scheduler
	rnd *sim.Rand
}

func (h *holder) Handle(ev sim.Event) {
	h.s.After(expDuration(h.rnd, holdMean), h, ev)
}

// newHold returns a scheduler holding n pending events of the hold model,
// warmed up by 10n steps (at least 100k) so that the heap has reached its
// steady-state shape and every slab, slice and free list its final size.
func newHold(n int) *sim.Scheduler {
	s := sim.NewScheduler(sim.Config{})
	h := &holder{s: s, rnd: sim.NewStreams(1, 0).Get("hold", "delay")}
	for i := 0; i < n; i++ {
		s.After(expDuration(h.rnd, holdMean), h, sim.Event{Arg: int64(i)})
	}
	for i := 0; i < max(10*n, 100_000); i++ {
		s.Step()
	}
	return s
}

// BenchmarkHold is the classic hold model of event-queue benchmarks: with n
// events pending, each operation pops the earliest one, whose handler
// schedules one new event at now plus an exponential draw (mean 1 ms).
// One op is one event: a pop, an RNG draw and a push. It must allocate
// nothing.
func BenchmarkHold(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			s := newHold(n)
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				s.Step()
			}
			m.report(b, int64(b.N), "op")
		})
	}
}

// nop is a handler that does nothing.
type nop struct{}

func (nop) Handle(sim.Event) {}

// BenchmarkDup schedules n events all at the same instant and then fires
// them all, like container/heap's BenchmarkDup: the all-ties case, where
// only the sequence number orders the events (FIFO). One op is one round of
// n schedules and n steps; ns/event is the time per schedule+step.
func BenchmarkDup(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s := sim.NewScheduler(sim.Config{})
			round := func() {
				at := s.Now() + 1
				for j := 0; j < n; j++ {
					s.Schedule(at, nop{}, sim.Event{Arg: int64(j)})
				}
				for s.Step() {
				}
			}
			round() // grow the heap and the slab once
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				round()
			}
			m.report(b, int64(b.N)*int64(n), "event")
		})
	}
}

// timeoutTry is a request attempt with a per-try timeout that never fires:
// the response comes after an exponential time (mean 1 ms) and cancels the
// timeout (30 s), then the next attempt starts at once, so the number of
// attempts in flight stays constant. Every attempt costs two schedules, one
// cancel and one step, the pattern of a retry policy's timer (DESIGN.md:
// a per-try timeout is cancelled far more often than it fires).
type timeoutTry struct {
	s       *sim.Scheduler
	rnd     *sim.Rand
	timers  []sim.Timer // the pending timeout of each attempt slot
	expired int64
}

const (
	evResponse int32 = iota + 1
	evTimeout
)

func (h *timeoutTry) start(slot int64) {
	h.timers[slot] = h.s.After(30*time.Second, h, sim.Event{Kind: evTimeout, Arg: slot})
	h.s.After(expDuration(h.rnd, holdMean), h, sim.Event{Kind: evResponse, Arg: slot})
}

func (h *timeoutTry) Handle(ev sim.Event) {
	switch ev.Kind {
	case evResponse:
		if !h.s.Cancel(h.timers[ev.Arg]) {
			panic("benchmarks: per-try timeout already gone")
		}
		h.start(ev.Arg)
	case evTimeout:
		h.expired++
	}
}

// BenchmarkTimeout measures cancellable timers with n attempts in flight
// (so 2n pending events: n responses and n timeouts).
//
// "cancel" is the bare pair Schedule + Cancel of a timeout on top of the
// hold model's queue (n events pending), without firing anything: one op is
// one timer armed and disarmed.
//
// "try" is a full attempt: one op is one response event fired, whose
// handler cancels its timeout and starts the next attempt (a timeout and a
// response scheduled). The timeouts never fire.
func BenchmarkTimeout(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("cancel/pending=%d", n), func(b *testing.B) {
			s := newHold(n)
			h := nop{}
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				t := s.After(30*time.Second, h, sim.Event{})
				s.Cancel(t)
			}
			m.report(b, int64(b.N), "op")
		})
		b.Run(fmt.Sprintf("try/inflight=%d", n), func(b *testing.B) {
			s := sim.NewScheduler(sim.Config{})
			h := &timeoutTry{s: s, rnd: sim.NewStreams(1, 0).Get("try", "response"), timers: make([]sim.Timer, n)}
			for i := 0; i < n; i++ {
				h.start(int64(i))
			}
			for i := 0; i < max(10*n, 100_000); i++ {
				s.Step()
			}
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				s.Step()
			}
			m.report(b, int64(b.N), "op")
			if h.expired != 0 {
				b.Fatalf("%d timeouts fired", h.expired)
			}
		})
	}
}

// TestKernelSteadyStateAllocatesNothing checks, as a test and therefore on
// every `go test`, what the benchmarks show with -benchmem: once warm, the
// hold model, the all-ties round and a timer's schedule+cancel allocate
// nothing per event.
func TestKernelSteadyStateAllocatesNothing(t *testing.T) {
	s := newHold(1_000)
	if a := testing.AllocsPerRun(10_000, func() { s.Step() }); a != 0 {
		t.Errorf("hold model: %v allocs per event, want 0", a)
	}
	if a := testing.AllocsPerRun(10_000, func() { s.Cancel(s.After(time.Second, nop{}, sim.Event{})) }); a != 0 {
		t.Errorf("schedule+cancel: %v allocs, want 0", a)
	}
	dup := sim.NewScheduler(sim.Config{})
	round := func() {
		at := dup.Now() + 1
		for j := 0; j < 1_000; j++ {
			dup.Schedule(at, nop{}, sim.Event{})
		}
		for dup.Step() {
		}
	}
	round()
	if a := testing.AllocsPerRun(10, round); a != 0 {
		t.Errorf("all ties: %v allocs per round of 1000 events, want 0", a)
	}
}
