package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestQueueMessageTTL(t *testing.T) {
	// RabbitMQ x-message-ttl 1 s: a burst of 100 at t=0, one consumer
	// with prefetch 1 taking 100 ms each. It is handed the messages of
	// 0, 0.1, ..., 0.9 s; at 1 s the 90 still queued expire at the head:
	// dead-lettered with a dead-letter exchange, dropped (ttl) without.
	for _, dlq := range []bool{true, false} {
		r := newQueueRig(t, 1, QueueConfig{MessageTTL: time.Second, DeadLetter: dlq}, ProducerConfig{},
			QueueConsumerConfig{Prefetch: 1, ProcessingTime: constant(t, 100*time.Millisecond)})
		for i := range 100 {
			r.prod.Publish(NullKey, uint64(i))
		}
		require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
		c := r.check(t)
		assert.Equal(t, int64(10), c.ByState[StateConsumed])
		if dlq {
			assert.Equal(t, int64(90), c.ByState[StateDeadLettered])
			assert.Equal(t, int64(90), r.q.Stats().DeadLettered)
		} else {
			assert.Equal(t, int64(90), c.DroppedBy[DropTTL])
		}
		assert.Equal(t, int64(90), r.q.Stats().Expired)
		assert.Zero(t, r.pool.Live())
	}
}

func TestQueueRetention(t *testing.T) {
	// SQS MessageRetentionPeriod: the default keeps messages 4 days; with
	// 60 s, messages nobody received are deleted after 60 s. One message a
	// second from 0 to 89 s, and the consumer starts only at 90 s: those
	// of 0 to 30 s are 60 s old or more by then (the one of 30 s is
	// deleted as it is about to be delivered), the other 59 are consumed.
	r := newQueueRig(t, 1, QueueConfig{Retention: time.Minute}, ProducerConfig{},
		QueueConsumerConfig{ProcessingTime: constant(t, time.Millisecond)})
	c0 := r.cons.Consumer(0)
	c0.Crash()
	r.feed(time.Second, 90, 0)
	r.at(90*time.Second, c0.Restart)
	require.NoError(t, r.s.RunUntil(sim.Time(10*time.Minute)))
	c := r.check(t)
	assert.Equal(t, int64(59), c.ByState[StateConsumed])
	assert.Equal(t, int64(31), c.DroppedBy[DropRetention])
	assert.Equal(t, int64(31), r.q.Stats().Retained)
	assert.Zero(t, r.pool.Live())
	assert.Equal(t, 4*24*time.Hour, QueueConfig{}.withDefaults().Retention)
}

func TestLogRetention(t *testing.T) {
	// retention.ms 60 s: 100 messages at t=0, a consumer taking 1 s per
	// message, one per poll. At 60 s the retention check finds 0..58
	// consumed, 59 in the consumer's batch (kept and processed) and 60..99
	// unread: those 40 are dropped by retention.
	t.Run("time", func(t *testing.T) {
		r := newLogRig(t, 1, TopicConfig{Retention: time.Minute}, ProducerConfig{},
			GroupConfig{MaxPollRecords: 1, Commit: CommitAfterProcessing, ProcessingTime: constant(t, time.Second)})
		for i := range 100 {
			r.prod.Publish(KeyOf(1), uint64(i))
		}
		require.NoError(t, r.s.RunUntil(sim.Time(10*time.Minute)))
		c := r.check(t)
		assert.Equal(t, int64(60), c.ByState[StateConsumed])
		assert.Equal(t, int64(40), c.DroppedBy[DropRetention])
		assert.Equal(t, int64(100), r.topic.Partition(0).Start())
		assert.Zero(t, r.pool.Live())
	})
	// retention.bytes 10 KiB with 1 KiB messages: a partition keeps the
	// newest 10 of a burst of 100, as drop-head would.
	t.Run("bytes", func(t *testing.T) {
		r := newLogRig(t, 1, TopicConfig{RetentionBytes: 10 * 1024}, ProducerConfig{},
			GroupConfig{MaxPollRecords: 1, Commit: CommitAfterProcessing, ProcessingTime: constant(t, time.Millisecond)})
		for i := range 100 {
			r.prod.Publish(KeyOf(1), uint64(i))
		}
		require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
		c := r.check(t)
		assert.Equal(t, int64(10), c.ByState[StateConsumed])
		assert.Equal(t, int64(90), c.DroppedBy[DropRetention])
	})
	assert.Equal(t, 7*24*time.Hour, TopicConfig{}.withDefaults().Retention)
}

