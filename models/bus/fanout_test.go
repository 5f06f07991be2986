package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestSeveralGroupsOnOneTopic(t *testing.T) {
	// Three groups read the same 6-partition topic, each with its own
	// offsets and ledger: every message is delivered and consumed once per
	// group (3 deliveries in all), a crash in one group duplicates only
	// there, and the log keeps a message until all three committed it.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(4, 0)
	pool := &Pool{}
	topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "orders", Partitions: 6})
	require.NoError(t, err)
	var groups []*Group
	for i, n := range []int{1, 2, 3} {
		commit := CommitAfterProcessing
		if i == 2 {
			commit = CommitAuto // a crash redelivers up to 5 s of processed messages
		}
		g, err := NewGroup(s, streams, topic, GroupConfig{Name: fmt.Sprintf("g%d", i), Consumers: n,
			ProcessingTime: exponential(t, time.Duration(i+1)*time.Millisecond), Commit: commit})
		require.NoError(t, err)
		g.Start()
		groups = append(groups, g)
	}
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p"})
	require.NoError(t, err)
	f := &feeder{s: s, p: prod, gap: 2 * time.Millisecond, n: 5000, keys: 64}
	f.start()
	s.Schedule(sim.Time(3*time.Second), at{groups[2].Member(1).Crash}, sim.Event{})
	require.NoError(t, s.RunUntil(sim.Time(2*time.Minute)))
	var sum Counts
	for i, g := range groups {
		require.NoError(t, g.Ledger().CheckHeld(g.Held()+prod.Held()))
		c := g.Ledger().Counts()
		assert.Equal(t, int64(5000), c.Published)
		assert.Equal(t, int64(5000), c.ByState[StateConsumed]+c.ByState[StateDuplicated], "group %d", i)
		if i < 2 {
			assert.Zero(t, c.Duplicates, "group %d", i)
		} else {
			assert.Greater(t, c.Duplicates, int64(0), "the crash duplicates in its own group only")
		}
		assert.Zero(t, g.Lag())
		sum = sum.Add(c)
	}
	assert.Equal(t, int64(15000), sum.Published)
	assert.GreaterOrEqual(t, sum.Deliveries, int64(15000))
	require.NoError(t, sum.Check())
	assert.Same(t, groups[0].Ledger(), topic.Ledger())
	assert.Zero(t, pool.Live(), "deleted once every group committed")
	_, err = NewGroup(s, streams, topic, GroupConfig{Name: "late", ProcessingTime: constant(t, 0)})
	assert.ErrorIs(t, err, ErrConfig, "groups come before the first message")
}

func TestPubSubSubscriptions(t *testing.T) {
	// A Pub/Sub topic with three subscriptions, 100 messages, message 7 a
	// poison pill for "audit" and "billing":
	//   - "search" consumes everything once;
	//   - "audit" (dead-letter policy, default 5 attempts, no retry policy)
	//     nacks message 7, which is redelivered at once and dead-lettered
	//     after its 5th attempt, within milliseconds;
	//   - "billing" (retry policy 10 s .. 600 s, dead-letter policy)
	//     waits 10, 20, 40 and 80 s between attempts, so message 7 is
	//     dead-lettered after its 5th attempt at 150 s (plus processing).
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(1, 0)
	pool := &Pool{}
	topic, err := NewFanOut(s, streams, pool, "events")
	require.NoError(t, err)
	subs := map[string]*Queue{}
	for _, sc := range []SubscriptionConfig{
		{Name: "search"},
		{Name: "audit", DeadLetter: true},
		{Name: "billing", DeadLetter: true, RetryPolicy: true},
	} {
		q, err := topic.Subscribe(sc)
		require.NoError(t, err)
		subs[sc.Name] = q
		cfg := QueueConsumerConfig{Name: sc.Name + "-worker", Prefetch: 10, ProcessingTime: constant(t, time.Millisecond), OnFailure: NackRequeue}
		if sc.Name != "search" {
			cfg.Fails = func(m *Message) bool { return m.TraceID == 7 }
		}
		qc, err := NewQueueConsumers(s, streams, q, cfg)
		require.NoError(t, err)
		qc.Start()
	}
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p"})
	require.NoError(t, err)
	f := &feeder{s: s, p: prod, gap: 0, n: 100}
	f.start()
	require.NoError(t, s.RunUntil(sim.Time(150*time.Second)))
	assert.Zero(t, subs["billing"].Stats().DeadLettered, "the 5th attempt comes at 150 s plus processing")
	assert.Equal(t, 1, subs["billing"].Stats().BackingOff)
	require.NoError(t, s.RunUntil(sim.Time(10*time.Minute)))
	for name, q := range subs {
		require.NoError(t, q.Ledger().CheckHeld(q.Held()), name)
		c := q.Ledger().Counts()
		assert.Equal(t, int64(100), c.Published, name)
		if name == "search" {
			assert.Equal(t, int64(100), c.ByState[StateConsumed])
			assert.Equal(t, int64(100), c.Deliveries)
			continue
		}
		assert.Equal(t, int64(99), c.ByState[StateConsumed], name)
		assert.Equal(t, int64(1), c.ByState[StateDeadLettered], name)
		assert.Equal(t, int64(104), c.Deliveries, "%s: 5 attempts for message 7", name)
	}
	sum := topic.Counts()
	assert.Equal(t, int64(300), sum.Published)
	assert.Equal(t, int64(308), sum.Deliveries)
	require.NoError(t, sum.Check())
	assert.Equal(t, int64(100), prod.Stats().Acked)
	assert.Zero(t, pool.Live())
}

