package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/bus/assign"
	"github.com/meshsim/meshsim/sim"
)

// runLog runs a keyed load with crashes and restarts and returns the
// ledger and the partitions' committed offsets.
func runLog(t testing.TB, seed uint64, strategy assign.Strategy) (Counts, []int64) {
	r := newLogRig(t, seed, TopicConfig{Partitions: 12, ReplicationFactor: 3, Brokers: 3, ReplicationDelay: exponential(t, 2*time.Millisecond)},
		ProducerConfig{}, GroupConfig{Consumers: 4, Strategy: strategy, ProcessingTime: exponential(t, 3*time.Millisecond)})
	r.feed(time.Millisecond, 60_000, 500)
	r.at(7*time.Second, func() { r.group.Member(1).Crash() })
	r.at(20*time.Second, func() { r.group.Member(1).Restart() })
	r.at(65*time.Second, func() { r.group.Member(3).Crash() })
	require.NoError(t, r.s.RunUntil(sim.Time(3*time.Minute)))
	c := r.check(t)
	var committed []int64
	for p := range 12 {
		committed = append(committed, r.topic.Partition(p).Committed())
	}
	return c, committed
}

func TestDeterminism(t *testing.T) {
	for _, s := range []assign.Strategy{assign.Range, assign.CooperativeSticky} {
		t.Run(s.String(), func(t *testing.T) {
			a, ca := runLog(t, 42, s)
			b, cb := runLog(t, 42, s)
			assert.Equal(t, a, b, "same seed, same ledger")
			assert.Equal(t, ca, cb)
			assert.Greater(t, a.Duplicates, int64(0), "the crashes cause duplicates")
			assert.Zero(t, a.ByState[StateLost], "at least once: no loss")
			assert.Zero(t, a.ByState[StatePending])
			c, _ := runLog(t, 43, s)
			assert.NotEqual(t, a, c, "another seed, other draws")
		})
	}
	t.Run("queue", func(t *testing.T) {
		run := func(seed uint64) Counts {
			r := newQueueRig(t, seed, QueueConfig{VisibilityTimeout: 20 * time.Millisecond, MaxDeliveries: 4, DeadLetter: true},
				ProducerConfig{Keys: KeyUniform, KeySpace: 10},
				QueueConsumerConfig{Consumers: 3, Prefetch: 5, Concurrency: 2, ProcessingTime: exponential(t, 8*time.Millisecond), FailureProb: 0.1})
			r.feed(2*time.Millisecond, 5000, 10)
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			return r.check(t)
		}
		a, b := run(5), run(5)
		assert.Equal(t, a, b)
		assert.Greater(t, a.Duplicates, int64(0))
		assert.Greater(t, a.ByState[StateDeadLettered], int64(0))
	})
}

func TestOverflowPolicies(t *testing.T) {
	// A burst of 100 messages at t=0 into a partition (or queue) of
	// capacity 10 whose consumer takes 100 ms per message.
	// A log consumer polls after the burst, so only what the partition
	// retains is consumed; a queue pushes the first message to its
	// consumer at once, which frees one place.
	tests := []struct {
		name     string
		overflow Overflow
		// consumed and dropped in the log and the queue
		logConsumed, queueConsumed int64
		reason                     DropReason
	}{
		// reject: what fits is consumed, the rest refused at once.
		{"reject", OverflowReject, 10, 11, DropRejected},
		// drop_head: each new message evicts the oldest retained one, so
		// the last ten are kept.
		{"drop_head", OverflowDropHead, 10, 11, DropHead},
		// block: the producer waits for room; within max_block (60 s) all
		// 100 get in, 100 ms apart.
		{"block", OverflowBlock, 100, 100, DropBlockTimeout},
	}
	for _, kind := range []string{"log", "queue"} {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				var c Counts
				var prod *Producer
				burst := func(p *Producer) {
					for i := range 100 {
						p.Publish(KeyOf(1), uint64(i+1))
					}
				}
				if kind == "log" {
					r := newLogRig(t, 1, TopicConfig{Capacity: 10, Overflow: tt.overflow}, ProducerConfig{},
						GroupConfig{MaxPollRecords: 1, Commit: CommitAfterProcessing, ProcessingTime: constant(t, 100*time.Millisecond)})
					burst(r.prod)
					require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
					c, prod = r.check(t), r.prod
					assert.Zero(t, r.pool.Live())
				} else {
					r := newQueueRig(t, 1, QueueConfig{Capacity: 10, Overflow: tt.overflow}, ProducerConfig{},
						QueueConsumerConfig{Prefetch: 1, ProcessingTime: constant(t, 100*time.Millisecond)})
					burst(r.prod)
					require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
					c, prod = r.check(t), r.prod
					assert.Zero(t, r.pool.Live())
				}
				assert.Equal(t, int64(100), c.Published)
				assert.Zero(t, c.ByState[StatePending])
				assert.Equal(t, int64(100), c.ByState[StateConsumed]+c.ByState[StateDropped])
				assert.Equal(t, c.ByState[StateDropped], c.DroppedBy[tt.reason])
				want := tt.logConsumed
				if kind == "queue" {
					want = tt.queueConsumed
				}
				assert.Equal(t, want, c.ByState[StateConsumed])
				assert.Equal(t, 100-want, c.ByState[StateDropped])
				assert.Zero(t, c.Reordered, "one key, one partition: order kept")
				st := prod.Stats()
				if tt.overflow == OverflowBlock {
					assert.Greater(t, st.Blocked, int64(80))
					assert.Greater(t, st.AckLatency.Max(), int64(8*time.Second))
				}
			})
		}
	}
}

