package mesh

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// MaxReadModels bounds the read models of one Tracer: a trace keeps one
// bit per read model.
const MaxReadModels = 8

// Tracer follows business transactions across the synchronous and the
// asynchronous half: a trace begins with a workload's request and takes
// in every request made on its behalf (calls, retries, hedges) and every
// message published by any of them, then the consumers' processings of
// those messages and their own calls and publishes, and so on. Each of
// these holds the trace while it lives (a request until it is released to
// its Pool, a message at each subscription until its first processing or
// another end); when the last hold is released, the trace's end-to-end
// latency, from the workload's request to its last effect, is recorded
// for that workload. Effects are the answer to the workload's request and
// the end of a message's first processing at a subscription.
//
// A Tracer also measures read-your-write staleness for read models
// (CQRS): the time from the acknowledgement of a workload's request (the
// command, answered ok) to a read model's projector finishing the first
// processing of a message of its trace, 0 when the projection was visible
// before the acknowledgement.
//
// Traces are pooled, so that steady-state tracing allocates nothing;
// memory grows with the traces open at once, not with the traces
// simulated. Every method is O(1) except Answered, O(MaxReadModels).
type Tracer struct {
	s      *sim.Scheduler
	free   []*Trace
	e2e    []*stats.Histogram // by origin
	models []*ReadModel
	step   time.Duration
	slices int
	open   int64
}

// ReadModel is one read model of a Tracer: its staleness distribution and
// timeline.
type ReadModel struct {
	tr    *Tracer
	index int
	name  string
	// Staleness of the measured commands (those created after the
	// warm-up), ns.
	stale *stats.Histogram
	// sum and n: staleness summed (ns) and counted per slice of the run,
	// by the time the command was acknowledged, warm-up included.
	sum, n []int64
}

// Trace is one business transaction. See Tracer.
type Trace struct {
	tr        *Tracer
	id        uint64
	origin    int32
	holds     int32
	measured  bool
	answered  bool
	acked     bool
	projected uint8 // read models that made the trace visible before its acknowledgement
	start     sim.Time
	last      sim.Time
	ackAt     sim.Time
}

// NewTracer returns a tracer on s for traces that begin at origins
// origins (workloads, numbered from 0).
func NewTracer(s *sim.Scheduler, origins int) *Tracer {
	t := &Tracer{s: s}
	for range origins {
		t.e2e = append(t.e2e, stats.NewHistogram())
	}
	return t
}

// NewReadModel adds a read model named name and returns it. At most
// MaxReadModels.
func (t *Tracer) NewReadModel(name string) (*ReadModel, error) {
	if len(t.models) == MaxReadModels {
		return nil, fmt.Errorf("%w: read model %s: at most %d read models", ErrConfig, name, MaxReadModels)
	}
	rm := &ReadModel{tr: t, index: len(t.models), name: name, stale: stats.NewHistogram()}
	if t.slices > 0 {
		rm.sum, rm.n = make([]int64, t.slices), make([]int64, t.slices)
	}
	t.models = append(t.models, rm)
	return rm, nil
}

// SetTimeline makes staleness be recorded per slice of step over n
// slices as well (the last one takes what comes later).
func (t *Tracer) SetTimeline(step time.Duration, n int) {
	t.step, t.slices = step, n
	for _, rm := range t.models {
		rm.sum, rm.n = make([]int64, n), make([]int64, n)
	}
}

// Begin starts trace id (the first request's ID) at origin now,
// measured or not (created in the measurement window). It holds nothing
// yet: give it to a request with Request.SetTrace.
func (t *Tracer) Begin(origin int, id uint64, measured bool) *Trace {
	var tc *Trace
	if n := len(t.free); n > 0 {
		tc = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		tc = &Trace{}
	}
	now := t.s.Now()
	*tc = Trace{tr: t, id: id, origin: int32(origin), measured: measured, start: now, last: now}
	t.open++
	return tc
}

// EndToEnd returns a copy of the end-to-end latencies of origin's
// finished, measured traces, ns.
func (t *Tracer) EndToEnd(origin int) *stats.Histogram { return t.e2e[origin].Clone() }

// Open returns the traces begun and not finished: some of their messages
// are still pending, or a request is still in flight.
func (t *Tracer) Open() int64 { return t.open }

// Name returns the read model's name.
func (rm *ReadModel) Name() string { return rm.name }

// Staleness returns a copy of the staleness of the measured commands, ns.
func (rm *ReadModel) Staleness() *stats.Histogram { return rm.stale.Clone() }

// Timeline returns the staleness summed (ns) and counted per slice (see
// Tracer.SetTimeline), copied.
func (rm *ReadModel) Timeline() (sum, n []int64) {
	return append([]int64(nil), rm.sum...), append([]int64(nil), rm.n...)
}

// ID returns the trace id: its first request's ID.
func (tc *Trace) ID() uint64 { return tc.id }

// Hold takes a hold on the trace: it stays open until Release.
func (tc *Trace) Hold() { tc.holds++ }

// Release gives a hold back; the last one finishes the trace, which
// records its end-to-end latency if measured, and recycles it.
func (tc *Trace) Release() {
	tc.holds--
	if tc.holds > 0 {
		return
	}
	if tc.holds < 0 {
		panic(fmt.Sprintf("mesh: trace released more often than held (seq %d)", tc.tr.s.Fired()))
	}
	t := tc.tr
	if tc.measured {
		t.e2e[tc.origin].Record(int64(tc.last - tc.start))
	}
	t.open--
	*tc = Trace{}
	t.free = append(t.free, tc)
}

// Effect records an effect of the trace now.
func (tc *Trace) Effect() { tc.last = max(tc.last, tc.tr.s.Now()) }

// Answered records the answer to the trace's first request, ok or not:
// an effect, and, when ok, the command's acknowledgement, so that read
// models that projected it already are fresh (staleness 0).
func (tc *Trace) Answered(ok bool) {
	tc.Effect()
	tc.answered = true
	if !ok {
		return
	}
	tc.acked, tc.ackAt = true, tc.tr.s.Now()
	for k := range MaxReadModels {
		if tc.projected&(1<<k) != 0 {
			tc.tr.models[k].record(tc, 0)
		}
	}
	tc.projected = 0
}

// Projected records that read model rm made a message of the trace
// visible now (its projector finished processing it the first time).
func (tc *Trace) Projected(rm *ReadModel) {
	switch {
	case tc.acked:
		rm.record(tc, tc.tr.s.Now().Sub(tc.ackAt))
	case !tc.answered:
		tc.projected |= 1 << rm.index
	}
}

func (rm *ReadModel) record(tc *Trace, d time.Duration) {
	if tc.measured {
		rm.stale.Record(int64(d))
	}
	if rm.tr.slices > 0 {
		k := min(int(int64(tc.ackAt)/int64(rm.tr.step)), rm.tr.slices-1)
		rm.sum[k] += int64(d)
		rm.n[k]++
	}
}

// SetTrace makes r part of trace tc (nil for none), which it holds until
// it is released to its Pool.
func (r *Request) SetTrace(tc *Trace) {
	if tc != nil {
		tc.Hold()
	}
	r.Trace = tc
}
