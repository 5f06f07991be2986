package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestNoAllocationPerMessagePhase2(t *testing.T) {
	// Steady state at 100k messages/s: two groups on one topic (one of
	// them idempotent), a producer lingering 1 ms with responses on the
	// network, and a fan-out topic with two subscriptions. After a
	// warm-up, 10 ms more allocates nothing.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(1, 0)
	pool := &Pool{}
	topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "t", Partitions: 12, Brokers: 3, ReplicationFactor: 3,
		ReplicationDelay: exponential(t, 50*time.Microsecond)})
	require.NoError(t, err)
	for i, dedup := range []bool{false, true} {
		g, err := NewGroup(s, streams, topic, GroupConfig{Name: fmt.Sprint("g", i), Consumers: 4,
			ProcessingTime: exponential(t, 20*time.Microsecond), Commit: CommitAfterProcessing,
			Dedup: DedupConfig{Enabled: dedup, Window: time.Second}})
		require.NoError(t, err)
		g.Start()
	}
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p", Linger: time.Millisecond,
		ResponseTime: exponential(t, 100*time.Microsecond)})
	require.NoError(t, err)
	(&feeder{s: s, p: prod, gap: 10 * time.Microsecond, n: 1 << 62, keys: 1000}).start()

	fan, err := NewFanOut(s, streams, pool, "f")
	require.NoError(t, err)
	for _, name := range []string{"a", "b"} {
		q, err := fan.Subscribe(SubscriptionConfig{Name: name, RetryPolicy: true})
		require.NoError(t, err)
		qc, err := NewQueueConsumers(s, streams, q, QueueConsumerConfig{Name: name + "w", Consumers: 4, Prefetch: 10,
			ProcessingTime: exponential(t, 30*time.Microsecond)})
		require.NoError(t, err)
		qc.Start()
	}
	fp, err := NewProducer(s, streams, pool, fan, ProducerConfig{Name: "fp"})
	require.NoError(t, err)
	(&feeder{s: s, p: fp, gap: 10 * time.Microsecond, n: 1 << 62, keys: 1000}).start()

	require.NoError(t, s.RunUntil(sim.Time(3*time.Second)))
	allocs := testing.AllocsPerRun(20, func() {
		require.NoError(t, s.RunUntil(s.Now().Add(10*time.Millisecond)))
	})
	assert.Zero(t, allocs)
	for i, l := range topic.Ledgers() {
		require.NoError(t, l.CheckHeld(topic.HeldFor(i)+prod.Held()))
	}
	require.NoError(t, fan.Counts().Check())
}

func TestFailoverDeterminism(t *testing.T) {
	run := func(seed uint64) (Counts, ProducerStats) {
		r := newClusterRig(t, seed, 3, 0,
			TopicConfig{Partitions: 6, ReplicationFactor: 3, ReplicationDelay: exponential(t, 3*time.Millisecond)},
			ProducerConfig{Acks: AcksLeader, Linger: 2 * time.Millisecond, ResponseTime: exponential(t, time.Millisecond)},
			GroupConfig{Consumers: 3, ProcessingTime: exponential(t, time.Millisecond)})
		r.feed(500*time.Microsecond, 40_000, 100)
		r.at(3*time.Second, r.topic.Cluster().Broker(0).Down)
		r.at(8*time.Second, r.topic.Cluster().Broker(1).Down)
		r.at(30*time.Second, r.topic.Cluster().Broker(0).Up)
		require.NoError(t, r.s.RunUntil(sim.Time(2*time.Minute)))
		st := r.prod.Stats()
		st.AckLatency, st.QueueTime = nil, nil
		return r.check(t), st
	}
	a, sa := run(11)
	b, sb := run(11)
	assert.Equal(t, a, b)
	assert.Equal(t, sa, sb)
	assert.Greater(t, a.LostBy[LossFailover], int64(0), "acks=1 loses writes: %v", a)
	c, _ := run(12)
	assert.NotEqual(t, a, c)
}

func ExampleBroker() {
	// A 3-broker cluster, a topic with replication factor 3 (replication
	// takes 5 ms), acks=1 producer at one message per ms. Broker 0, the
	// partition's leader, fails at 100.5 ms and returns at 60 s: the five
	// acknowledged but unreplicated messages are lost, the partition is
	// unavailable for the election delay (set to 9 s: the KRaft session
	// timeout), then broker 1 leads.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(1, 0)
	pool := &Pool{}
	election, _ := distConstant(9 * time.Second)
	cluster, _ := NewCluster(s, streams, ClusterConfig{Name: "kafka", Brokers: 3, ElectionDelay: election})
	replication, _ := distConstant(5 * time.Millisecond)
	topic, _ := cluster.NewTopic(pool, TopicConfig{Name: "orders", ReplicationFactor: 3, ReplicationDelay: replication})
	processing, _ := distConstant(0)
	group, _ := NewGroup(s, streams, topic, GroupConfig{Name: "billing", ProcessingTime: processing, Commit: CommitAfterProcessing})
	group.Start()
	prod, _ := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "checkout", Acks: AcksLeader})
	(&feeder{s: s, p: prod, gap: time.Millisecond, n: 20_000, keys: 10}).start()
	// A failure timeline calls Down and Up.
	s.Schedule(sim.Time(100*time.Millisecond+500*time.Microsecond), at{cluster.Broker(0).Down}, sim.Event{})
	s.Schedule(sim.Time(60*time.Second), at{cluster.Broker(0).Up}, sim.Event{})
	_ = s.RunUntil(sim.Time(2 * time.Minute))
	p := topic.Partition(0)
	outage, _ := p.Unavailable()
	fmt.Println("leader:", p.Leader(), "isr:", p.ISR(), "unavailable:", outage)
	c := group.Ledger().Counts()
	fmt.Println(c)
	fmt.Println("lost to failover:", c.LostBy[LossFailover], "conserved:", c.Check() == nil)
	// Output:
	// leader: 1 isr: [0 1 2] unavailable: 9s
	// published=20000 pending=0 consumed=19995 duplicated=0 dead_lettered=0 dropped=0 lost=5 deliveries=19995 redeliveries=0 processed=19995 duplicates=0 reordered=0
	// lost to failover: 5 conserved: true
}
