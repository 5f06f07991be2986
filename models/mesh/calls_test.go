package mesh

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// dependency answers each child after delay with outcome.
type dependency struct {
	s       *sim.Scheduler
	delay   time.Duration
	outcome Outcome
	got     int
}

func (d *dependency) Send(r *Request) {
	d.got++
	d.s.After(d.delay, d, sim.Event{Ptr: r})
}

func (d *dependency) Handle(ev sim.Event) {
	r := ev.Ptr.(*Request)
	r.Origin.Finish(r, d.outcome)
}

func TestHandlerSteps(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name   string
		steps  []Step
		deps   []*dependency
		ended  string
		childs []int // children each dependency received
	}{
		{"sequential", []Step{{Calls: []int{0}, Wait: 1}, {Calls: []int{1}, Wait: 1}},
			[]*dependency{{delay: 5 * ms}, {delay: 7 * ms}}, "ok@22ms", []int{1, 1}},
		{"parallel, all", []Step{{Calls: []int{0, 1}, Wait: 2}},
			[]*dependency{{delay: 5 * ms}, {delay: 7 * ms}}, "ok@17ms", []int{1, 1}},
		{"parallel, first of two", []Step{{Calls: []int{0, 1}, Wait: 1}},
			[]*dependency{{delay: 5 * ms}, {delay: 30 * ms}}, "ok@15ms", []int{1, 1}},
		{"a failed dependency fails the handler", []Step{{Calls: []int{0}, Wait: 1}, {Calls: []int{1}, Wait: 1}},
			[]*dependency{{delay: 5 * ms, outcome: OutcomeError}, {delay: 7 * ms}}, "error@15ms", []int{1, 0}},
		{"first of two survives one failure", []Step{{Calls: []int{0, 1}, Wait: 1}},
			[]*dependency{{delay: 2 * ms, outcome: OutcomeRejected}, {delay: 6 * ms}}, "ok@16ms", []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			st, _ := dist.Constant(10 * ms)
			o := &origin{s: s}
			svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
				Name: "api", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st,
				Steps: tc.steps, Pool: &o.pool,
			})
			require.NoError(t, err)
			var callers []Caller
			for _, d := range tc.deps {
				d.s = s
				callers = append(callers, d)
			}
			svc.Instances()[0].SetCallers(callers)
			o.send(svc.Instances()[0])
			require.NoError(t, s.Run())
			require.Len(t, o.ended, 1)
			assert.Equal(t, tc.ended, o.ended[0][:len(tc.ended)])
			for i, d := range tc.deps {
				assert.Equal(t, tc.childs[i], d.got, "dependency %d", i)
			}
			// The handler's frame is back in the pool, even when a late
			// child answered after the request did.
			assert.Len(t, svc.Instances()[0].frames, 1)
			assert.Zero(t, svc.MeasuredHeld())
		})
	}
}

func TestStepValidation(t *testing.T) {
	st, _ := dist.Constant(time.Millisecond)
	s := sim.NewScheduler(sim.Config{})
	for _, steps := range [][]Step{{{Calls: nil, Wait: 1}}, {{Calls: []int{0}, Wait: 2}}, {{Calls: []int{-1}, Wait: 1}}} {
		_, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{Name: "a", Replicas: 1, Concurrency: 1, ServiceTime: st, Steps: steps, Pool: &Pool{}})
		assert.ErrorIs(t, err, ErrConfig)
	}
}
