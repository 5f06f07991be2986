package failure

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// probe sends one request to an instance every 100ms and records how long
// each took and how it ended.
type probe struct {
	s     *sim.Scheduler
	in    *mesh.Instance
	pool  mesh.Pool
	took  []time.Duration
	ended []mesh.Outcome
}

func (p *probe) Handle(sim.Event) {
	r := p.pool.Get()
	r.Origin = p
	r.Created = p.s.Now()
	p.in.Arrive(r)
	p.s.After(100*time.Millisecond, p, sim.Event{})
}

func (p *probe) Finish(r *mesh.Request, o mesh.Outcome) {
	p.took = append(p.took, p.s.Now().Sub(r.Created))
	p.ended = append(p.ended, o)
	p.pool.Put(r)
}

func setup(t *testing.T, specs func(in *mesh.Instance) []Spec) (*probe, *Timeline) {
	t.Helper()
	s := sim.NewScheduler(sim.Config{})
	st, _ := dist.Constant(10 * time.Millisecond)
	svc, err := mesh.NewService(s, sim.NewStreams(1, 0), mesh.ServiceConfig{Name: "api", Replicas: 1, Concurrency: 1, QueueBound: mesh.Unbounded, ServiceTime: st})
	require.NoError(t, err)
	in := svc.Instances()[0]
	tl, err := New(s, specs(in))
	require.NoError(t, err)
	tl.Start()
	p := &probe{s: s, in: in}
	s.Schedule(0, p, sim.Event{})
	require.NoError(t, s.RunUntil(sim.Time(time.Second-time.Millisecond)))
	return p, tl
}

func TestSlowAppliesOnlyInItsWindow(t *testing.T) {
	p, tl := setup(t, func(in *mesh.Instance) []Spec {
		return []Spec{{At: sim.Time(300 * time.Millisecond), For: 300 * time.Millisecond, Kind: Slow, Label: "api[0]", Targets: []*mesh.Instance{in}, Factor: 5}}
	})
	ms := time.Millisecond
	// Requests at 0..900ms; those starting at 300, 400, 500ms take 50ms.
	assert.Equal(t, []time.Duration{10 * ms, 10 * ms, 10 * ms, 50 * ms, 50 * ms, 50 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms}, p.took)
	assert.Equal(t, []Interval{{Kind: Slow, Target: "api[0]", From: sim.Time(300 * ms), To: sim.Time(600 * ms)}}, tl.Intervals())
}

func TestErrorsAtZeroAndOneHundredPercent(t *testing.T) {
	for _, tc := range []struct {
		prob float64
		want mesh.Outcome
	}{{0, mesh.OutcomeOK}, {1, mesh.OutcomeRejected}} {
		p, _ := setup(t, func(in *mesh.Instance) []Spec {
			return []Spec{{At: sim.Time(200 * time.Millisecond), For: 200 * time.Millisecond, Kind: Errors, Label: "api[0]", Targets: []*mesh.Instance{in}, Prob: tc.prob, Outcome: mesh.OutcomeRejected}}
		})
		for i, o := range p.ended {
			want := mesh.OutcomeOK
			if i == 2 || i == 3 { // the requests finishing at 210ms and 310ms
				want = tc.want
			}
			assert.Equal(t, want, o, "request %d at p=%g", i, tc.prob)
		}
	}
}

func TestSpecValidation(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	in := []*mesh.Instance{nil}
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Kind: Slow, Targets: in}, "failure: invalid configuration: failure 0: slow factor must be > 0, got 0"},
		{Spec{Kind: Errors, Targets: in, Prob: 2}, "failure: invalid configuration: failure 0: probability must be in [0, 1], got 2"},
		{Spec{Kind: Slow, Factor: 2}, "failure: invalid configuration: failure 0: no target"},
		{Spec{Kind: Slow, Factor: 2, Targets: in, At: -1}, "failure: invalid configuration: failure 0: negative time"},
		{Spec{Kind: BrokerDown, Targets: in}, "failure: invalid configuration: failure 0: no target"},
		{Spec{Kind: Loss + 1, Targets: in}, "failure: invalid configuration: failure 0: unknown kind Kind(10)"},
	} {
		_, err := New(s, []Spec{tc.spec})
		assert.EqualError(t, err, tc.want)
	}
}

// switchbox is an Outage that records its transitions.
type switchbox struct {
	s   *sim.Scheduler
	log []string
}

func (b *switchbox) Down() { b.log = append(b.log, "down@"+time.Duration(b.s.Now()).String()) }
func (b *switchbox) Up()   { b.log = append(b.log, "up@"+time.Duration(b.s.Now()).String()) }

func TestOutagesGoDownAndComeBack(t *testing.T) {
	// A broker down from 1 s for 2 s, and a consumer crashed at 4 s for
	// good (for 0): Down at the start, Up at the end, in time order.
	s := sim.NewScheduler(sim.Config{})
	broker, consumer := &switchbox{s: s}, &switchbox{s: s}
	tl, err := New(s, []Spec{
		{At: sim.Time(time.Second), For: 2 * time.Second, Kind: BrokerDown, Label: "broker[1]", Outages: []Outage{broker}},
		{At: sim.Time(4 * time.Second), Kind: ConsumerCrash, Label: "fulfilment[0]", Outages: []Outage{consumer}},
	})
	require.NoError(t, err)
	tl.Start()
	require.NoError(t, s.RunUntil(sim.Time(10*time.Second)))
	assert.Equal(t, []string{"down@1s", "up@3s"}, broker.log)
	assert.Equal(t, []string{"down@4s"}, consumer.log)
	iv := tl.Intervals()
	require.Len(t, iv, 2)
	assert.Equal(t, Interval{Kind: BrokerDown, Target: "broker[1]", From: sim.Time(time.Second), To: sim.Time(3 * time.Second)}, iv[0])
	assert.Equal(t, "consumer_crash", iv[1].Kind.String())
}

// flip records when it goes down and up.
type flip struct {
	s   *sim.Scheduler
	log []string
}

func (f *flip) Down() { f.log = append(f.log, "down@"+f.s.Now().String()) }
func (f *flip) Up()   { f.log = append(f.log, "up@"+f.s.Now().String()) }

func TestProcessAlternates(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	up, _ := dist.Constant(10 * time.Second)
	down, _ := dist.Constant(2 * time.Second)
	f := &flip{s: s}
	p, err := NewProcess(s, sim.NewRand(1, 0), Crash, "api[0]", f, up, down)
	require.NoError(t, err)
	p.Start()
	require.NoError(t, s.RunUntil(sim.Time(30*time.Second)))
	assert.Equal(t, []string{"down@10s", "up@12s", "down@22s", "up@24s"}, f.log)
	iv := p.Intervals()
	require.Len(t, iv, 2)
	assert.Equal(t, Interval{Kind: Crash, Target: "api[0]", From: sim.Time(10 * time.Second), To: sim.Time(12 * time.Second)}, iv[0])
	_, err = NewProcess(s, sim.NewRand(1, 0), Crash, "x", f, nil, down)
	assert.ErrorIs(t, err, ErrConfig)
}
