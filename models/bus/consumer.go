package bus

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// Event kinds of a QueueConsumer.
const (
	evQueueProcessed int32 = iota + 1 // Ptr's processing ended; Arg = epoch<<32 | receipt
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
	for i := range cfg.Consumers {
		name := fmt.Sprintf("%s[%d]", cfg.Name, i)
		c := &QueueConsumer{cs: qc, s: s, name: name,
			rnd: streams.Get(name, "processing"), failRnd: streams.Get(name, "failure")}
		qc.consumers = append(qc.consumers, c)
		q.consumers = append(q.consumers, c)
	}
	return qc, nil
}

// Start makes every consumer ready to receive.
func (qc *QueueConsumers) Start() {
	for _, c := range qc.consumers {
		c.alive = true
	}
	qc.q.dispatch()
}

// Consumer returns consumer i.
func (qc *QueueConsumers) Consumer(i int) *QueueConsumer { return qc.consumers[i] }

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
	if c.busy < c.cs.cfg.Concurrency {
		c.start(delivery{m, receipt})
		return
	}
	c.buffer.push(delivery{m, receipt})
}

func (c *QueueConsumer) start(d delivery) {
	c.busy++
	c.working = append(c.working, d)
	t := c.cs.cfg.ProcessingTime.Sample(c.rnd)
	c.s.After(t, c, sim.Event{Kind: evQueueProcessed, Arg: int64(c.epoch)<<32 | int64(d.receipt), Ptr: d.m})
}

// Handle implements sim.Handler.
func (c *QueueConsumer) Handle(ev sim.Event) {
	if ev.Kind != evQueueProcessed {
		panic(fmt.Sprintf("bus: queue consumer %s got event kind %d", c.name, ev.Kind))
	}
	if uint32(ev.Arg>>32) != c.epoch {
		return // the consumer crashed meanwhile
	}
	m, receipt := ev.Ptr.(*Message), uint32(ev.Arg)
	q, cfg := c.cs.q, &c.cs.cfg
	c.busy--
	c.unacked--
	m.holders--
	for i, d := range c.working {
		if d.m == m && d.receipt == receipt {
			c.working = append(c.working[:i], c.working[i+1:]...)
			break
		}
	}
	var fails bool
	if cfg.Fails != nil {
		fails = cfg.Fails(m)
	} else {
		fails = c.failRnd.Bernoulli(cfg.FailureProb)
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
		q.ack(m, receipt)
	} else {
		c.failed++
		switch cfg.OnFailure {
		case NackRequeue:
			q.nack(m, receipt, true)
		case NackDiscard:
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
// connection loss). O(deliveries held).
func (c *QueueConsumer) Crash() {
	if !c.alive {
		return
	}
	c.alive = false
	c.epoch++ // in-process processings end without effect
	q := c.cs.q
	for c.buffer.len() > 0 {
		d := c.buffer.pop()
		d.m.holders--
		q.release(d.m)
	}
	for _, d := range c.working {
		d.m.holders--
		q.release(d.m)
	}
	c.working = c.working[:0]
	c.unacked, c.busy = 0, 0
}

// Restart starts a crashed consumer again.
func (c *QueueConsumer) Restart() {
	if c.alive {
		return
	}
	c.alive = true
	c.cs.q.dispatch()
}
