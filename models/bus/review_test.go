package bus

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/bus/assign"
	"github.com/meshsim/meshsim/sim"
)

func TestBlockAfterWaitingForALeaderLongerThanMaxBlock(t *testing.T) {
	// One broker, one partition of capacity 1 with the block policy; the
	// group never commits, so the first message fills it. The broker is
	// down from 1 ms to 3 s: the second message, published at 2 ms, waits
	// for a leader (delivery_timeout 10 s), then finds the partition full
	// and waits for room, max_block (1 s) after its publish, long past:
	// it is refused at once (block_timeout) rather than scheduling its
	// deadline in the past.
	r := newClusterRig(t, 1, 1, 0, TopicConfig{Capacity: 1, Overflow: OverflowBlock},
		ProducerConfig{MaxBlock: time.Second, DeliveryTimeout: 10 * time.Second},
		GroupConfig{ProcessingTime: constant(t, time.Hour), Commit: CommitAfterProcessing})
	r.feed(2*time.Millisecond, 2, 0)
	r.at(time.Millisecond, func() { r.topic.Cluster().Broker(0).Down() })
	r.at(3*time.Second, func() { r.topic.Cluster().Broker(0).Up() })
	require.NotPanics(t, func() { require.NoError(t, r.s.RunUntil(sim.Time(5*time.Second))) })
	c := r.check(t)
	assert.Equal(t, int64(1), c.DroppedBy[DropBlockTimeout])
	assert.Equal(t, int64(1), c.ByState[StatePending])
}

func TestQueueHeldCountsReplicatingMessages(t *testing.T) {
	// A quorum queue's message is pending while it replicates (10 ms):
	// the queue holds it, so the ledger checks against the walk mid-way.
	r := newQueueRig(t, 1, QueueConfig{ReplicationDelay: constant(t, 10*time.Millisecond)}, ProducerConfig{},
		QueueConsumerConfig{ProcessingTime: constant(t, time.Millisecond)})
	r.feed(time.Millisecond, 3, 0)
	require.NoError(t, r.s.RunUntil(sim.Time(5*time.Millisecond)))
	assert.Equal(t, int64(3), r.check(t).ByState[StatePending])
	require.NoError(t, r.s.RunUntil(sim.Time(time.Second)))
	assert.Equal(t, int64(3), r.check(t).ByState[StateConsumed])
}

// requireOwnership checks that every partition has exactly one live owner
// in g, and that its cursor names that owner.
func requireOwnership(t *testing.T, g *Group) {
	t.Helper()
	for p := range g.topic.Partitions() {
		var owners []string
		var owner *Member
		for _, m := range g.members {
			if m.alive && slices.Contains(m.owned, int32(p)) {
				owners = append(owners, m.name)
				owner = m
			}
		}
		require.Len(t, owners, 1, "partition %d owned by %v", p, owners)
		require.Same(t, owner, g.topic.parts[p].cur[g.idx].owner, "partition %d: cursor owner", p)
	}
}

func TestRestartDoesNotApplyAnAssignmentFromBeforeTheCrash(t *testing.T) {
	// Member 0 joins a rebalance round (member 2's session expired) and
	// crashes before the round's assignment (sync_delay 1 s) arrives; the
	// coordinator still hands it a part. Its session expires, member 1
	// takes both partitions, and member 0 restarts as a new member: it must
	// not apply the stale part of the round it crashed in, which would
	// make it and member 1 own a partition at once.
	for _, st := range []assign.Strategy{assign.Range, assign.CooperativeSticky} {
		t.Run(st.String(), func(t *testing.T) {
			r := newLogRig(t, 1, TopicConfig{Partitions: 2}, ProducerConfig{},
				GroupConfig{Consumers: 3, Strategy: st, ProcessingTime: constant(t, 100*time.Microsecond),
					SessionTimeout: 2 * time.Second, HeartbeatInterval: 300 * time.Millisecond, SyncDelay: time.Second,
					Commit: CommitAfterProcessing})
			r.feed(time.Millisecond, 20000, 10)
			g := r.group
			r.at(100*time.Millisecond, func() { g.Member(2).Crash() })
			r.at(2500*time.Millisecond, func() {
				require.True(t, g.Rebalancing())
				require.Equal(t, g.Generation(), g.Member(0).joinedGen, "member 0 joined the round")
				g.Member(0).Crash()
			})
			r.at(8*time.Second, func() {
				require.True(t, g.Member(0).hasPending, "the round's sync handed the crashed member its part")
				require.Equal(t, []int32{0, 1}, g.Member(1).Owned())
				g.Member(0).Restart()
			})
			for at := 8 * time.Second; at < 30*time.Second; at += 10 * time.Millisecond {
				r.at(at, func() {
					for p := range 2 {
						n := 0
						for _, m := range g.members {
							if m.alive && slices.Contains(m.owned, int32(p)) {
								n++
							}
						}
						assert.LessOrEqual(t, n, 1, "at %v partition %d has %d owners", r.s.Now(), p, n)
					}
				})
			}
			require.NoError(t, r.s.RunUntil(sim.Time(30*time.Second)))
			requireOwnership(t, g)
			c := r.check(t)
			assert.Zero(t, c.ByState[StatePending])
		})
	}
}

