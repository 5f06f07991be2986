package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

// newClusterRig is a log rig whose topic lives on a cluster of brokers
// with a constant election delay (nil: the Kafka default).
func newClusterRig(t testing.TB, seed uint64, brokers int, election time.Duration, tc TopicConfig, pc ProducerConfig, gc GroupConfig) *logRig {
	t.Helper()
	s := sim.NewScheduler(sim.Config{MaxEvents: 50_000_000})
	streams := sim.NewStreams(seed, 0)
	cc := ClusterConfig{Name: "kafka", Brokers: brokers}
	if election > 0 {
		cc.ElectionDelay = constant(t, election)
	}
	c, err := NewCluster(s, streams, cc)
	require.NoError(t, err)
	r := &logRig{s: s, pool: &Pool{}}
	if tc.Name == "" {
		tc.Name = "orders"
	}
	r.topic, err = c.NewTopic(r.pool, tc)
	require.NoError(t, err)
	pc.Name = "producer"
	r.prod, err = NewProducer(s, streams, r.pool, r.topic, pc)
	require.NoError(t, err)
	gc.Name = "g"
	r.group, err = NewGroup(s, streams, r.topic, gc)
	require.NoError(t, err)
	r.group.Start()
	return r
}

func TestFailoverLosesTheUnreplicatedWindow(t *testing.T) {
	// One partition, replicas on brokers 0, 1, 2, replication 5 ms, one
	// message per ms from t=0. The leader, broker 0, fails at 100.5 ms:
	// the messages published at 96..100 ms (replicated at 101..105 ms)
	// are on the leader only. With acks=1 they were acknowledged, so all
	// five are lost to the failure; with acks=all they were not, so the
	// producer sends them again to the new leader: nothing is lost. The
	// partition is unavailable for exactly the election delay (9 s), then
	// broker 1 leads with ISR {1, 2}; what was published meanwhile waited
	// in the producer (delivery.timeout.ms 120 s) and is consumed.
	tests := []struct {
		acks             Acks
		lost, retries    int64
		maxAck           time.Duration
		outage           time.Duration
		isr              []int
		consumedOfN2000  int64
		unavailableCount int
	}{
		{acks: AcksLeader, lost: 5, retries: 0, maxAck: 0},
		{acks: AcksAll, lost: 0, retries: 5, maxAck: 9*time.Second - 500*time.Microsecond + 5*time.Millisecond + 4*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run("acks="+tt.acks.String(), func(t *testing.T) {
			r := newClusterRig(t, 1, 3, 9*time.Second,
				TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 5*time.Millisecond)},
				ProducerConfig{Acks: tt.acks}, GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			r.feed(time.Millisecond, 20_000, 100)
			b0 := r.topic.Cluster().Broker(0)
			r.at(100*time.Millisecond+500*time.Microsecond, b0.Down)
			r.at(5*time.Second, func() {
				assert.Equal(t, -1, r.topic.Partition(0).Leader(), "no leader during the election delay")
				assert.Equal(t, int64(96), r.topic.Partition(0).End(), "the unreplicated suffix is gone")
			})
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			p := r.topic.Partition(0)
			total, outages := p.Unavailable()
			assert.Equal(t, 9*time.Second, total, "the pause lasts the election delay")
			assert.Equal(t, 1, outages)
			assert.Equal(t, 1, p.Leader())
			assert.Equal(t, []int{1, 2}, p.ISR())
			assert.Equal(t, tt.lost, c.ByState[StateLost])
			assert.Equal(t, tt.lost, c.LostBy[LossFailover])
			assert.Equal(t, 20_000-tt.lost, c.ByState[StateConsumed])
			assert.Zero(t, c.Duplicates)
			assert.Zero(t, c.Reordered+c.ByState[StatePending]+c.ByState[StateDropped])
			st := r.prod.Stats()
			assert.Equal(t, tt.retries, st.Retries)
			assert.Equal(t, int64(20_000), st.Acked)
			if tt.acks == AcksAll {
				// The message published at 96 ms waited for the new leader
				// (9.1005 s) and its replication (5 ms).
				assert.Equal(t, int64(9*time.Second+500*time.Microsecond+5*time.Millisecond+4*time.Millisecond), st.AckLatency.Max())
			}
			down, failures := b0.Downtime()
			assert.Equal(t, time.Minute-100*time.Millisecond-500*time.Microsecond, down)
			assert.Equal(t, 1, failures)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestLostAcknowledgementDuplicatesWithoutIdempotence(t *testing.T) {
	// acks=all, replication 5 ms, responses take 4 ms, one message every
	// 2 ms. The leader fails at 100.5 ms: the messages of 92 and 94 ms are
	// replicated (at 97 and 99 ms) but their acknowledgements (due at 101
	// and 103 ms) are lost with the connection, and those of 96, 98 and
	// 100 ms are not replicated. The producer resends all five to the new
	// leader. The idempotent producer's first two are recognised (same
	// producer id and sequence) and not written again; without
	// idempotence they are written twice and consumed twice.
	for _, tt := range []struct {
		name                   string
		disable                bool
		dups, deduped, records int64
	}{
		{"idempotent", false, 0, 2, 0},
		{"not idempotent", true, 2, 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newClusterRig(t, 1, 3, 9*time.Second,
				TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 5*time.Millisecond)},
				ProducerConfig{DisableIdempotence: tt.disable, ResponseTime: constant(t, 4*time.Millisecond)},
				GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			r.feed(2*time.Millisecond, 1000, 10)
			r.at(100*time.Millisecond+500*time.Microsecond, r.topic.Cluster().Broker(0).Down)
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.Equal(t, int64(5), st.Retries)
			assert.Equal(t, tt.deduped, st.DedupedRetries)
			assert.Equal(t, tt.records, st.DuplicateWrites)
			assert.Equal(t, tt.records, c.DuplicateRecords)
			assert.Equal(t, tt.dups, c.Duplicates)
			assert.Equal(t, tt.dups, c.ByState[StateDuplicated])
			assert.Equal(t, 1000-tt.dups, c.ByState[StateConsumed])
			assert.Zero(t, c.ByState[StateLost])
			assert.Equal(t, int64(1000), st.Acked)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestAtLeastOnceSurvivesBrokerFailures(t *testing.T) {
	// Six partitions on three brokers (replication factor 3, min ISR 2),
	// acks=all with idempotence, four consumers committing after
	// processing. Broker 1 fails at 5 s and returns at 40 s, broker 2
	// fails at 60 s and returns at 70 s, and a consumer crashes: at least
	// once, so nothing may be lost. Kafka's default election delay.
	for _, seed := range []uint64{1, 2, 3} {
		r := newClusterRig(t, seed, 3, 0,
			TopicConfig{Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2, ReplicationDelay: exponential(t, 3*time.Millisecond)},
			ProducerConfig{Keys: KeyUniform, KeySpace: 100, ResponseTime: exponential(t, time.Millisecond)},
			GroupConfig{Consumers: 4, ProcessingTime: exponential(t, time.Millisecond), Commit: CommitAfterProcessing})
		r.feed(time.Millisecond, 90_000, 300)
		c1, c2 := r.topic.Cluster().Broker(1), r.topic.Cluster().Broker(2)
		r.at(5*time.Second, c1.Down)
		r.at(40*time.Second, c1.Up)
		r.at(60*time.Second, c2.Down)
		r.at(70*time.Second, c2.Up)
		r.at(20*time.Second, r.group.Member(2).Crash)
		require.NoError(t, r.s.RunUntil(sim.Time(5*time.Minute)))
		c := r.check(t)
		require.Zero(t, c.ByState[StateLost], "seed %d: at least once with acks=all loses nothing: %v", seed, c)
		require.Zero(t, c.ByState[StateDropped]+c.ByState[StatePending], "seed %d: %v", seed, c)
		assert.Equal(t, int64(90_000), c.ByState[StateConsumed]+c.ByState[StateDuplicated])
		assert.Greater(t, r.prod.Stats().Retries, int64(0), "seed %d", seed)
		assert.Zero(t, c.Reordered, "idempotent retries keep the order")
		var outages int
		for p := range 6 {
			_, n := r.topic.Partition(p).Unavailable()
			outages += n
		}
		// Broker 1 led two partitions, which moved to broker 2; broker 2
		// then led four (no preferred-leader rebalance).
		assert.Equal(t, 6, outages)
		assert.Zero(t, r.pool.Live())
	}
}

func TestMinInsyncReplicasHoldsAcksAllWrites(t *testing.T) {
	// Replication factor 3 and min.insync.replicas 2: with brokers 1 and 2
	// down (fenced after 9 s) the ISR is {0}, so acks=all writes are
	// refused and the producer retries until broker 1 returns at 30 s.
	// acks=1 writes go on. Nothing is lost either way.
	for _, acks := range []Acks{AcksAll, AcksLeader} {
		t.Run(acks.String(), func(t *testing.T) {
			r := newClusterRig(t, 1, 3, 9*time.Second,
				TopicConfig{ReplicationFactor: 3, MinInsyncReplicas: 2, ReplicationDelay: constant(t, time.Millisecond)},
				ProducerConfig{Acks: acks}, GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			r.feed(10*time.Millisecond, 6000, 10)
			cl := r.topic.Cluster()
			r.at(time.Second, cl.Broker(1).Down)
			r.at(time.Second, cl.Broker(2).Down)
			r.at(30*time.Second, cl.Broker(1).Up)
			var consumedAt20 int64
			r.at(20*time.Second, func() { consumedAt20 = r.topic.Ledger().Counts().Processed })
			require.NoError(t, r.s.RunUntil(sim.Time(2*time.Minute)))
			c := r.check(t)
			assert.Equal(t, int64(6000), c.ByState[StateConsumed])
			if acks == AcksAll {
				// The first second's 100, and the 5 batches (one message
				// each) in flight when the followers failed: the high
				// watermark stalls until the controller fences them at
				// 10 s, the later ones then find the ISR {0} too small.
				assert.Equal(t, int64(105), consumedAt20)
				assert.Greater(t, r.prod.Stats().AckLatency.Max(), int64(19*time.Second))
			} else {
				// acks=1 writes go on, visible once the stall ends at 10 s.
				assert.InDelta(t, 2000, consumedAt20, 1)
			}
		})
	}
}

func TestFailoverKeepsMaxInFlightOnTheNewConnection(t *testing.T) {
	// max_in_flight 2, one message per batch, acks=all, responses take 2 s,
	// no idempotence (no sequence gap). At 0 the first request fails (its
	// error response is due at 2 s) and the second is written, not yet
	// replicated. The leader fails at 1 ms: the second goes back to the
	// producer, and the failed request's slot belongs to the broken
	// connection. The new leader is elected at 1.001 s: the lane resends
	// the second and, at 1.5 s, sends a third, filling both slots of the
	// new connection. The old connection's error response at 2 s must not
	// free one of them, so the retried first waits for an acknowledgement
	// (3.006 s) and at most two batches are ever unanswered on the new
	// connection.
	r := newClusterRig(t, 1, 3, time.Second,
		TopicConfig{ReplicationFactor: 3, ReplicationDelay: constant(t, 5*time.Millisecond)},
		ProducerConfig{MaxInFlight: 2, BatchBytes: 1024, MessageBytes: 1024, DisableIdempotence: true,
			ResponseTime: constant(t, 2*time.Second)},
		GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
	r.at(0, func() {
		r.prod.cfg.ErrorProb = 1 // the first request fails
		r.prod.Publish(KeyOf(0), 1)
		r.prod.cfg.ErrorProb = 0
		r.prod.Publish(KeyOf(0), 2)
	})
	r.at(time.Millisecond, r.topic.Cluster().Broker(0).Down)
	r.at(1500*time.Millisecond, func() {
		for i := range 4 {
			r.prod.Publish(KeyOf(0), uint64(3+i))
		}
	})
	// unanswered counts the batches (one message each) written to the
	// current leader and not yet acknowledged: not replicated yet, or
	// their acknowledgement on its way. No request fails after 0.
	p, ln := r.topic.Partition(0), r.prod.lanes[0]
	unanswered := func() int {
		n := len(ln.resp)
		for off := p.hw; off < p.end; off++ {
			if p.log.at(int(off-p.start)).producer == r.prod {
				n++
			}
		}
		return n
	}
	peak, failedOver := 0, false
	for r.s.Now() < sim.Time(20*time.Second) && r.s.Step() {
		if p.Leader() < 0 {
			failedOver = true
		}
		if failedOver && p.Leader() >= 0 {
			peak = max(peak, unanswered())
		}
	}
	require.True(t, failedOver)
	assert.Equal(t, 2, peak, "max_in_flight bounds the batches unanswered on the new connection")
	st := r.prod.Stats()
	assert.Equal(t, int64(1), st.Errors)
	assert.Equal(t, int64(6), st.Acked)
	c := r.check(t)
	assert.Equal(t, int64(6), c.ByState[StateConsumed])
}
