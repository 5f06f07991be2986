package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
)

// Event kinds of a QueueConsumer.
const (
	evQueueProcessed int32 = iota + 1 // Ptr's processing ended; Arg = epoch<<32 | receipt
	evQueueCallDone                   // the call of slot Arg&0xffffffff answered while being sent; Arg>>32 = epoch
)

// delivery is one message as a consumer received it.
type delivery struct {
	m       *Message
	receipt uint32
}

// QueueConsumers are the competing consumers of a queue.
type QueueConsumers struct {
	cfg       QueueConsumerConfig
	q         *Queue
	dedup     *dedupStore
	consumers []*QueueConsumer
	reqs      *mesh.Pool // the consumers' calls' requests (QueueConsumerConfig.Calls)
}

// SetCallers gives consumer i the caller callers[i] (its own sidecar
// towards the service its processing calls), whose requests come from
// pool. The consumers must have QueueConsumerConfig.Calls; call it before
// Start.
func (qc *QueueConsumers) SetCallers(callers []mesh.Caller, pool *mesh.Pool) error {
	if !qc.cfg.Calls || len(callers) != len(qc.consumers) || pool == nil {
		return fmt.Errorf("%w: queue consumer %q: %d callers for %d consumers (calls: %t)", ErrConfig, qc.cfg.Name, len(callers), len(qc.consumers), qc.cfg.Calls)
	}
	for i, c := range qc.consumers {
		c.caller = callers[i]
		c.calls = make([]queueCall, qc.cfg.Concurrency)
	}
	qc.reqs = pool
	return nil
}

// NewQueueConsumers returns cfg.Consumers consumers of q. Consumer i is
// named "<name>[i]" and draws processing times from ("<name>[i]",
// "processing") and failures from ("<name>[i]", "failure"). They receive
// messages once started.
func NewQueueConsumers(s *sim.Scheduler, streams sim.Streams, q *Queue, cfg QueueConsumerConfig) (*QueueConsumers, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, fmt.Errorf("%w: queue consumer %q: no queue", ErrConfig, cfg.Name)
	}
	cfg = cfg.withDefaults()
	qc := &QueueConsumers{cfg: cfg, q: q, dedup: newDedupStore(cfg.Dedup)}
	if cfg.ReadModel != nil {
		q.ledger.readModel = cfg.ReadModel
	}
	for i := range cfg.Consumers {
		name := fmt.Sprintf("%s[%d]", cfg.Name, i)
		c := &QueueConsumer{cs: qc, s: s, name: name, sending: -1,
			rnd: streams.Get(name, "processing"), failRnd: streams.Get(name, "failure")}
		qc.consumers = append(qc.consumers, c)
		q.consumers = append(q.consumers, c)
	}
	return qc, nil
}

// Start makes every consumer ready to receive.
func (qc *QueueConsumers) Start() {
	if qc.cfg.Calls && qc.reqs == nil {
		panic(fmt.Sprintf("bus: queue consumer %s calls a service but has no callers (SetCallers)", qc.cfg.Name))
	}
	for _, c := range qc.consumers {
		c.alive = true
	}
	qc.q.dispatch()
}

// Consumer returns consumer i, or nil past the last one.
func (qc *QueueConsumers) Consumer(i int) *QueueConsumer {
	if i >= len(qc.consumers) {
		return nil
	}
	return qc.consumers[i]
}

// Len returns the number of consumers.
func (qc *QueueConsumers) Len() int { return len(qc.consumers) }

// QueueConsumer is one consumer: it holds up to Prefetch unacked
// deliveries and processes up to Concurrency of them at once, in the order
// received. A processing that succeeds has its effect (the ledger counts
// it) and is acked; one that fails is nacked or abandoned (OnFailure).
// Every operation is O(1).
type QueueConsumer struct {
	cs      *QueueConsumers
	s       *sim.Scheduler
	name    string
	rnd     *sim.Rand
	failRnd *sim.Rand
	epoch   uint32
	alive   bool

	unacked int
	busy    int
	buffer  ring[delivery]
	working []delivery // being processed, at most Concurrency

	processed, failed int64

	// The calls that end processings (QueueConsumerConfig.Calls), one
	// slot per concurrent processing; sending is the slot being sent.
	caller  mesh.Caller
	calls   []queueCall
	sending int
}

// queueCall is one processing's call in flight, or its answer when it
// came back while being sent.
type queueCall struct {
	req     *mesh.Request
	d       delivery
	outcome mesh.Outcome
}

// Name returns the consumer name.
func (c *QueueConsumer) Name() string { return c.name }

// Processed returns the successful and the failed processings so far.
func (c *QueueConsumer) Processed() (ok, failed int64) { return c.processed, c.failed }

func (c *QueueConsumer) hasRoom() bool {
	p := c.cs.cfg.Prefetch
	return c.alive && (p == 0 || c.unacked < p)
}

func (c *QueueConsumer) receive(m *Message, receipt uint32) {
	m.holders++
	c.unacked++
	if c.cs.cfg.AckOnDelivery {
		c.cs.q.ack(m, receipt) // gone from the queue; the consumer still holds it
	}
	if c.busy < c.cs.cfg.Concurrency {
		c.start(delivery{m, receipt})
		return
	}
	c.buffer.push(delivery{m, receipt})
}

func (c *QueueConsumer) start(d delivery) {
	c.busy++
	c.working = append(c.working, d)
	// Without a processing time the call starts at once, from an event
	// rather than from here: start runs inside dispatch, which a failed
	// processing calls again.
	var t time.Duration
	if pt := c.cs.cfg.ProcessingTime; pt != nil {
		t = pt.Sample(c.rnd)
	}
	c.s.After(t, c, sim.Event{Kind: evQueueProcessed, Arg: int64(c.epoch)<<32 | int64(d.receipt), Ptr: d.m})
}

