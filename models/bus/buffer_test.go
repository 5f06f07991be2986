package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestBufferMemoryFillsAndBlocks(t *testing.T) {
	// One partition, 30 publishes of 1 KiB one per ms from t=0, into a
	// buffer of 10 KiB: the first 10 take it all (5 sent one by one up to
	// max_in_flight, 5 accumulating behind them) and publishes 10..29
	// wait for memory.
	const kib = 1024
	tests := []struct {
		name                 string
		acks                 Acks
		buffer               int64
		maxBlock             time.Duration
		down                 bool // the only broker is down from 0 to 2 s, else replication takes 2 s
		consumed, blockTimed int64
		bufferBlocked        int64
		waiting              int64 // at 500 ms
		maxAck               time.Duration
	}{
		// acks=all, replication 2 s, max_block 1 s: nothing is freed
		// before 2 s, so publishes 10..29 time out at 1.010..1.029 s.
		{name: "slow replication, max_block 1s", buffer: 10 * kib, maxBlock: time.Second,
			consumed: 10, blockTimed: 20, bufferBlocked: 20, waiting: 25, maxAck: 4*time.Second - 5*time.Millisecond},
		// max_block 3 s: the acks of 0..4 at 2.000..2.004 s free room for
		// 10..14 (each sent as an in-flight slot frees, 14 at 4 s when
		// the batch 5..9 is acknowledged); the next room comes at 4 s,
		// after the deadlines of 15..29 (3.015..3.029 s). 14 published at
		// 14 ms is acknowledged at 6 s.
		{name: "slow replication, max_block 3s", buffer: 10 * kib, maxBlock: 3 * time.Second,
			consumed: 15, blockTimed: 15, bufferBlocked: 20, waiting: 25, maxAck: 6*time.Second - 14*time.Millisecond},
		// With acks=0 a record holds memory until it is sent, so a
		// partition without a leader fills the buffer too: the 10
		// admitted are acknowledged at once and written at 2 s.
		{name: "acks=0, broker down", acks: AcksNone, buffer: 10 * kib, maxBlock: time.Second, down: true,
			consumed: 10, blockTimed: 20, bufferBlocked: 20, waiting: 30, maxAck: 0},
		// The default 32 MiB: nothing blocks.
		{name: "default buffer", maxBlock: time.Second, consumed: 30,
			maxAck: 4*time.Second - 5*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 2*time.Second)}
			brokers := 3
			if tt.down {
				tc, brokers = TopicConfig{}, 1
			}
			r := newClusterRig(t, 1, brokers, 0, tc,
				ProducerConfig{Acks: tt.acks, BufferMemory: tt.buffer, MaxBlock: tt.maxBlock},
				GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			if tt.down {
				b := r.topic.Cluster().Broker(0)
				r.at(0, b.Down)
				r.at(2*time.Second, b.Up)
			}
			r.feed(time.Millisecond, 30, 1)
			r.at(500*time.Millisecond, func() {
				st := r.prod.Stats()
				if tt.bufferBlocked == 0 {
					assert.Equal(t, int64(30*kib), st.BufferBytes)
					assert.Zero(t, st.Blocked)
					return
				}
				assert.Equal(t, tt.buffer, st.BufferBytes, "full")
				assert.Equal(t, int64(20), st.BufferBlocked, "the 11th publish and all after it wait")
				assert.Equal(t, tt.waiting, st.Waiting, "20 for memory, the rest for an in-flight slot or a leader")
			})
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.Equal(t, int64(30), c.Published)
			assert.Equal(t, tt.consumed, c.ByState[StateConsumed])
			assert.Equal(t, tt.blockTimed, c.DroppedBy[DropBlockTimeout])
			assert.Equal(t, tt.blockTimed, c.ByState[StateDropped])
			assert.Equal(t, tt.blockTimed, st.Refused)
			assert.Equal(t, tt.bufferBlocked, st.BufferBlocked)
			assert.Equal(t, tt.bufferBlocked, st.Blocked)
			assert.Equal(t, int64(tt.maxAck), st.AckLatency.Max())
			if tt.buffer > 0 {
				assert.Equal(t, tt.buffer, st.BufferPeak, "never more than buffer_memory")
			}
			assert.Zero(t, st.BufferBytes, "all memory given back")
			assert.Zero(t, st.Waiting)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestBufferMemoryWaitersInPublishOrder(t *testing.T) {
	// A burst of 100 publishes into a 10-message buffer, replication
	// 100 ms, max_block 60 s: memory frees as batches are acknowledged and
	// the waiters get in first come, first served, so everything is
	// consumed, in order, and the last publish waited longest.
	r := newClusterRig(t, 1, 3, 0, TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 100*time.Millisecond)},
		ProducerConfig{BufferMemory: 10 * 1024}, GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
	for i := range 100 {
		r.prod.Publish(KeyOf(1), uint64(i+1))
	}
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	c := r.check(t)
	st := r.prod.Stats()
	assert.Equal(t, int64(100), c.ByState[StateConsumed])
	assert.Zero(t, c.Reordered)
	assert.Equal(t, int64(90), st.BufferBlocked)
	assert.Zero(t, st.Refused)
	assert.Equal(t, int64(10*1024), st.BufferPeak)
	// Each 100 ms round acknowledges what the previous one sent and
	// lets as many in: 10 rounds at least.
	assert.GreaterOrEqual(t, st.AckLatency.Max(), int64(time.Second))
	assert.Zero(t, st.BufferBytes)
}

func TestBufferMemoryConservedThroughFailures(t *testing.T) {
	// Failovers, lost responses, produce errors and retries with a buffer
	// of 64 messages and max_block 2 s: every message is accounted for,
	// and once the producer is idle it holds no memory.
	for _, acks := range []Acks{AcksLeader, AcksAll} {
		t.Run("acks="+acks.String(), func(t *testing.T) {
			pc := ProducerConfig{Acks: acks, Linger: 2 * time.Millisecond, ResponseTime: exponential(t, time.Millisecond),
				BufferMemory: 64 * 1024, MaxBlock: 2 * time.Second}
			if acks == AcksAll {
				pc.ErrorProb = 0.01
			}
			r := newClusterRig(t, 3, 3, 0,
				TopicConfig{Partitions: 6, ReplicationFactor: 3, ReplicationDelay: exponential(t, 3*time.Millisecond)},
				pc, GroupConfig{Consumers: 3, ProcessingTime: exponential(t, time.Millisecond)})
			r.feed(500*time.Microsecond, 40_000, 100)
			r.at(3*time.Second, r.topic.Cluster().Broker(0).Down)
			r.at(8*time.Second, r.topic.Cluster().Broker(1).Down)
			r.at(30*time.Second, r.topic.Cluster().Broker(0).Up)
			r.at(5*time.Second, func() { require.NoError(t, r.topic.Ledger().CheckHeld(r.topic.Held()+r.prod.Held())) })
			require.NoError(t, r.s.RunUntil(sim.Time(3*time.Minute)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.Equal(t, int64(40_000), c.Published)
			assert.Zero(t, c.ByState[StatePending])
			assert.Positive(t, st.BufferBlocked)
			assert.Positive(t, c.DroppedBy[DropBlockTimeout])
			assert.Equal(t, int64(64*1024), st.BufferPeak)
			assert.Zero(t, st.BufferBytes)
			assert.Zero(t, st.Waiting)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestNoAllocationPerMessageBufferFull(t *testing.T) {
	// 100k publishes/s into a producer whose 64-message buffer passes
	// about 30k/s (replication 2 ms): publishes wait for memory and most
	// time out after max_block 5 ms. After a warm-up, 10 ms more allocate
	// nothing.
	r := newClusterRig(t, 1, 3, 0,
		TopicConfig{Partitions: 12, ReplicationFactor: 3, ReplicationDelay: constant(t, 2*time.Millisecond)},
		ProducerConfig{BufferMemory: 64 * 1024, MaxBlock: 5 * time.Millisecond},
		GroupConfig{Consumers: 4, ProcessingTime: exponential(t, 20*time.Microsecond), Commit: CommitAfterProcessing})
	r.feed(10*time.Microsecond, 1<<62, 1000)
	require.NoError(t, r.s.RunUntil(sim.Time(3*time.Second)))
	allocs := testing.AllocsPerRun(20, func() {
		require.NoError(t, r.s.RunUntil(r.s.Now().Add(10*time.Millisecond)))
	})
	assert.Zero(t, allocs)
	st := r.prod.Stats()
	assert.Greater(t, st.BufferBlocked, st.Published/2)
	assert.Positive(t, r.topic.Ledger().Counts().DroppedBy[DropBlockTimeout])
	require.NoError(t, r.topic.Ledger().CheckHeld(r.topic.Held()+r.prod.Held()))
}

func TestBufferMemoryValidate(t *testing.T) {
	for _, c := range []ProducerConfig{
		{Name: "p", BufferMemory: -1},
		{Name: "p", BufferMemory: 1000}, // below the default message_bytes, 1024
		{Name: "p", BufferMemory: 4096, MessageBytes: 8192},
		{Name: "p", BufferMemory: MaxBufferMemory + 1},
	} {
		err := c.Validate()
		require.ErrorIs(t, err, ErrConfig, "%+v", c)
		assert.Contains(t, err.Error(), " buffer_memory ")
	}
	require.NoError(t, ProducerConfig{Name: "p", BufferMemory: 1024}.Validate())
	require.NoError(t, ProducerConfig{Name: "p", BufferMemory: 512, MessageBytes: 512}.Validate())
}
