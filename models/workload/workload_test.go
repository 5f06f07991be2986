package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
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
		{OpenConfig{Name: "w", Interarrival: one, Target: &counter{}, Pool: &mesh.Pool{}, Window: -1},
			"workload: invalid configuration: workload w: window -1ns < 0"},
		{OpenConfig{Name: "w", Interarrival: one, Target: &counter{}, Pool: &mesh.Pool{}, Window: time.Second},
			"workload: invalid configuration: workload w: a window series needs an end"},
		{OpenConfig{Name: "w", Interarrival: one, Target: &counter{}, Pool: &mesh.Pool{}, Window: time.Millisecond, End: sim.Time(10*time.Second + 1)},
			"workload: invalid configuration: workload w: window 1ms gives 10001 windows over 10.000000001s; the limit is 10000"},
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

func TestNumWindows(t *testing.T) {
	for _, tc := range []struct {
		end   time.Duration
		width time.Duration
		want  int64
	}{
		{10 * time.Second, time.Second, 10},
		{10*time.Second + 1, time.Second, 11},
		{999 * time.Millisecond, time.Second, 1},
		{0, time.Second, 1},
		{time.Second, 0, 0},
	} {
		assert.Equal(t, tc.want, NumWindows(sim.Time(tc.end), tc.width), "%v / %v", tc.end, tc.width)
	}
}

func TestOpenWorkloadSeries(t *testing.T) {
	// Arrivals every 10ms from 10ms; odd ones answered ok 5ms later, even
	// ones rejected at once (sink). Windows of 100ms over [0, 1s], warm-up
	// 300ms: the series counts the warm-up too.
	s := sim.NewScheduler(sim.Config{})
	every, err := dist.Constant(10 * time.Millisecond)
	require.NoError(t, err)
	k := &sink{s: s}
	w, err := NewOpen(s, sim.NewStreams(1, 0), OpenConfig{
		Name: "web", Interarrival: every, Target: k, Pool: &mesh.Pool{},
		Warmup: sim.Time(300 * time.Millisecond), End: sim.Time(time.Second), Window: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	w.Start()
	require.NoError(t, s.RunUntil(sim.Time(time.Second)))
	sr := w.Series()
	require.NotNil(t, sr)
	require.Len(t, sr.OK, 10)
	require.Len(t, sr.NotOK, 10)
	require.Len(t, sr.Latency, 10)
	assert.Equal(t, 100*time.Millisecond, sr.Width)
	// Window 0 [0, 100ms): arrivals 10..90ms; odd ones (10, 30, 50, 70,
	// 90ms) finish at 15..95ms, even ones (20..80ms) at once.
	assert.Equal(t, int64(5), sr.OK[0])
	assert.Equal(t, int64(4), sr.NotOK[0])
	// Middle windows: ten arrivals each, five of each kind.
	for k := 1; k < 9; k++ {
		assert.Equal(t, int64(5), sr.OK[k], "window %d", k)
		assert.Equal(t, int64(5), sr.NotOK[k], "window %d", k)
		assert.Equal(t, int64(5*time.Millisecond), decode(t, sr.Latency[k]).Max(), "window %d", k)
	}
	// The last window is closed at 1s: the rejection at 1s counts, the ok
	// answer to the arrival at 990ms (due at 995ms) too; the one sent at
	// 1s is not answered yet.
	assert.Equal(t, int64(5), sr.OK[9])
	assert.Equal(t, int64(6), sr.NotOK[9])

	// Every ok completion of the run is in exactly one window, warm-up
	// included, while Stats counts only the measured ones.
	var ok int64
	for k := range sr.OK {
		ok += sr.OK[k]
		assert.Equal(t, sr.OK[k], decode(t, sr.Latency[k]).Count())
	}
	assert.Equal(t, int64(50), ok)
	assert.Equal(t, int64(35), w.Stats().Outcomes[mesh.OutcomeOK])

	// Without a window there is no series.
	w2, err := NewOpen(s, sim.NewStreams(1, 0), OpenConfig{Name: "b", Interarrival: every, Target: k, Pool: &mesh.Pool{}})
	require.NoError(t, err)
	assert.Nil(t, w2.Series())
}

// TestOpenWorkloadSeriesDoesNotAllocate checks that finishing a request
// costs no allocation once the scratch histogram covers the latencies:
// the arrays are allocated with the workload, a histogram allocates only
// when it first sees a range of values, and a window allocates only its
// copy of the latencies, when the next one begins.
func TestOpenWorkloadSeriesDoesNotAllocate(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	every, err := dist.Constant(time.Millisecond)
	require.NoError(t, err)
	pool := &mesh.Pool{}
	w, err := NewOpen(s, sim.NewStreams(1, 0), OpenConfig{
		Name: "web", Interarrival: every, Target: &counter{}, Pool: pool,
		End: sim.Time(time.Hour), Window: time.Second,
	})
	require.NoError(t, err)
	require.NoError(t, s.RunUntil(sim.Time(1500*time.Millisecond)))
	finish := func(latency time.Duration, o mesh.Outcome) {
		r := pool.Get()
		r.Created = s.Now() - sim.Time(latency)
		w.Finish(r, o)
	}
	finish(time.Millisecond, mesh.OutcomeOK) // the first latency: the scratch buckets are allocated
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		o := mesh.OutcomeOK
		if i%3 == 0 {
			o = mesh.OutcomeTimeout
		}
		finish(time.Duration(900+i%200)*time.Microsecond, o)
	})
	assert.Zero(t, allocs)

	// A new window costs one allocation, for the last one's encoding.
	require.NoError(t, s.RunUntil(sim.Time(2500*time.Millisecond)))
	finish(time.Millisecond, mesh.OutcomeOK) // the encoding buffer grows to size
	assert.Equal(t, 1.0, testing.AllocsPerRun(1, func() {
		require.NoError(t, s.RunUntil(s.Now()+sim.Time(time.Second)))
		finish(time.Millisecond, mesh.OutcomeOK)
	}))
	// AllocsPerRun calls the function once more than asked, to warm up:
	// 1001 calls, of which 333 time out, and the first call above.
	assert.Equal(t, int64(1+1001-333), w.Series().OK[1])
	assert.Equal(t, int64(333), w.Series().NotOK[1])
	assert.Equal(t, int64(1+1001-333), decode(t, w.Series().Latency[1]).Count())
	assert.Equal(t, int64(1), w.Series().OK[2])

	// Series may be called mid-run: a window encoded early is merged with
	// what comes after.
	k := int(s.Now() / sim.Time(time.Second))
	assert.Equal(t, int64(1), decode(t, w.Series().Latency[k]).Count())
	finish(time.Millisecond, mesh.OutcomeOK)
	assert.Equal(t, int64(2), decode(t, w.Series().Latency[k]).Count())
}

// decode decodes a window's latency histogram.
func decode(t *testing.T, b []byte) *stats.Histogram {
	t.Helper()
	h := stats.NewHistogram()
	require.NoError(t, h.UnmarshalBinary(b))
	return h
}