// fails draws whether the local part of m's processing fails.
func (c *QueueConsumer) fails(m *Message) bool {
	cfg := &c.cs.cfg
	if cfg.Fails != nil {
		return cfg.Fails(m)
	}
	return c.failRnd.Bernoulli(cfg.FailureProb)
}

// Handle implements sim.Handler.
func (c *QueueConsumer) Handle(ev sim.Event) {
	switch ev.Kind {
	case evQueueProcessed:
		if uint32(ev.Arg>>32) != c.epoch {
			return // the consumer crashed meanwhile
		}
		m := ev.Ptr.(*Message)
		d := delivery{m, uint32(ev.Arg)}
		c.processed1(d, c.fails(m))
	case evQueueCallDone:
		if uint32(ev.Arg>>32) != c.epoch {
			return
		}
		k := &c.calls[uint32(ev.Arg)]
		d, o := k.d, k.outcome
		*k = queueCall{}
		c.done(d, o != mesh.OutcomeOK)
	default:
		panic(fmt.Sprintf("bus: queue consumer %s got event kind %d", c.name, ev.Kind))
	}
}

// processed1 ends d's local processing: then its call, if the consumers
// call a service and it did not fail already.
func (c *QueueConsumer) processed1(d delivery, fails bool) {
	if fails || c.caller == nil {
		c.done(d, fails)
		return
	}
	k := 0
	for c.calls[k].req != nil || c.calls[k].d.m != nil {
		k++ // a free slot exists: at most Concurrency processings
	}
	now := c.s.Now()
	r := c.cs.reqs.Get()
	r.Key = d.m.ID
	if d.m.HasKey {
		r.Key = d.m.Key
	}
	r.Created = now
	r.Measured = now >= c.cs.q.measureFrom
	r.Origin = c
	r.SetTrace(d.m.tracedAt(&d.m.track))
	c.calls[k] = queueCall{req: r, d: d}
	c.sending = k
	c.caller.Send(r)
	c.sending = -1
}

// Finish receives the answer to a consumer's call: QueueConsumer
// implements mesh.Origin. An answer to a crashed incarnation's call is
// dropped. One that comes back while being sent (a local 503) is settled
// by an event at the same instant, so that failures do not recurse.
func (c *QueueConsumer) Finish(r *mesh.Request, o mesh.Outcome) {
	c.cs.reqs.Put(r)
	for k := range c.calls {
		if c.calls[k].req != r {
			continue
		}
		if k == c.sending {
			c.calls[k].req, c.calls[k].outcome = nil, o
			c.s.After(0, c, sim.Event{Kind: evQueueCallDone, Arg: int64(c.epoch)<<32 | int64(k)})
			return
		}
		d := c.calls[k].d
		c.calls[k] = queueCall{}
		c.done(d, o != mesh.OutcomeOK)
		return
	}
}

// done ends d's processing, successful or failed: acked, or nacked or
// abandoned (OnFailure).
func (c *QueueConsumer) done(d delivery, fails bool) {
	m, receipt := d.m, d.receipt
	q, cfg := c.cs.q, &c.cs.cfg
	c.busy--
	c.unacked--
	m.holders--
	for i, w := range c.working {
		if w.m == m && w.receipt == receipt {
			c.working = append(c.working[:i], c.working[i+1:]...)
			break
		}
	}
	if !fails {
		c.processed++
		if d := c.cs.dedup; d != nil && d.seen(m.ID, c.s.Now()) {
			q.ledger.absorbed()
		} else {
			if m.Consumed == 0 && m.Produced >= q.measureFrom {
				q.latency.Record(int64(c.s.Now().Sub(m.Produced)))
			}
			q.ledger.processed(m, &m.track)
		}
		if !cfg.AckOnDelivery {
			q.ack(m, receipt)
		}
	} else {
		c.failed++
		q.ledger.failed()
		switch {
		case cfg.AckOnDelivery:
			if m.state == StatePending {
				q.ledger.lost(m, &m.track, LossCommitted) // acked, never processed
			}
		case cfg.OnFailure == NackRequeue:
			q.nack(m, receipt, true)
		case cfg.OnFailure == NackDiscard:
			q.nack(m, receipt, false)
		}
	}
	q.release(m)
	if c.buffer.len() > 0 {
		c.start(c.buffer.pop())
	}
	q.dispatch()
}

// Crash stops the consumer now. What it held stays in flight at the queue
// until the visibility timeout (SQS; RabbitMQ would requeue at once on
// connection loss), or, acked at delivery (AckOnDelivery), is lost.
// O(deliveries held).
func (c *QueueConsumer) Crash() {
	if !c.alive {
		return
	}
	c.alive = false
	c.epoch++ // in-process processings end without effect
	q := c.cs.q
	drop := func(m *Message) {
		m.holders--
		if c.cs.cfg.AckOnDelivery && m.state == StatePending {
			q.ledger.lost(m, &m.track, LossCommitted) // acked at delivery: at most once
		}
		q.release(m)
	}
	for c.buffer.len() > 0 {
		drop(c.buffer.pop().m)
	}
	for _, d := range c.working {
		drop(d.m)
	}
	c.working = c.working[:0]
	c.unacked, c.busy = 0, 0
	for k := range c.calls {
		c.calls[k] = queueCall{} // their answers are dropped
	}
}

// Restart starts a crashed consumer again.
func (c *QueueConsumer) Restart() {
	if c.alive {
		return
	}
	c.alive = true
	c.cs.q.dispatch()
}
