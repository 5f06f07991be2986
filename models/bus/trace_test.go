package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/sim"
)

// tracedRig is a traced workload publishing to a topic read by a group
// that projects into a read model.
type tracedRig struct {
	s      *sim.Scheduler
	pool   *Pool
	tracer *mesh.Tracer
	rm     *mesh.ReadModel
	w      *workload.Open
	prod   *Producer
	group  *Group
}

func newTracedRig(t testing.TB, response, processing time.Duration, gap time.Duration) *tracedRig {
	s := sim.NewScheduler(sim.Config{MaxEvents: 50_000_000})
	streams := sim.NewStreams(5, 0)
	r := &tracedRig{s: s, pool: &Pool{}, tracer: mesh.NewTracer(s, 1)}
	var err error
	r.rm, err = r.tracer.NewReadModel("view")
	require.NoError(t, err)
	r.tracer.SetTimeline(time.Second, 10)
	topic, err := NewTopic(s, streams, r.pool, TopicConfig{Name: "orders", Partitions: 2})
	require.NoError(t, err)
	r.prod, err = NewProducer(s, streams, r.pool, topic, ProducerConfig{Name: "p", ResponseTime: constant(t, response)})
	require.NoError(t, err)
	r.group, err = NewGroup(s, streams, topic, GroupConfig{Name: "projector", ProcessingTime: constant(t, processing), ReadModel: r.rm,
		Commit: CommitAfterProcessing})
	require.NoError(t, err)
	r.group.Start()
	r.w, err = workload.NewOpen(s, streams, workload.OpenConfig{Name: "commands", Interarrival: constant(t, gap),
		Target: r.prod, Pool: &mesh.Pool{}, End: sim.Time(10 * time.Second), Route: -1, Tracer: r.tracer})
	require.NoError(t, err)
	r.w.Start()
	return r
}

func TestTraceEndToEndAndStaleness(t *testing.T) {
	// A command every 10 ms publishes one event; the broker's answer takes
	// response, the projector's processing 5 ms. The trace ends at the
	// later of the two: end to end max(response, 5 ms); the projection is
	// visible 5 ms - response after the acknowledgement, or at once
	// (staleness 0) when it came first.
	for _, tt := range []struct {
		response, e2e, stale time.Duration
	}{
		{2 * time.Millisecond, 5 * time.Millisecond, 3 * time.Millisecond},
		{8 * time.Millisecond, 8 * time.Millisecond, 0},
	} {
		r := newTracedRig(t, tt.response, 5*time.Millisecond, 10*time.Millisecond)
		require.NoError(t, r.s.RunUntil(sim.Time(11*time.Second)))
		n := r.w.Stats().Arrived
		e2e := r.tracer.EndToEnd(0)
		assert.Equal(t, n, e2e.Count())
		assert.InDelta(t, float64(tt.e2e), e2e.Mean(), 1)
		st := r.rm.Staleness()
		assert.Equal(t, n, st.Count())
		assert.InDelta(t, float64(tt.stale), st.Mean(), 1)
		sum, cnt := r.rm.Timeline()
		assert.Equal(t, int64(100), cnt[3], "100 commands acknowledged in each second")
		assert.Equal(t, int64(100)*int64(tt.stale), sum[3])
		// The workload goes on after its measurement window; the last
		// command's trace is still open.
		assert.LessOrEqual(t, r.tracer.Open(), int64(1))
	}
}

func TestTraceStaysOpenWhileAMessageIsPending(t *testing.T) {
	// The projector crashes at 1 s and never returns: the traces of the
	// messages it has not processed stay open, so no end-to-end latency
	// is recorded for them; no staleness either.
	r := newTracedRig(t, time.Millisecond, time.Millisecond, 10*time.Millisecond)
	r.s.Schedule(sim.Time(time.Second), at{r.group.Member(0).Crash}, sim.Event{})
	require.NoError(t, r.s.RunUntil(sim.Time(11*time.Second)))
	assert.InDelta(t, 1000, r.tracer.Open(), 2, "commands from 1 s to 11 s")
	assert.InDelta(t, 99, r.tracer.EndToEnd(0).Count(), 1, "measured commands before the crash")
	assert.Equal(t, r.tracer.EndToEnd(0).Count(), r.rm.Staleness().Count())
}

func TestNoAllocationPerTracedMessage(t *testing.T) {
	r := newTracedRig(t, time.Millisecond, 10*time.Microsecond, 20*time.Microsecond)
	require.NoError(t, r.s.RunUntil(sim.Time(time.Second)))
	allocs := testing.AllocsPerRun(20, func() {
		require.NoError(t, r.s.RunUntil(r.s.Now().Add(10*time.Millisecond)))
	})
	assert.Zero(t, allocs)
}