func TestPubSubAckDeadline(t *testing.T) {
	// The default ack deadline is 10 s: a subscriber taking 15 s per
	// message (and not extending its lease) sees it redelivered every
	// 10 s to whichever consumer is free; without a dead-letter policy
	// this goes on: processings end at 15, 25, 35, 45 and 55 s within the
	// minute, 4 duplicates. With a 20 s deadline it is processed once.
	for _, tt := range []struct {
		deadline time.Duration
		dups     int64
	}{{0, 4}, {20 * time.Second, 0}} {
		s := sim.NewScheduler(sim.Config{})
		streams := sim.NewStreams(1, 0)
		pool := &Pool{}
		topic, err := NewFanOut(s, streams, pool, "events")
		require.NoError(t, err)
		q, err := topic.Subscribe(SubscriptionConfig{Name: "slow", AckDeadline: tt.deadline})
		require.NoError(t, err)
		qc, err := NewQueueConsumers(s, streams, q, QueueConsumerConfig{Name: "w", Consumers: 2, Prefetch: 1, ProcessingTime: constant(t, 15*time.Second)})
		require.NoError(t, err)
		qc.Start()
		prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p"})
		require.NoError(t, err)
		prod.Publish(NullKey, 1)
		require.NoError(t, s.RunUntil(sim.Time(time.Minute)))
		c := q.Ledger().Counts()
		assert.Equal(t, tt.dups, c.Duplicates, "deadline %v", tt.deadline)
		require.NoError(t, q.Ledger().CheckHeld(q.Held()))
	}
}

func TestSubscriptionValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg   SubscriptionConfig
		field string
	}{
		{SubscriptionConfig{Name: "s", AckDeadline: 5 * time.Second}, "ack_deadline"},
		{SubscriptionConfig{Name: "s", DeadLetter: true, MaxDeliveryAttempts: 3}, "max_delivery_attempts"},
		{SubscriptionConfig{Name: "s", RetryPolicy: true, MinimumBackoff: time.Minute, MaximumBackoff: time.Second}, "maximum_backoff"},
		{SubscriptionConfig{Name: "s", Retention: 8 * 24 * time.Hour}, "retention"},
	} {
		err := tt.cfg.Validate()
		require.ErrorIs(t, err, ErrConfig)
		assert.Contains(t, err.Error(), " "+tt.field+" ")
	}
	d := SubscriptionConfig{Name: "s", RetryPolicy: true, DeadLetter: true}.withDefaults()
	assert.Equal(t, SubscriptionConfig{Name: "s", AckDeadline: 10 * time.Second, RetryPolicy: true,
		MinimumBackoff: 10 * time.Second, MaximumBackoff: 600 * time.Second, DeadLetter: true,
		MaxDeliveryAttempts: 5, Retention: 7 * 24 * time.Hour}, d)
}
