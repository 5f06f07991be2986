package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
