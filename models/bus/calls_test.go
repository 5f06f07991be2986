package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
)

// service is a test double of a consumer's sidecar: it answers each call
// after delay (at once, inside Send, when sync) with the outcome fail
// picks for it.
type service struct {
	s     *sim.Scheduler
	delay time.Duration
	sync  bool
	fail  func(r *mesh.Request) bool
	calls map[uint64]int // by key
}

func (sv *service) Send(r *mesh.Request) {
	sv.calls[r.Key]++
	if sv.sync {
		sv.answer(r)
		return
	}
	sv.s.After(sv.delay, sv, sim.Event{Ptr: r})
}

func (sv *service) Handle(ev sim.Event) { sv.answer(ev.Ptr.(*mesh.Request)) }

func (sv *service) answer(r *mesh.Request) {
	o := mesh.OutcomeOK
	if sv.fail != nil && sv.fail(r) {
		o = mesh.OutcomeError
	}
	r.Origin.Finish(r, o)
}

func callers(sv *service, n int) []mesh.Caller {
	out := make([]mesh.Caller, n)
	for i := range out {
		out[i] = sv
	}
	return out
}

func TestGroupProcessingCallsAService(t *testing.T) {
	// Three members process each record by calling a service (2 ms, no
	// processing time of their own). Key 7 is poison: every call for it
	// fails, so each of its records is retried in place up to 10 attempts
	// (Spring Kafka's DefaultErrorHandler), then skipped (dropped,
	// delivery_limit) or dead-lettered. Key 3's calls fail on the first
	// attempt only: retried once, consumed. The same holds when the
	// sidecar answers inside Send (a local 503): no recursion.
	for _, tt := range []struct {
		name       string
		deadLetter bool
		sync       bool
	}{{"skip", false, false}, {"dead letter", true, false}, {"answered inside send", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{MaxEvents: 10_000_000})
			streams := sim.NewStreams(1, 0)
			pool := &Pool{}
			topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "orders", Partitions: 3})
			require.NoError(t, err)
			prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "p"})
			require.NoError(t, err)
			g, err := NewGroup(s, streams, topic, GroupConfig{Name: "g", Consumers: 3, Calls: true, DeadLetter: tt.deadLetter,
				Commit: CommitAfterProcessing})
			require.NoError(t, err)
			seen := map[uint64]bool{}
			sv := &service{s: s, delay: 2 * time.Millisecond, sync: tt.sync, calls: map[uint64]int{}, fail: func(r *mesh.Request) bool {
				if r.Key == 7 {
					return true
				}
				first := !seen[r.Key]
				seen[r.Key] = true
				return r.Key == 3 && first
			}}
			reqs := &mesh.Pool{}
			require.NoError(t, g.SetCallers(callers(sv, 3), reqs))
			g.Start()
			f := &feeder{s: s, p: prod, gap: 10 * time.Millisecond, n: 100, keys: 10}
			f.start()
			require.NoError(t, s.RunUntil(sim.Time(time.Minute)))
			c := g.Ledger().Counts()
			require.NoError(t, g.Ledger().CheckHeld(g.Held()+prod.Held()))
			if tt.deadLetter {
				assert.Equal(t, int64(10), c.ByState[StateDeadLettered])
			} else {
				assert.Equal(t, int64(10), c.DroppedBy[DropDeliveryLimit])
			}
			assert.Equal(t, int64(90), c.ByState[StateConsumed])
			assert.Equal(t, 100, sv.calls[7], "10 attempts for each of the 10 poison records")
			assert.Equal(t, 11, sv.calls[3], "one retry")
			assert.Equal(t, int64(101), c.Failed)
			assert.Zero(t, pool.Live())
		})
	}
}

func TestQueueConsumersCallAService(t *testing.T) {
	// Two consumers, two processings each at once, 1 ms of their own work
	// then a call of 5 ms; calls for key 0 always fail: nacked and
	// requeued until max_deliveries (4), then dead-lettered. The rest are
	// consumed once.
	for _, sync := range []bool{false, true} {
		r := newQueueRig(t, 1, QueueConfig{MaxDeliveries: 4, DeadLetter: true}, ProducerConfig{},
			QueueConsumerConfig{Consumers: 2, Concurrency: 2, Prefetch: 2, ProcessingTime: constant(t, time.Millisecond), Calls: true})
		sv := &service{s: r.s, delay: 5 * time.Millisecond, sync: sync, calls: map[uint64]int{},
			fail: func(req *mesh.Request) bool { return req.Key == 0 }}
		require.NoError(t, r.cons.SetCallers(callers(sv, 2), &mesh.Pool{}))
		r.cons.Start()
		r.feed(2*time.Millisecond, 200, 20)
		require.NoError(t, r.s.RunUntil(sim.Time(time.Minute)))
		c := r.check(t)
		assert.Equal(t, int64(10), c.ByState[StateDeadLettered])
		assert.Equal(t, int64(190), c.ByState[StateConsumed])
		assert.Equal(t, int64(40), c.Failed)
		assert.Equal(t, 40, sv.calls[0])
		assert.Zero(t, r.pool.Live())
	}
}