func TestRetentionDropsOnlyForTheLaggingGroup(t *testing.T) {
	// Two groups on one topic with retention 10 s: "fast" keeps up,
	// "slow" reads one message a second. Retention deletes what "slow"
	// has not read; "fast" had consumed it: dropped for slow only. Each
	// group's ledger is conserved.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(1, 0)
	pool := &Pool{}
	topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "events", Partitions: 2, Retention: 10 * time.Second})
	require.NoError(t, err)
	fast, err := NewGroup(s, streams, topic, GroupConfig{Name: "fast", ProcessingTime: constant(t, time.Millisecond), Commit: CommitAfterProcessing})
	require.NoError(t, err)
	slow, err := NewGroup(s, streams, topic, GroupConfig{Name: "slow", MaxPollRecords: 1, ProcessingTime: constant(t, time.Second), Commit: CommitAfterProcessing})
	require.NoError(t, err)
	fast.Start()
	slow.Start()
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p"})
	require.NoError(t, err)
	f := &feeder{s: s, p: prod, gap: 100 * time.Millisecond, n: 300, keys: 10}
	f.start()
	require.NoError(t, s.RunUntil(sim.Time(5*time.Minute)))
	for _, g := range []*Group{fast, slow} {
		require.NoError(t, g.Ledger().CheckHeld(g.Held()+prod.Held()), g.Name())
	}
	fc, sc := fast.Ledger().Counts(), slow.Ledger().Counts()
	assert.Equal(t, int64(300), fc.ByState[StateConsumed])
	assert.Zero(t, fc.ByState[StateDropped])
	assert.Equal(t, int64(300), sc.Published)
	assert.Greater(t, sc.DroppedBy[DropRetention], int64(200))
	assert.Equal(t, int64(300), sc.ByState[StateConsumed]+sc.DroppedBy[DropRetention])
	assert.NoError(t, fc.Add(sc).Check())
	assert.Zero(t, pool.Live())
}

func (r *queueRig) at(t time.Duration, fn func()) { r.s.Schedule(sim.Time(t), at{fn}, sim.Event{}) }

func TestMeasureFromLeavesOutTheWarmup(t *testing.T) {
	// 100 messages, one every 10 ms, processed in 1 ms each: measuring from
	// 500 ms keeps the 50 published from then on in the latency, and the
	// ledger still counts all 100.
	lr := newLogRig(t, 1, TopicConfig{}, ProducerConfig{}, GroupConfig{ProcessingTime: constant(t, time.Millisecond)})
	lr.group.MeasureFrom(sim.Time(500 * time.Millisecond))
	lr.feed(10*time.Millisecond, 100, 0)
	qr := newQueueRig(t, 1, QueueConfig{}, ProducerConfig{}, QueueConsumerConfig{ProcessingTime: constant(t, time.Millisecond)})
	qr.q.MeasureFrom(sim.Time(500 * time.Millisecond))
	qr.feed(10*time.Millisecond, 100, 0)
	require.NoError(t, lr.s.RunUntil(sim.Time(2*time.Second)))
	require.NoError(t, qr.s.RunUntil(sim.Time(2*time.Second)))
	assert.Equal(t, int64(50), lr.group.Latency().Count())
	assert.Equal(t, int64(50), qr.q.Latency().Count())
	assert.Equal(t, int64(100), lr.check(t).ByState[StateConsumed])
	assert.Equal(t, int64(100), qr.check(t).ByState[StateConsumed])
}