func TestBlockTimesOut(t *testing.T) {
	// With max_block 1 s, a blocked burst waits 1 s at most: the consumer
	// frees a place every 100 ms, so most of the burst times out.
	r := newQueueRig(t, 1, QueueConfig{Capacity: 5, Overflow: OverflowBlock}, ProducerConfig{MaxBlock: time.Second},
		QueueConsumerConfig{Prefetch: 1, ProcessingTime: constant(t, 100*time.Millisecond)})
	for i := range 100 {
		r.prod.Publish(NullKey, uint64(i))
	}
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	c := r.check(t)
	// One delivered at once, 5 stored, 9 let in by the completions at
	// 0.1 ... 0.9 s; the timer at 1 s was scheduled before the completion
	// at 1 s, so it fires first.
	assert.Equal(t, int64(15), c.ByState[StateConsumed])
	assert.Equal(t, int64(85), c.DroppedBy[DropBlockTimeout])
	assert.Equal(t, int64(85), r.prod.Stats().Refused)
}

func TestAcksLevels(t *testing.T) {
	// Replication takes a constant 5 ms: acks=0 and acks=1 are answered at
	// once, acks=all after replication. Consumers see a message only once
	// it is replicated, whatever the producer's acks.
	for _, tt := range []struct {
		acks Acks
		want time.Duration
	}{{AcksNone, 0}, {AcksLeader, 0}, {AcksAll, 5 * time.Millisecond}, {AcksDefault, 5 * time.Millisecond}} {
		t.Run(tt.acks.String(), func(t *testing.T) {
			r := newLogRig(t, 1, TopicConfig{Partitions: 3, Brokers: 3, ReplicationFactor: 3, ReplicationDelay: constant(t, 5*time.Millisecond)},
				ProducerConfig{Acks: tt.acks}, GroupConfig{ProcessingTime: constant(t, 0)})
			r.feed(time.Millisecond, 100, 10)
			require.NoError(t, r.s.RunUntil(sim.Time(10*time.Second)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.Equal(t, int64(100), st.Acked)
			assert.Equal(t, int64(tt.want), st.AckLatency.Max())
			assert.Equal(t, int64(100), c.ByState[StateConsumed])
			lat := r.group.Latency()
			assert.Equal(t, int64(5*time.Millisecond), lat.Min(), "visible at the high watermark")
		})
	}
}

func TestStickyPartitioning(t *testing.T) {
	// Null keys stay on one partition for sticky_batch messages, then move
	// to a partition drawn at random; keyed messages follow murmur2.
	r := newLogRig(t, 1, TopicConfig{Partitions: 8}, ProducerConfig{StickyBatch: 4}, GroupConfig{ProcessingTime: constant(t, 0)})
	var parts []int32
	for i := range 12 {
		parts = append(parts, r.prod.Publish(NullKey, uint64(i)).Partition)
	}
	for i := 0; i < 12; i += 4 {
		assert.Equal(t, []int32{parts[i], parts[i], parts[i], parts[i]}, parts[i:i+4])
	}
	assert.Equal(t, int32(PartitionForKey(77, 8)), r.prod.Publish(KeyOf(77), 0).Partition)
}

func TestValidateNamesTheField(t *testing.T) {
	d := constant(t, time.Millisecond)
	tests := []struct {
		err   error
		field string
	}{
		{TopicConfig{Name: "t", Partitions: -1}.Validate(), "partitions"},
		{TopicConfig{Name: "t", Brokers: 3, ReplicationFactor: 3}.Validate(), "replication_delay"},
		{TopicConfig{Name: "t", ReplicationFactor: 2}.Validate(), "replication_factor"},
		{TopicConfig{Name: "t", Capacity: -1}.Validate(), "capacity"},
		{ProducerConfig{Name: "p", Acks: 7}.Validate(), "acks"},
		{ProducerConfig{Name: "p", Keys: KeyUniform}.Validate(), "key_space"},
		{ProducerConfig{Name: "p", MaxBlock: -time.Second}.Validate(), "max_block"},
		{GroupConfig{Name: "g"}.Validate(), "processing_time"},
		{GroupConfig{Name: "g", ProcessingTime: d, HeartbeatInterval: time.Minute}.Validate(), "heartbeat_interval"},
		{GroupConfig{Name: "g", ProcessingTime: d, MaxPollRecords: -1}.Validate(), "max_poll_records"},
		{GroupConfig{Name: "g", ProcessingTime: d, Commit: 9}.Validate(), "commit"},
		{QueueConfig{Name: "q", VisibilityTimeout: 13 * time.Hour}.Validate(), "visibility_timeout"},
		{QueueConfig{Name: "q", MaxDeliveries: 1001}.Validate(), "max_deliveries"},
		{QueueConsumerConfig{Name: "c", ProcessingTime: d, FailureProb: 2}.Validate(), "failure_prob"},
		{QueueConsumerConfig{Name: "c", ProcessingTime: d, Prefetch: -1}.Validate(), "prefetch"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			require.ErrorIs(t, tt.err, ErrConfig)
			assert.Contains(t, tt.err.Error(), " "+tt.field+" ")
		})
	}
	assert.NoError(t, TopicConfig{Name: "t"}.Validate(), "zero fields mean the defaults")
	assert.NoError(t, GroupConfig{Name: "g", ProcessingTime: d}.Validate())
	_, err := ParseOverflow("drop-head")
	assert.ErrorIs(t, err, ErrConfig)
}

// steady is a log rig warmed up so that every buffer has reached its
// steady-state size.
func steady(t testing.TB) (*logRig, *queueRig) {
	lr := newLogRig(t, 1, TopicConfig{Partitions: 12}, ProducerConfig{},
		GroupConfig{Consumers: 4, ProcessingTime: exponential(t, 20*time.Microsecond), Commit: CommitAfterProcessing})
	lr.feed(10*time.Microsecond, 1<<62, 1000) // 100k messages/s
	require.NoError(t, lr.s.RunUntil(sim.Time(20*time.Second)))
	qr := newQueueRig(t, 1, QueueConfig{}, ProducerConfig{Keys: KeyUniform, KeySpace: 100},
		QueueConsumerConfig{Consumers: 4, Prefetch: 10, ProcessingTime: exponential(t, 30*time.Microsecond), FailureProb: 0.01})
	qr.feed(10*time.Microsecond, 1<<62, 1000)
	require.NoError(t, qr.s.RunUntil(sim.Time(20*time.Second)))
	return lr, qr
}

func TestNoAllocationPerMessage(t *testing.T) {
	// 12 partitions, 4 consumers, 100k messages/s of virtual time: after a
	// warm-up, 10 ms more (about 1000 messages each) allocates nothing.
	lr, qr := steady(t)
	for _, s := range []*sim.Scheduler{lr.s, qr.s} {
		allocs := testing.AllocsPerRun(20, func() {
			require.NoError(t, s.RunUntil(s.Now().Add(10*time.Millisecond)))
		})
		assert.Zero(t, allocs)
	}
	assert.Less(t, lr.topic.Lag(), int64(1000))
	require.NoError(t, lr.topic.Ledger().CheckHeld(lr.topic.Held()+lr.prod.Held()))
}

func BenchmarkLogTopic(b *testing.B) {
	// One op is one message (10 µs of virtual time at 100k messages/s).
	lr, _ := steady(b)
	before := lr.topic.Ledger().Counts().Processed
	b.ReportAllocs()
	b.ResetTimer()
	require.NoError(b, lr.s.RunUntil(lr.s.Now().Add(time.Duration(b.N)*10*time.Microsecond)))
	b.StopTimer()
	b.ReportMetric(float64(lr.topic.Ledger().Counts().Processed-before)/float64(b.N), "processed/op")
}

func ExampleGroup() {
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(1, 0)
	pool := &Pool{}
	topic, _ := NewTopic(s, streams, pool, TopicConfig{Name: "orders", Partitions: 4})
	prod, _ := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "checkout"})
	processing, _ := distConstant(2 * time.Millisecond)
	group, _ := NewGroup(s, streams, topic, GroupConfig{Name: "fulfilment", Consumers: 2,
		ProcessingTime: processing, Commit: CommitAfterProcessing})
	group.Start()
	for i := range 1000 {
		prod.Publish(KeyOf(uint64(i%50)), uint64(i))
	}
	// Member 1 crashes after 300 ms, 149 messages into its first batch
	// (up to 500 records), none committed. Its partitions' lag stays
	// frozen until the coordinator notices, 45 s after its last
	// heartbeat; member 0 then takes them over from the committed offsets
	// and processes those 149 again: duplicates, no loss.
	s.Schedule(sim.Time(300*time.Millisecond), at{group.Member(1).Crash}, sim.Event{})
	_ = s.RunUntil(sim.Time(10 * time.Second))
	fmt.Println("lag at 10s:", topic.Lag(), "member 0 owns", group.Member(0).Owned())
	_ = s.RunUntil(sim.Time(2 * time.Minute))
	c := topic.Ledger().Counts()
	fmt.Println(c)
	fmt.Println("lag:", topic.Lag(), "member 0 owns", group.Member(0).Owned(), "conserved:", c.Check() == nil)
	// Output:
	// lag at 10s: 460 member 0 owns [0 1]
	// published=1000 pending=0 consumed=851 duplicated=149 dead_lettered=0 dropped=0 lost=0 deliveries=1460 redeliveries=460 processed=1149 duplicates=149 reordered=0
	// lag: 0 member 0 owns [0 1 2 3] conserved: true
}
