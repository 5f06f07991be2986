package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// feeder publishes n messages, one every gap, with keys 0..keys-1 in turn
// (null keys when keys is 0).
type feeder struct {
	s    *sim.Scheduler
	p    *Producer
	gap  time.Duration
	n    int
	keys uint64
	sent int
}

func (f *feeder) Handle(sim.Event) {
	k := NullKey
	if f.keys > 0 {
		k = KeyOf(uint64(f.sent) % f.keys)
	}
	f.p.Publish(k, uint64(f.sent+1))
	f.sent++
	if f.sent < f.n {
		f.s.After(f.gap, f, sim.Event{})
	}
}

func (f *feeder) start() { f.s.After(0, f, sim.Event{}) }

func constant(t testing.TB, d time.Duration) dist.Dist {
	t.Helper()
	c, err := dist.Constant(d)
	require.NoError(t, err)
	return c
}

func exponential(t testing.TB, d time.Duration) dist.Dist {
	t.Helper()
	c, err := dist.Exponential(d)
	require.NoError(t, err)
	return c
}

// logRig is a topic with a producer and a consumer group.
type logRig struct {
	s     *sim.Scheduler
	pool  *Pool
	topic *Topic
	prod  *Producer
	group *Group
}

func newLogRig(t testing.TB, seed uint64, tc TopicConfig, pc ProducerConfig, gc GroupConfig) *logRig {
	t.Helper()
	s := sim.NewScheduler(sim.Config{MaxEvents: 50_000_000})
	streams := sim.NewStreams(seed, 0)
	r := &logRig{s: s, pool: &Pool{}}
	var err error
	if tc.Name == "" {
		tc.Name = "orders"
	}
	r.topic, err = NewTopic(s, streams, r.pool, tc)
	require.NoError(t, err)
	if pc.Name == "" {
		pc.Name = "producer"
	}
	r.prod, err = NewProducer(s, streams, r.pool, r.topic, pc)
	require.NoError(t, err)
	if gc.Name == "" {
		gc.Name = "g"
	}
	r.group, err = NewGroup(s, streams, r.topic, gc)
	require.NoError(t, err)
	r.group.Start()
	return r
}

// feed publishes n messages, one every gap, cycling over keys keys.
func (r *logRig) feed(gap time.Duration, n int, keys uint64) *feeder {
	f := &feeder{s: r.s, p: r.prod, gap: gap, n: n, keys: keys}
	f.start()
	return f
}

// check asserts conservation against the messages actually held.
func (r *logRig) check(t testing.TB) Counts {
	t.Helper()
	require.NoError(t, r.topic.Ledger().CheckHeld(r.topic.Held()+r.prod.Held()))
	return r.topic.Ledger().Counts()
}

// at runs fn at time at.
type at struct{ fn func() }

func (a at) Handle(sim.Event) { a.fn() }

func (r *logRig) at(t time.Duration, fn func()) { r.s.Schedule(sim.Time(t), at{fn}, sim.Event{}) }

// queueRig is a queue with a producer and competing consumers.
type queueRig struct {
	s    *sim.Scheduler
	pool *Pool
	q    *Queue
	prod *Producer
	cons *QueueConsumers
}

func newQueueRig(t testing.TB, seed uint64, qc QueueConfig, pc ProducerConfig, cc QueueConsumerConfig) *queueRig {
	t.Helper()
	s := sim.NewScheduler(sim.Config{MaxEvents: 50_000_000})
	streams := sim.NewStreams(seed, 0)
	r := &queueRig{s: s, pool: &Pool{}}
	var err error
	if qc.Name == "" {
		qc.Name = "jobs"
	}
	r.q, err = NewQueue(s, streams, r.pool, qc)
	require.NoError(t, err)
	if pc.Name == "" {
		pc.Name = "producer"
	}
	r.prod, err = NewProducer(s, streams, r.pool, r.q, pc)
	require.NoError(t, err)
	if cc.Name == "" {
		cc.Name = "worker"
	}
	r.cons, err = NewQueueConsumers(s, streams, r.q, cc)
	require.NoError(t, err)
	if !cc.Calls { // else after SetCallers
		r.cons.Start()
	}
	return r
}

func (r *queueRig) feed(gap time.Duration, n int, keys uint64) *feeder {
	f := &feeder{s: r.s, p: r.prod, gap: gap, n: n, keys: keys}
	f.start()
	return f
}

func (r *queueRig) check(t testing.TB) Counts {
	t.Helper()
	require.NoError(t, r.q.Ledger().CheckHeld(r.q.Held()+r.prod.Held()))
	return r.q.Ledger().Counts()
}

func distConstant(d time.Duration) (dist.Dist, error) { return dist.Constant(d) }