func TestRetentionMakesRoomForABlockedProducer(t *testing.T) {
	// A partition of capacity 5 with the block policy; the group's member
	// never finishes its first batch (nothing is committed), so only
	// retention (1 s) frees room. One message every 100 ms: the sixth, at
	// 500 ms, waits for room, which retention makes at 1 s. The producer
	// must learn of it then, not at the sixth message's max_block (30 s),
	// when it would be refused although the partition had room for 29 s.
	r := newLogRig(t, 1, TopicConfig{Capacity: 5, Overflow: OverflowBlock, Retention: time.Second},
		ProducerConfig{MaxBlock: 30 * time.Second},
		GroupConfig{ProcessingTime: constant(t, time.Hour), MaxPollRecords: 1, Commit: CommitAfterProcessing})
	r.feed(100*time.Millisecond, 50, 0)
	require.NoError(t, r.s.RunUntil(sim.Time(20*time.Second)))
	c := r.check(t)
	assert.Zero(t, c.DroppedBy[DropBlockTimeout])
	assert.Zero(t, r.prod.Held(), "nothing waits in the producer")
	assert.Equal(t, int64(50), r.prod.Stats().Acked)
}

func TestCrashWhileARestartWaitsForTheSessionStaysDown(t *testing.T) {
	// Member 0 crashes at 1 s and restarts at 2 s, before its session
	// (10 s) expired: it will join at the expiry. It crashes again at 3 s,
	// for good. That crash cancels the restart: member 0 stays down, and
	// member 1 ends up with both partitions.
	r := newLogRig(t, 1, TopicConfig{Partitions: 2}, ProducerConfig{},
		GroupConfig{Consumers: 2, ProcessingTime: constant(t, time.Millisecond), SessionTimeout: 10 * time.Second,
			HeartbeatInterval: time.Second})
	r.feed(10*time.Millisecond, 3000, 10)
	m0 := r.group.Member(0)
	r.at(time.Second, m0.Crash)
	r.at(2*time.Second, m0.Restart)
	r.at(3*time.Second, m0.Crash)
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	assert.False(t, m0.Alive())
	assert.Equal(t, []int32{0, 1}, r.group.Member(1).Owned())
	r.check(t)
}

func TestAckOfATimedOutMessageMakesRoomForABlockedProducer(t *testing.T) {
	// A queue of capacity 1 with the block policy, visibility 1 s, one
	// consumer with prefetch 1 processing 1.5 s. The first message times
	// out at 1 s and is ready again (the queue is full), the consumer has
	// no room to take it; the second, published at 1.2 s, waits for room.
	// The consumer acks the first at 1.5 s (its receipt is still the
	// latest): the queue is empty, and the producer must learn of it then,
	// not refuse the second at its max_block (10 s).
	r := newQueueRig(t, 1, QueueConfig{Capacity: 1, Overflow: OverflowBlock, VisibilityTimeout: time.Second},
		ProducerConfig{MaxBlock: 10 * time.Second},
		QueueConsumerConfig{Prefetch: 1, ProcessingTime: constant(t, 1500*time.Millisecond)})
	r.prod.Publish(NullKey, 1)
	r.s.Schedule(sim.Time(1200*time.Millisecond), at{func() { r.prod.Publish(NullKey, 2) }}, sim.Event{})
	require.NoError(t, r.s.RunUntil(sim.Time(20*time.Second)))
	c := r.check(t)
	assert.Zero(t, c.DroppedBy[DropBlockTimeout])
	assert.Equal(t, int64(2), c.ByState[StateConsumed])
}
