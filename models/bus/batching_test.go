package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestProducerBatching(t *testing.T) {
	// One partition. batch.size 16384 with 1 KiB messages holds 16.
	tests := []struct {
		name       string
		gap        time.Duration
		linger     time.Duration
		batches    int64
		maxQueue   time.Duration
		meanQueue  float64 // ns
		maxBatched int64
	}{
		// linger.ms 0 (Kafka 3.x): each message goes at once.
		{"linger 0", time.Millisecond, 0, 1000, 0, 0, 1},
		// linger.ms 5 (Kafka 4.0) at one message per ms: the batch opened
		// at t is sent at t+5 ms with the messages of t..t+4 ms (the
		// linger timer was set before the publish at t+5), so batches of
		// 5 wait 5, 4, 3, 2, 1 ms: 3 ms on average.
		{"linger 5ms", time.Millisecond, 5 * time.Millisecond, 200, 5 * time.Millisecond, 3e6, 5},
		// At one message per 100 µs a batch fills (16) before the linger:
		// sent at its 16th message, the first waited 1.5 ms.
		{"full before linger", 100 * time.Microsecond, 5 * time.Millisecond, 1000 / 16, 1500 * time.Microsecond, 0.75e6, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLogRig(t, 1, TopicConfig{}, ProducerConfig{Linger: tt.linger},
				GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			n := 1000
			if tt.name == "full before linger" {
				n = 1000 / 16 * 16
			}
			r.feed(tt.gap, n, 10)
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.Equal(t, int64(n), c.ByState[StateConsumed])
			assert.Equal(t, tt.batches, st.Batches)
			assert.Equal(t, int64(tt.maxQueue), st.QueueTime.Max())
			assert.InDelta(t, tt.meanQueue, st.QueueTime.Mean(), 1e3)
			assert.Equal(t, st.QueueTime.Max(), st.AckLatency.Max(), "acks=all without replication: acknowledged when written")
			assert.Zero(t, c.Reordered)
		})
	}
}

func TestInFlightLimitFormsBatches(t *testing.T) {
	// linger 0, acks=all and a 10 ms replication: one message per ms would
	// need 10 batches in flight, but max.in.flight is 5. Messages wait for
	// a slot and leave together: fewer batches than messages, the ack
	// latency grows past the replication delay, and with idempotence the
	// order is kept. With max.in.flight 20 each message is its own batch.
	for _, tt := range []struct {
		inflight int
		batched  bool
	}{{5, true}, {20, false}} {
		r := newClusterRig(t, 1, 3, 0,
			TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 10*time.Millisecond)},
			ProducerConfig{MaxInFlight: tt.inflight, DisableIdempotence: tt.inflight > 5},
			GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
		r.feed(time.Millisecond, 2000, 10)
		require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
		c := r.check(t)
		st := r.prod.Stats()
		assert.Equal(t, int64(2000), c.ByState[StateConsumed])
		assert.Equal(t, int64(2000), st.Sent)
		assert.Zero(t, c.Reordered)
		if tt.batched {
			// 5 batches per 10 ms carry one message per ms: 2 a batch.
			assert.InDelta(t, 1000, st.Batches, 5)
			assert.Greater(t, st.AckLatency.Mean(), float64(11*time.Millisecond))
		} else {
			assert.Equal(t, int64(2000), st.Batches)
			assert.Equal(t, int64(10*time.Millisecond), st.AckLatency.Max())
		}
	}
	err := ProducerConfig{Name: "p", MaxInFlight: 6}.Validate()
	require.ErrorIs(t, err, ErrConfig, "idempotence needs max.in.flight <= 5")
	assert.Contains(t, err.Error(), " max_in_flight ")
}
