package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestIdempotentGroupAbsorbsRedeliveries(t *testing.T) {
	// ExampleGroup's crash: member 1 dies 300 ms in with 149 processed and
	// uncommitted messages; its partitions are read again from the
	// committed offsets once its session expires, 45 s after its last
	// heartbeat. An idempotent consumer with JetStream's 2 min window
	// absorbs all 149 redeliveries (effectively once); with a 10 s window
	// they come too late and take effect again (at least once).
	for _, tt := range []struct {
		window           time.Duration
		absorbed, dups   int64
		consumedAndDuped int64
	}{
		{0, 149, 0, 1000},
		{10 * time.Second, 0, 149, 851},
	} {
		r := newLogRig(t, 1, TopicConfig{Partitions: 4}, ProducerConfig{},
			GroupConfig{Consumers: 2, ProcessingTime: constant(t, 2*time.Millisecond), Commit: CommitAfterProcessing,
				Dedup: DedupConfig{Enabled: true, Window: tt.window}})
		for i := range 1000 {
			r.prod.Publish(KeyOf(uint64(i%50)), uint64(i))
		}
		r.at(300*time.Millisecond, r.group.Member(1).Crash)
		require.NoError(t, r.s.RunUntil(sim.Time(2*time.Minute)))
		c := r.check(t)
		assert.Equal(t, tt.absorbed, c.Absorbed, "window %v", tt.window)
		assert.Equal(t, tt.dups, c.Duplicates)
		assert.Equal(t, tt.consumedAndDuped, c.ByState[StateConsumed])
		assert.Equal(t, int64(1000), c.Processed-c.Duplicates)
		assert.Equal(t, int64(1460), c.Deliveries)
	}
}

func TestIdempotentQueueConsumer(t *testing.T) {
	// The ack-timeout-too-short case (visibility 30 s, processing 40 s,
	// 3 deliveries): processings end at 40, 70 and 100 s. Within a 2 min
	// window the second and third are absorbed; with a 20 s window each
	// comes 30 s after the one before, too late: two duplicates.
	for _, tt := range []struct {
		window         time.Duration
		absorbed, dups int64
	}{{2 * time.Minute, 2, 0}, {20 * time.Second, 0, 2}} {
		r := newQueueRig(t, 1, QueueConfig{VisibilityTimeout: 30 * time.Second, MaxDeliveries: 3, DeadLetter: true},
			ProducerConfig{}, QueueConsumerConfig{Consumers: 2, Prefetch: 1, ProcessingTime: constant(t, 40*time.Second),
				Dedup: DedupConfig{Enabled: true, Window: tt.window}})
		r.feed(0, 1, 0)
		require.NoError(t, r.s.RunUntil(sim.Time(10*time.Minute)))
		c := r.check(t)
		assert.Equal(t, tt.absorbed, c.Absorbed)
		assert.Equal(t, tt.dups, c.Duplicates)
		assert.Equal(t, int64(3), c.Deliveries)
	}
}

func TestIdempotentConsumerAbsorbsProducerDuplicates(t *testing.T) {
	// The lost-acknowledgement failover without producer idempotence
	// writes two duplicate records; an idempotent consumer recognises
	// their message IDs and absorbs them.
	r := newClusterRig(t, 1, 3, 9*time.Second,
		TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 5*time.Millisecond)},
		ProducerConfig{DisableIdempotence: true, ResponseTime: constant(t, 4*time.Millisecond)},
		GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing, Dedup: DedupConfig{Enabled: true}})
	r.feed(2*time.Millisecond, 1000, 10)
	r.at(100*time.Millisecond+500*time.Microsecond, r.topic.Cluster().Broker(0).Down)
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	c := r.check(t)
	assert.Equal(t, int64(2), c.DuplicateRecords)
	assert.Equal(t, int64(2), c.Absorbed)
	assert.Zero(t, c.Duplicates)
	assert.Equal(t, int64(1000), c.ByState[StateConsumed])
}

func TestDedupStoreWindow(t *testing.T) {
	d := newDedupStore(DedupConfig{Enabled: true, Window: time.Minute})
	sec := func(n int) sim.Time { return sim.Time(time.Duration(n) * time.Second) }
	assert.False(t, d.seen(1, sec(0)))
	assert.False(t, d.seen(2, sec(30)))
	assert.True(t, d.seen(1, sec(60)), "exactly the window: still a duplicate")
	assert.False(t, d.seen(1, sec(61)), "past the window: forgotten, recorded again")
	assert.True(t, d.seen(2, sec(61)))
	assert.Equal(t, 2, d.fifo.len(), "memory bounded by the window")
	assert.Nil(t, newDedupStore(DedupConfig{}))
}
