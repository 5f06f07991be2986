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

func TestGroupConsumesEverythingOnce(t *testing.T) {
	for _, commit := range []CommitMode{CommitAuto, CommitAfterProcessing, CommitBeforeProcessing} {
		t.Run(commit.String(), func(t *testing.T) {
			r := newLogRig(t, 1, TopicConfig{Partitions: 6},
				ProducerConfig{}, GroupConfig{Consumers: 3, ProcessingTime: constant(t, time.Millisecond), Commit: commit})
			r.feed(2*time.Millisecond, 10000, 100)
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			assert.Equal(t, int64(10000), c.Published)
			assert.Equal(t, int64(10000), c.ByState[StateConsumed])
			assert.Zero(t, c.Duplicates)
			assert.Zero(t, c.Reordered)
			assert.Zero(t, r.topic.Lag())
		})
	}
}

func TestCrashBeforeCommitRedeliversExactlyTheUncommitted(t *testing.T) {
	// One partition, two members (member 1 idle), 100 messages at t=0,
	// batches of 10, 10 ms each. Member 0 crashes at 235 ms, while
	// processing offset 23 of its third batch. The coordinator notices 45 s
	// after its last heartbeat and gives the partition to member 1, which
	// reads from the committed offset:
	//   after_processing: committed 20 (after batch two), 20..22 processed
	//     again: 3 duplicates;
	//   auto: nothing committed yet (first auto-commit due at 5 s), 0..22
	//     processed again: 23 duplicates;
	//   before_processing: batch three committed (30) when fetched, 23..29
	//     never processed: 7 lost (at most once).
	tests := []struct {
		commit           CommitMode
		committedAtCrash int64
		dups, lost       int64
	}{
		{CommitAfterProcessing, 20, 3, 0},
		{CommitAuto, 0, 23, 0},
		{CommitBeforeProcessing, 30, 0, 7},
	}
	for _, tt := range tests {
		t.Run(tt.commit.String(), func(t *testing.T) {
			r := newLogRig(t, 1, TopicConfig{Partitions: 1}, ProducerConfig{},
				GroupConfig{Consumers: 2, MaxPollRecords: 10, ProcessingTime: constant(t, 10*time.Millisecond), Commit: tt.commit})
			for i := range 100 {
				r.prod.Publish(KeyOf(uint64(i%7)), uint64(i+1))
			}
			var processedAtCrash int64
			r.at(235*time.Millisecond, func() {
				processedAtCrash = r.topic.Ledger().Counts().Processed
				assert.Equal(t, tt.committedAtCrash, r.topic.Partition(0).Committed())
				r.group.Member(0).Crash()
			})
			require.NoError(t, r.s.RunUntil(sim.Time(10*time.Second)))
			assert.Equal(t, int64(23), processedAtCrash)
			assert.Equal(t, []int32{0}, r.group.Member(0).Owned(), "still owned in the coordinator's view until the session expires")
			assert.Equal(t, 100-tt.committedAtCrash, r.topic.Lag(), "lag frozen until the session expires")
			require.NoError(t, r.s.RunUntil(sim.Time(2*time.Minute)))
			c := r.check(t)
			assert.Equal(t, tt.dups, c.Duplicates)
			assert.Equal(t, tt.dups, c.ByState[StateDuplicated])
			assert.Equal(t, tt.lost, c.ByState[StateLost])
			assert.Equal(t, 100-tt.lost, c.ByState[StateConsumed]+c.ByState[StateDuplicated])
			assert.Equal(t, []int32{0}, r.group.Member(1).Owned())
			assert.Equal(t, 1, r.group.Rebalances())
			assert.Zero(t, r.topic.Lag())
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestEagerPausesEveryPartitionCooperativeOnlyMoved(t *testing.T) {
	// Six partitions, three members, steady load. Member 2 crashes at 10 s
	// and restarts at 100 s. Eager (range): both rebalances revoke every
	// partition, so all six pause. Cooperative sticky: on the crash only
	// member 2's two partitions pause (from the crash to the reassignment,
	// about 45 s), and on the restart only the two partitions that move to
	// it pause (revoked in round one, assigned in round two); the other
	// partitions never stop.
	for _, strategy := range []assign.Strategy{assign.Range, assign.RoundRobin, assign.CooperativeSticky} {
		tt := struct{ strategy assign.Strategy }{strategy}
		t.Run(tt.strategy.String(), func(t *testing.T) {
			// SyncDelay 50 ms: with none, the last member to join would get
			// its assignment at the instant it revoked.
			r := newLogRig(t, 3, TopicConfig{Partitions: 6}, ProducerConfig{},
				GroupConfig{Consumers: 3, Strategy: tt.strategy, ProcessingTime: exponential(t, time.Millisecond), SyncDelay: 50 * time.Millisecond})
			r.feed(time.Millisecond, 150_000, 1000)
			before := r.group.Member(2).Owned()
			r.at(10*time.Second, func() { r.group.Member(2).Crash() })
			r.at(100*time.Second, func() { r.group.Member(2).Restart() })
			var crashPauses [6]time.Duration
			r.at(99*time.Second, func() {
				for p := range 6 {
					crashPauses[p], _ = r.topic.Partition(p).Paused()
				}
			})
			require.NoError(t, r.s.RunUntil(sim.Time(200*time.Second)))
			c := r.check(t)
			assert.Zero(t, c.ByState[StateLost]+c.ByState[StatePending])
			after := r.group.Member(2).Owned()
			for p := range 6 {
				total, episodes := r.topic.Partition(p).Paused()
				if tt.strategy.Cooperative() {
					wasM2 := slices.Contains(before, int32(p))
					isM2 := slices.Contains(after, int32(p))
					assert.Equal(t, wasM2, crashPauses[p] > 40*time.Second, "p%d crash pause %v", p, crashPauses[p])
					assert.Equal(t, !wasM2, crashPauses[p] == 0, "p%d crash pause %v", p, crashPauses[p])
					assert.Equal(t, isM2, total > crashPauses[p], "p%d pause on restart", p)
					assert.Equal(t, wasM2 || isM2, episodes > 0, "p%d episodes %d", p, episodes)
				} else {
					assert.Equal(t, 2, episodes, "p%d", p)
					assert.Greater(t, total-crashPauses[p], time.Duration(0), "p%d", p)
				}
			}
			if tt.strategy.Cooperative() {
				assert.Len(t, after, 2)
				assert.Equal(t, 3, r.group.Rebalances(), "one round for the crash, two for the join")
			} else {
				assert.Equal(t, 2, r.group.Rebalances())
			}
		})
	}
}
