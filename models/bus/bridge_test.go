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

func TestWorkloadDrivesProducer(t *testing.T) {
	// A Poisson workload of 1000 requests/s publishes through the producer
	// (acks=all, replication 2 ms): each request is answered OK when its
	// message is acknowledged, so the workload's latency is the ack
	// latency, and the trace id is the request id.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(9, 0)
	pool := &Pool{}
	topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "orders", Partitions: 6, Brokers: 3, ReplicationFactor: 3,
		ReplicationDelay: constant(t, 2*time.Millisecond)})
	require.NoError(t, err)
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "checkout", Keys: KeyUniform, KeySpace: 1000})
	require.NoError(t, err)
	group, err := NewGroup(s, streams, topic, GroupConfig{Name: "fulfilment", Consumers: 3, ProcessingTime: exponential(t, time.Millisecond)})
	require.NoError(t, err)
	group.Start()
	w, err := workload.NewOpen(s, streams, workload.OpenConfig{Name: "web", Interarrival: exponential(t, time.Millisecond),
		Target: prod, Pool: &mesh.Pool{}, End: sim.Time(10 * time.Second), Route: -1})
	require.NoError(t, err)
	w.Start()
	require.NoError(t, s.RunUntil(sim.Time(10*time.Second)))
	st := w.Stats()
	assert.InDelta(t, 10000, st.Arrived, 300)
	assert.Equal(t, st.Arrived, st.Outcomes[mesh.OutcomeOK]+st.InFlight)
	assert.LessOrEqual(t, st.InFlight, int64(5), "only the last 2 ms are unacknowledged")
	assert.Equal(t, int64(2*time.Millisecond), st.Latency.Quantile(0.5))
	c := topic.Ledger().Counts()
	require.NoError(t, topic.Ledger().CheckHeld(topic.Held()+prod.Held()))
	assert.Equal(t, c.Published, prod.Stats().Published)
}
