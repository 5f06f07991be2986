package mesh

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/concurrency"
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

func TestRoutingStep(t *testing.T) {
	// A gateway with two routes: route 0 splits 90/10 between callers 0
	// and 1, route 1 goes to caller 2; a request with no route (or an
	// unknown one) is answered 404, an error.
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(time.Millisecond)
	o := &origin{s: s}
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "gw", Replicas: 1, Concurrency: 1000, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
		Steps: []Step{{Routes: []Route{{Callers: []int{0, 1}, Weights: []int{90, 10}}, {Callers: []int{2}, Weights: []int{1}}}}},
	})
	require.NoError(t, err)
	deps := []*dependency{{s: s, delay: time.Millisecond}, {s: s, delay: time.Millisecond}, {s: s, delay: time.Millisecond}}
	svc.Instances()[0].SetCallers([]Caller{deps[0], deps[1], deps[2]})
	send := func(route int32) {
		r := o.pool.Get()
		r.Origin, r.Measured, r.Route = o, true, route
		svc.Instances()[0].Arrive(r)
	}
	for i := 0; i < 10000; i++ {
		send(0)
	}
	send(1)
	send(-1)
	send(7)
	require.NoError(t, s.Run())
	// Binomial(10000, 0.1): sd 30.
	assert.InDelta(t, 1000, deps[1].got, 150)
	assert.Equal(t, 10000, deps[0].got+deps[1].got)
	assert.Equal(t, 1, deps[2].got)
	errors := 0
	for _, e := range o.ended {
		if strings.HasPrefix(e, "error") {
			errors++
		}
	}
	assert.Equal(t, 2, errors, "no route and an unknown route: 404")
}

func TestAuthStep(t *testing.T) {
	// The edge authenticates, then calls on: a local check adds its cost;
	// a call to an auth service adds the call; a denied request (or a
	// failed auth call, unless failing open) is answered "denied" and
	// goes no further.
	ms := time.Millisecond
	cost, _ := dist.Constant(2 * ms)
	for _, tc := range []struct {
		name   string
		auth   Auth
		authOK Outcome // the auth service's answer
		ended  string
		next   int // requests the next step received
	}{
		{"local check", Auth{Caller: -1, Cost: cost}, OutcomeOK, "ok@17ms", 1},
		{"local check denies", Auth{Caller: -1, Cost: cost, Deny: 1}, OutcomeOK, "denied@12ms", 0},
		{"auth service", Auth{Caller: 1}, OutcomeOK, "ok@19ms", 1},
		{"auth service denies", Auth{Caller: 1, Deny: 1}, OutcomeOK, "denied@14ms", 0},
		{"auth service fails closed", Auth{Caller: 1}, OutcomeError, "denied@14ms", 0},
		{"auth service fails open", Auth{Caller: 1, FailOpen: true}, OutcomeTimeout, "ok@19ms", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			st, _ := dist.Constant(10 * ms)
			o := &origin{s: s}
			a := tc.auth
			svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
				Name: "edge", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
				Steps: []Step{{Auth: &a}, {Calls: []int{0}, Wait: 1}},
			})
			require.NoError(t, err)
			next := &dependency{s: s, delay: 5 * ms}
			authSvc := &dependency{s: s, delay: 4 * ms, outcome: tc.authOK}
			svc.Instances()[0].SetCallers([]Caller{next, authSvc})
			o.send(svc.Instances()[0])
			require.NoError(t, s.Run())
			require.Len(t, o.ended, 1)
			assert.Equal(t, tc.ended, o.ended[0][:len(tc.ended)])
			assert.Equal(t, tc.next, next.got)
			assert.Len(t, svc.Instances()[0].frames, 1)
		})
	}
	// A share of denials: Binomial(4000, 0.25), sd 27.
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(ms)
	o := &origin{s: s}
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "edge", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
		Steps: []Step{{Auth: &Auth{Caller: -1, Cost: cost, Deny: 0.25}}},
	})
	require.NoError(t, err)
	for i := 0; i < 4000; i++ {
		o.send(svc.Instances()[0])
	}
	require.NoError(t, s.Run())
	denied := 0
	for _, e := range o.ended {
		if strings.HasPrefix(e, "denied") {
			denied++
		}
	}
	assert.InDelta(t, 1000, denied, 120)
}

func TestDeadlinePropagation(t *testing.T) {
	// Children carry the request's deadline only when the service
	// propagates deadlines.
	for _, propagate := range []bool{false, true} {
		s := sim.NewScheduler(sim.Config{})
		st, _ := dist.Constant(time.Millisecond)
		o := &origin{s: s}
		svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
			Name: "api", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
			Steps: []Step{{Calls: []int{0}, Wait: 1}}, PropagateDeadline: propagate,
		})
		require.NoError(t, err)
		rec := &deadlines{s: s}
		svc.Instances()[0].SetCallers([]Caller{rec})
		r := o.pool.Get()
		r.Origin, r.Deadline = o, sim.Time(0).Add(time.Second)
		svc.Instances()[0].Arrive(r)
		require.NoError(t, s.Run())
		want := sim.Time(0)
		if propagate {
			want = sim.Time(0).Add(time.Second)
		}
		assert.Equal(t, []sim.Time{want}, rec.got, "propagate %v", propagate)
	}
}

