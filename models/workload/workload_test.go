package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// sink answers every other request ok after 5ms and rejects the rest at once.
type sink struct {
	s    *sim.Scheduler
	n    int
	held []*mesh.Request
}

func (k *sink) Send(r *mesh.Request) {
	k.n++
	if k.n%2 == 0 {
		r.Origin.Finish(r, mesh.OutcomeRejected)
		return
	}
	k.s.After(5*time.Millisecond, k, sim.Event{Ptr: r})
}

func (k *sink) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	r.Origin.Finish(r, mesh.OutcomeOK)
}

func TestOpenWorkloadCountsOnlyAfterWarmup(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	every, err := dist.Constant(10 * time.Millisecond)
	require.NoError(t, err)
	k := &sink{s: s}
	w, err := NewOpen(s, sim.NewStreams(1, 0), OpenConfig{
		Name: "web", Interarrival: every, Target: k, Pool: &mesh.Pool{}, Warmup: sim.Time(100 * time.Millisecond),
	})
	require.NoError(t, err)
	w.Start()
	// Arrivals at 10ms, 20ms, ..., 990ms: 99 in all, 90 at or after the
	// 100ms warm-up (numbers 10 to 99). Odd ones are answered 5ms later, so
	// number 99, sent at 990ms, is still in flight at 992ms.
	require.NoError(t, s.RunUntil(sim.Time(992*time.Millisecond)))
	st := w.Stats()
	assert.Equal(t, 99, k.n)
	assert.Equal(t, int64(90), st.Arrived)
	var sum int64
	for _, c := range st.Outcomes {
		sum += c
	}
	assert.Equal(t, st.Arrived, sum+st.InFlight, "conserved")
	assert.Equal(t, int64(1), st.InFlight)
	assert.Equal(t, int64(45), st.Outcomes[mesh.OutcomeRejected])
	assert.Equal(t, int64(44), st.Outcomes[mesh.OutcomeOK])
	assert.Equal(t, int64(44), st.Latency.Count())
	assert.Equal(t, int64(5*time.Millisecond), st.Latency.Min())
	assert.Equal(t, int64(5*time.Millisecond), st.Latency.Max())
}

func TestOpenWorkloadPoissonRate(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	exp, err := dist.Exponential(time.Millisecond) // 1000/s
	require.NoError(t, err)
	k := &counter{}
	w, err := NewOpen(s, sim.NewStreams(3, 0), OpenConfig{Name: "web", Interarrival: exp, Target: k, Pool: &mesh.Pool{}})
	require.NoError(t, err)
	w.Start()
	require.NoError(t, s.RunUntil(sim.Time(100*time.Second)))
	// Poisson(1e5): sd 316; 5 sd bounds.
	assert.InDelta(t, 100000, k.n, 1600)
}

type counter struct{ n int }

func (c *counter) Send(r *mesh.Request) {
	c.n++
	r.Origin.Finish(r, mesh.OutcomeOK)
}

func TestOpenConfigValidation(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	zero, _ := dist.Constant(0)
	one, _ := dist.Constant(time.Millisecond)
	for _, tc := range []struct {
		cfg  OpenConfig
		want string
	}{
		{OpenConfig{Interarrival: one, Target: &counter{}, Pool: &mesh.Pool{}}, "workload: invalid configuration: workload without a name"},
		{OpenConfig{Name: "w", Target: &counter{}, Pool: &mesh.Pool{}}, "workload: invalid configuration: workload w: no inter-arrival distribution"},
		{OpenConfig{Name: "w", Interarrival: zero, Target: &counter{}, Pool: &mesh.Pool{}}, "workload: invalid configuration: workload w: mean inter-arrival time must be > 0"},
		{OpenConfig{Name: "w", Interarrival: one}, "workload: invalid configuration: workload w: no target or pool"},
	} {
		_, err := NewOpen(s, sim.NewStreams(1, 0), tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
}

func TestOpenWorkloadWindowIsHalfOpen(t *testing.T) {
	// Arrivals every 100ms; window [1s, 10s): arrivals at 1.0s..9.9s count
	// (90 of them), the one at exactly 10s does not.
	s := sim.NewScheduler(sim.Config{})
	every, _ := dist.Constant(100 * time.Millisecond)
	k := &counter{}
	w, err := NewOpen(s, sim.NewStreams(1, 0), OpenConfig{
		Name: "web", Interarrival: every, Target: k, Pool: &mesh.Pool{},
		Warmup: sim.Time(time.Second), End: sim.Time(10 * time.Second),
	})
	require.NoError(t, err)
	w.Start()
	require.NoError(t, s.RunUntil(sim.Time(10*time.Second)))
	assert.Equal(t, 100, k.n)
	assert.Equal(t, int64(90), w.Stats().Arrived)
}
