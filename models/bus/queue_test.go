package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestQueueAtLeastOnceNoLoss(t *testing.T) {
	// Four consumers, prefetch 10, 5% of processings fail and are nacked
	// back: every message is processed at least once, none is lost or
	// dropped, and the counts are conserved against what the queue holds.
	r := newQueueRig(t, 7, QueueConfig{}, ProducerConfig{},
		QueueConsumerConfig{Consumers: 4, Prefetch: 10, ProcessingTime: exponential(t, 3*time.Millisecond), FailureProb: 0.05})
	r.feed(time.Millisecond, 20000, 50)
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	c := r.check(t)
	assert.Equal(t, int64(20000), c.Published)
	assert.Equal(t, int64(20000), c.ByState[StateConsumed]+c.ByState[StateDuplicated])
	assert.Zero(t, c.ByState[StateLost]+c.ByState[StateDropped]+c.ByState[StatePending])
	assert.Zero(t, c.Duplicates, "no visibility timeout fired")
	assert.Greater(t, c.Redeliveries, int64(800), "about 5%% of deliveries are nacked and redelivered")
	assert.Greater(t, c.Reordered, int64(0), "competing consumers and requeues break per-key order")
	assert.Zero(t, r.pool.Live())
}

func TestQueueAckTimeoutTooShort(t *testing.T) {
	// One message, two consumers with prefetch 1, processing a constant
	// 40 s. With a 30 s visibility timeout the message becomes visible
	// again at 30 s and goes to the idle consumer, again at 60 s (the
	// first consumer is free again at 40 s), and at 90 s it has had its 3
	// deliveries: dead-lettered. The acks at 40, 70 and 100 s name older
	// deliveries and delete nothing, but each processing had its effect:
	// three processings, two duplicates. With a 60 s timeout it is
	// processed once and acked.
	tests := []struct {
		name                   string
		visibility             time.Duration
		processed, dups, deliv int64
		state                  State
		staleAcks, timeouts    int64
	}{
		{"visibility 30s < processing 40s", 30 * time.Second, 3, 2, 3, StateDeadLettered, 3, 3},
		{"visibility 60s > processing 40s", 60 * time.Second, 1, 0, 1, StateConsumed, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newQueueRig(t, 1, QueueConfig{VisibilityTimeout: tt.visibility, MaxDeliveries: 3, DeadLetter: true},
				ProducerConfig{}, QueueConsumerConfig{Consumers: 2, Prefetch: 1, ProcessingTime: constant(t, 40*time.Second)})
			r.feed(0, 1, 0)
			require.NoError(t, r.s.RunUntil(sim.Time(10*time.Minute)))
			c := r.check(t)
			assert.Equal(t, tt.processed, c.Processed)
			assert.Equal(t, tt.dups, c.Duplicates)
			assert.Equal(t, tt.deliv, c.Deliveries)
			assert.Equal(t, int64(1), c.ByState[tt.state])
			st := r.q.Stats()
			assert.Equal(t, tt.staleAcks, st.StaleAcks)
			assert.Equal(t, tt.timeouts, st.Timeouts)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestPoisonMessageDeadLetteredAfterMaxDeliveries(t *testing.T) {
	// Message 3 always fails. Whether the consumer nacks it (requeued at
	// the head, redelivered at once) or abandons it (redelivered after
	// each 30 s visibility timeout), it is delivered exactly
	// max_deliveries times and then dead-lettered once; without a
	// dead-letter queue it is dropped. Every other message is consumed.
	poison := func(m *Message) bool { return m.TraceID == 3 }
	tests := []struct {
		action     FailureAction
		dlq        bool
		maxDeliv   int
		wantState  State
		wantReason DropReason
	}{
		{NackRequeue, true, 5, StateDeadLettered, 0},
		{Abandon, true, 5, StateDeadLettered, 0},
		{NackRequeue, false, 4, StateDropped, DropDeliveryLimit},
		{NackDiscard, true, 5, StateDeadLettered, 0},
		{NackDiscard, false, 5, StateDropped, DropNack},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v dlq=%v", tt.action, tt.dlq), func(t *testing.T) {
			r := newQueueRig(t, 1, QueueConfig{MaxDeliveries: tt.maxDeliv, DeadLetter: tt.dlq}, ProducerConfig{},
				QueueConsumerConfig{Consumers: 2, Prefetch: 2, ProcessingTime: constant(t, 10*time.Millisecond),
					Fails: poison, OnFailure: tt.action})
			var deliveries uint32
			r.cons.cfg.Fails = func(m *Message) bool {
				if m.TraceID == 3 {
					deliveries = m.Deliveries
				}
				return poison(m)
			}
			r.feed(time.Millisecond, 10, 0)
			require.NoError(t, r.s.RunUntil(sim.Time(10*time.Minute)))
			c := r.check(t)
			assert.Equal(t, int64(9), c.ByState[StateConsumed])
			assert.Equal(t, int64(1), c.ByState[tt.wantState])
			want := uint32(tt.maxDeliv)
			if tt.action == NackDiscard {
				want = 1 // rejected without requeue: dead-lettered at once
			}
			assert.Equal(t, want, deliveries)
			assert.Equal(t, int64(9+want), c.Deliveries)
			if tt.dlq {
				assert.Equal(t, int64(1), r.q.Stats().DeadLettered)
			} else {
				assert.Equal(t, int64(1), c.DroppedBy[tt.wantReason])
			}
			assert.Zero(t, r.pool.Live())
		})
	}
}