// deadlines answers every child at once and records its deadline.
type deadlines struct {
	s   *sim.Scheduler
	got []sim.Time
}

func (d *deadlines) Send(r *Request) {
	d.got = append(d.got, r.Deadline)
	r.Origin.Finish(r, OutcomeOK)
}

func TestCrashDuringCalls(t *testing.T) {
	// The handler waits 20ms on a call when the instance crashes at 15ms:
	// the request is lost (reset), and the call's answer at 25ms is
	// discarded without answering it again; the frame is released.
	ms := time.Millisecond
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(5 * ms)
	o := &origin{s: s}
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "api", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st,
		Steps: []Step{{Calls: []int{0}, Wait: 1}}, Pool: &o.pool,
	})
	require.NoError(t, err)
	in := svc.Instances()[0]
	in.Track()
	in.SetCallers([]Caller{&dependency{s: s, delay: 20 * ms}})
	o.send(in)
	s.Schedule(sim.Time(15*ms), handlerFunc(in.Crash), sim.Event{})
	require.NoError(t, s.Run())
	require.Len(t, o.ended, 1)
	assert.Equal(t, "reset@15ms", o.ended[0][:len("reset@15ms")])
	assert.Len(t, in.frames, 1, "the frame is back in the pool")
	assert.Equal(t, int64(1), in.Lost())
	assert.Zero(t, svc.MeasuredHeld())
}

func TestCrashDuringLocalAuth(t *testing.T) {
	// The edge's local auth check takes 10ms from 5ms; the instance
	// crashes at 8ms and restarts at 9ms, and a second request starts
	// its check at 14ms on a recycled frame. The first check's end at
	// 15ms belongs to the crashed process: it must be ignored, not settle
	// the second request's check early (or a released frame).
	ms := time.Millisecond
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(5 * ms)
	cost, _ := dist.Constant(10 * ms)
	o := &origin{s: s}
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "edge", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
		Steps: []Step{{Auth: &Auth{Caller: -1, Cost: cost}}},
	})
	require.NoError(t, err)
	in := svc.Instances()[0]
	in.Track()
	at := func(d time.Duration, f func()) { s.Schedule(sim.Time(d), handlerFunc(f), sim.Event{}) }
	at(0, func() { o.send(in) })
	at(8*ms, in.Crash)
	at(9*ms, in.Restart)
	at(9*ms, func() { o.send(in) })
	require.NoError(t, s.Run())
	require.Equal(t, []string{"reset@8ms", "ok@24ms"}, []string{o.ended[0][:len("reset@8ms")], o.ended[1][:len("ok@24ms")]})
	assert.Len(t, o.ended, 2)
	assert.Len(t, in.frames, 1)
	assert.Zero(t, svc.MeasuredHeld())
}

func TestExpiredInQueueLeavesAdaptiveConcurrency(t *testing.T) {
	// A deadline-aware handler behind the adaptive concurrency filter
	// (pinned at 4 while it measures the minRTT): one request in service
	// for 10ms, three queued behind it whose deadline passes at 1ms. When
	// the slot frees they are answered DEADLINE_EXCEEDED without service:
	// each must leave the filter's outstanding count, so that two
	// requests at 20ms are both forwarded, not refused by a limit held by
	// nobody.
	ms := time.Millisecond
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(10 * ms)
	o := &origin{s: s}
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "api", Replicas: 1, Concurrency: 1, QueueBound: Unbounded, ServiceTime: st, Pool: &o.pool,
		PropagateDeadline: true, Adaptive: &concurrency.Config{MinConcurrency: 4, MaxLimit: 100},
	})
	require.NoError(t, err)
	in := svc.Instances()[0]
	o.send(in)
	for range 3 {
		r := o.pool.Get()
		r.Origin, r.Measured, r.Deadline = o, true, sim.Time(ms)
		in.Arrive(r)
	}
	s.Schedule(sim.Time(20*ms), handlerFunc(func() { o.send(in); o.send(in) }), sim.Event{})
	require.NoError(t, s.RunUntil(sim.Time(time.Second)))
	require.Len(t, o.ended, 6)
	for i, want := range []string{"ok@10ms", "timeout@10ms", "timeout@10ms", "timeout@10ms", "ok@30ms", "ok@40ms"} {
		assert.Equal(t, want, o.ended[i][:len(want)], "request %d", i)
	}
}
