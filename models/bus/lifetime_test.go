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

func TestQueueNackedMessageExpiresAtItsDeadline(t *testing.T) {
	// A message nacked with requeue goes back to the head and keeps its
	// original expiry (RabbitMQ); at the head it expires at its deadline,
	// not when a later head's timer fires. L is the TTL or the retention.
	// One consumer, prefetch 2, busy for an hour with each message: Z
	// (published at 0) and A (0.5 L) are delivered; the expiry timer fires
	// at L with nothing ready; H (1.2 L) waits, the timer set for its
	// deadline, 2.2 L. At 1.3 L A is nacked and requeued while the
	// consumer stays full: A, at the head, must expire at 1.5 L. (The
	// shipped consumers free their slot before they nack, so a nacked
	// message is delivered again at once and expires, if it must, at that
	// delivery; Queue.nack is called here directly, the consumer's slots
	// still taken, so that no consumer can take A back.)
	for _, tt := range []struct {
		name   string
		cfg    QueueConfig
		reason DropReason
	}{
		{"ttl", QueueConfig{MessageTTL: time.Second}, DropTTL},
		{"retention", QueueConfig{Retention: time.Minute, VisibilityTimeout: time.Hour}, DropRetention},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.cfg.MessageTTL + tt.cfg.Retention
			of := func(f float64) time.Duration { return time.Duration(f * float64(lim)) }
			r := newQueueRig(t, 1, tt.cfg, ProducerConfig{},
				QueueConsumerConfig{Prefetch: 2, Concurrency: 2, ProcessingTime: constant(t, time.Hour)})
			var a *Message
			r.at(0, func() { r.prod.Publish(NullKey, 1) })
			r.at(of(0.5), func() { a = r.prod.Publish(NullKey, 2) })
			r.at(of(1.2), func() { r.prod.Publish(NullKey, 3) })
			r.at(of(1.3), func() {
				require.Equal(t, 1, r.q.Stats().Ready, "H waits")
				r.q.nack(a, a.receipt, true)
				require.Equal(t, 2, r.q.Stats().Ready, "A is back at the head, the consumer full")
			})
			dropped := func() int64 {
				return r.q.Ledger().Counts().DroppedBy[tt.reason]
			}
			require.NoError(t, r.s.RunUntil(sim.Time(of(1.5)-1)))
			assert.Zero(t, dropped(), "not before its deadline")
			require.NoError(t, r.s.RunUntil(sim.Time(of(1.5))))
			assert.Equal(t, int64(1), dropped(), "A expires at its deadline, 1.5 L")
			require.NoError(t, r.s.RunUntil(sim.Time(of(2.2))))
			assert.Equal(t, int64(2), dropped(), "then H at 2.2 L")
			st := r.q.Stats()
			assert.Equal(t, int64(1), st.Nacks)
			if tt.reason == DropTTL {
				assert.Equal(t, int64(2), st.Expired)
			} else {
				assert.Equal(t, int64(2), st.Retained)
			}
			c := r.check(t)
			assert.Equal(t, int64(1), c.ByState[StatePending], "Z, still in flight")
		})
	}
}
