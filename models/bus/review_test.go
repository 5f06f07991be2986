package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestBlockAfterWaitingForALeaderLongerThanMaxBlock(t *testing.T) {
	// One broker, one partition of capacity 1 with the block policy; the
	// group never commits, so the first message fills it. The broker is
	// down from 1 ms to 3 s: the second message, published at 2 ms, waits
	// for a leader (delivery_timeout 10 s), then finds the partition full
	// and waits for room, max_block (1 s) after its publish, long past:
	// it is refused at once (block_timeout) rather than scheduling its
	// deadline in the past.
	r := newClusterRig(t, 1, 1, 0, TopicConfig{Capacity: 1, Overflow: OverflowBlock},
		ProducerConfig{MaxBlock: time.Second, DeliveryTimeout: 10 * time.Second},
		GroupConfig{ProcessingTime: constant(t, time.Hour), Commit: CommitAfterProcessing})
	r.feed(2*time.Millisecond, 2, 0)
	r.at(time.Millisecond, func() { r.topic.Cluster().Broker(0).Down() })
	r.at(3*time.Second, func() { r.topic.Cluster().Broker(0).Up() })
	require.NotPanics(t, func() { require.NoError(t, r.s.RunUntil(sim.Time(5*time.Second))) })
	c := r.check(t)
	assert.Equal(t, int64(1), c.DroppedBy[DropBlockTimeout])
	assert.Equal(t, int64(1), c.ByState[StatePending])
}

func TestQueueHeldCountsReplicatingMessages(t *testing.T) {
	// A quorum queue's message is pending while it replicates (10 ms):
	// the queue holds it, so the ledger checks against the walk mid-way.
	r := newQueueRig(t, 1, QueueConfig{ReplicationDelay: constant(t, 10*time.Millisecond)}, ProducerConfig{},
		QueueConsumerConfig{ProcessingTime: constant(t, time.Millisecond)})
	r.feed(time.Millisecond, 3, 0)
	require.NoError(t, r.s.RunUntil(sim.Time(5*time.Millisecond)))
	assert.Equal(t, int64(3), r.check(t).ByState[StatePending])
	require.NoError(t, r.s.RunUntil(sim.Time(time.Second)))
	assert.Equal(t, int64(3), r.check(t).ByState[StateConsumed])
}
