package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestTransientErrorsReorderOnlyWithoutIdempotence(t *testing.T) {
	// One partition, 2000 messages/s over 10 keys, each sent as its own
	// batch (linger 0) with up to 5 in flight; responses take 5 ms and 5%
	// of the produce requests fail with a retriable error. Without
	// idempotence the requests sent after a failed one are written first,
	// so its messages come after later ones of their keys: reordered. With
	// idempotence the broker refuses those (out of sequence) until the
	// failed batch is resent, so per-key order holds; so does it without
	// idempotence with one request in flight (max.in.flight=1). Nothing is
	// lost or duplicated either way.
	for _, tt := range []struct {
		name      string
		disable   bool
		inFlight  int
		reordered bool
	}{
		{"idempotent", false, 5, false},
		{"not idempotent", true, 5, true},
		{"not idempotent, one in flight", true, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newLogRig(t, 3, TopicConfig{},
				ProducerConfig{DisableIdempotence: tt.disable, MaxInFlight: tt.inFlight, ErrorProb: 0.05,
					ResponseTime: constant(t, 5*time.Millisecond)},
				GroupConfig{ProcessingTime: constant(t, 0), Commit: CommitAfterProcessing})
			r.feed(500*time.Microsecond, 20000, 10)
			require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
			c := r.check(t)
			st := r.prod.Stats()
			assert.InDelta(t, 0.05, float64(st.Errors)/float64(st.Batches+st.Errors), 0.01, "requests that reached the error draw")
			assert.Greater(t, st.Retries, int64(0))
			if tt.reordered {
				assert.Greater(t, c.Reordered, int64(100))
				assert.Zero(t, st.OutOfOrder)
			} else {
				assert.Zero(t, c.Reordered)
			}
			if !tt.disable {
				assert.Greater(t, st.OutOfOrder, int64(0), "the broker refused requests behind a missing sequence")
			}
			assert.Equal(t, int64(20000), c.ByState[StateConsumed])
			assert.Zero(t, c.Duplicates)
			assert.Equal(t, int64(20000), st.Acked)
			assert.Zero(t, r.pool.Live())
		})
	}
}

func TestErrorRetriesGiveUpAtTheDeliveryTimeout(t *testing.T) {
	// Every request fails: each message is retried with a backoff growing
	// from 100 ms to 1 s (jittered) until its delivery timeout of 5 s,
	// then dropped; the accounting holds throughout.
	r := newLogRig(t, 1, TopicConfig{}, ProducerConfig{ErrorProb: 0.999999, DeliveryTimeout: 5 * time.Second},
		GroupConfig{ProcessingTime: constant(t, 0)})
	r.feed(10*time.Millisecond, 100, 3)
	require.NoError(t, r.s.RunUntil(sim.Time(2*time.Second)))
	r.check(t)
	require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
	c := r.check(t)
	assert.Equal(t, int64(100), c.DroppedBy[DropDeliveryTimeout])
	assert.Zero(t, r.pool.Live())
	st := r.prod.Stats()
	assert.Zero(t, st.Acked)
	// The first message's backoffs are about 0.1, 0.2, 0.4, 0.8, 1, 1
	// and 1 s (4.5 s in all): eight attempts; later messages join older
	// batches' later attempts, so fewer.
	assert.Greater(t, st.Retries, int64(300))
	assert.Less(t, st.Retries, int64(800))
}
