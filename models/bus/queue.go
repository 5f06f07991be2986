package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// Event kinds of a Queue.
const (
	evQueueVisible    int32 = iota + 1 // Ptr's replication finished: it becomes ready
	evVisibilityTimer                  // Ptr's delivery Arg (its receipt) timed out
	evQueueExpire                      // the head may have passed its TTL or retention
	evQueueRetry                       // Ptr's retry backoff after delivery Arg is over
)

// QueueStats is what happened at a queue.
type QueueStats struct {
	Ready        int   // messages waiting for a consumer
	InFlight     int   // delivered, not yet acked, nacked or timed out
	DeadLettered int64 // messages moved to the dead-letter queue
	Acks         int64 // acks that deleted a message
	StaleAcks    int64 // acks naming an older delivery (ignored)
	Nacks        int64
	Timeouts     int64 // visibility timeouts that made a message visible again
	BackingOff   int   // waiting out a retry backoff
	Expired      int64 // messages that passed their TTL (dead-lettered or dropped)
	Retained     int64 // messages deleted by retention
}

// Queue is a queue with competing consumers, SQS or RabbitMQ-like. Ready
// messages are delivered in FIFO order to the consumers in turn, each up
// to its prefetch. A delivery must be acked within the visibility timeout,
// or the message becomes ready again and is redelivered; an ack is valid
// only for the latest delivery (SQS: a receipt handle older than the last
// receive may not delete the message; here it never does). A message
// delivered MaxDeliveries times that needs another delivery goes to the
// dead-letter queue (SQS maxReceiveCount), checked when it becomes ready
// again rather than at the next receive. nack with requeue puts it back at
// the head (RabbitMQ requeues to its original position when it can),
// a visibility timeout at the tail (SQS keeps no order). With a retry
// backoff (Pub/Sub RetryPolicy) both wait it out, then go to the tail.
// Messages past their TTL or retention leave at the head (see
// QueueConfig), a requeued head at its own deadline. Every operation is
// O(1) amortised, except dispatching, which is O(consumers) per delivery,
// and a nack with requeue, O(log events) to move the expiry timer.
type Queue struct {
	cfg     QueueConfig
	s       *sim.Scheduler
	rnd     *sim.Rand
	pool    *Pool
	ledger  *Ledger
	ledgers []*Ledger // ledger alone

	expTimer   sim.Timer
	expAt      sim.Time // when expTimer fires, while it is scheduled
	backingOff int

	ready     ring[*Message] // may hold acked messages (gone), skipped when popped
	repl      ring[*Message] // accepted, replicating: visible in this order (visibleAt only grows)
	readyLive int
	inflight  []*Message
	end       int64
	visibleAt sim.Time
	waiters   []*Producer

	consumers []*QueueConsumer
	rr        int
	st        QueueStats
	latency   *stats.Histogram
	// measureFrom: messages published before it are not in latency.
	measureFrom sim.Time
}

// NewQueue returns a queue on s whose messages come from pool;
// replication delays are drawn from streams.Get(name, "replication").
func NewQueue(s *sim.Scheduler, streams sim.Streams, pool *Pool, cfg QueueConfig) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: queue %q: no message pool", ErrConfig, cfg.Name)
	}
	cfg = cfg.withDefaults()
	return newQueue(s, streams, pool, cfg), nil
}

func newQueue(s *sim.Scheduler, streams sim.Streams, pool *Pool, cfg QueueConfig) *Queue {
	l := NewLedger()
	return &Queue{cfg: cfg, s: s, rnd: streams.Get(cfg.Name, "replication"), pool: pool,
		ledger: l, ledgers: []*Ledger{l}, latency: stats.NewHistogram()}
}

// Name returns the queue name.
func (q *Queue) Name() string { return q.cfg.Name }

// Partitions returns 1: a queue is one ordered unit.
func (q *Queue) Partitions() int { return 1 }

// Ledger returns the accounting of the queue's messages.
func (q *Queue) Ledger() *Ledger { return q.ledger }

func (q *Queue) ledgerList() []*Ledger { return q.ledgers }

// Latency returns the end-to-end latency, publish to the end of the first
// successful processing, ns.
func (q *Queue) Latency() *stats.Histogram { return q.latency.Clone() }

// MeasureFrom makes Latency leave out messages published before t (a
// warm-up). The ledger still counts every message.
func (q *Queue) MeasureFrom(t sim.Time) { q.measureFrom = t }

// Stats returns the queue's counts so far.
func (q *Queue) Stats() QueueStats {
	st := q.st
	st.Ready, st.InFlight, st.BackingOff = q.readyLive, len(q.inflight)-q.backingOff, q.backingOff
	return st
}

// Held counts the pending messages in the queue (replicating, ready and
// in flight) by walking them. O(messages held).
func (q *Queue) Held() int64 {
	var n int64
	for i := 0; i < q.repl.len(); i++ {
		if q.repl.at(i).state == StatePending {
			n++
		}
	}
	for i := 0; i < q.ready.len(); i++ {
		if m := q.ready.at(i); !m.gone && m.state == StatePending {
			n++
		}
	}
	for _, m := range q.inflight {
		if m.state == StatePending {
			n++
		}
	}
	// Acked at delivery (QueueConsumerConfig.AckOnDelivery), not yet
	// processed: held by their consumer only.
	for _, c := range q.consumers {
		for i := 0; i < c.buffer.len(); i++ {
			if m := c.buffer.at(i).m; m.gone && m.state == StatePending {
				n++
			}
		}
		for _, d := range c.working {
			if d.m.gone && d.m.state == StatePending {
				n++
			}
		}
	}
	return n
}

func (q *Queue) await(_ int32, p *Producer) {
	for _, w := range q.waiters {
		if w == p {
			return
		}
	}
	q.waiters = append(q.waiters, p)
}

func (q *Queue) offer(m *Message) offerResult {
	if c := q.cfg.Capacity; c > 0 && q.readyLive >= c {
		switch q.cfg.Overflow {
		case OverflowReject:
			return offerRejected
		case OverflowBlock:
			return offerFull
		case OverflowDropHead:
			q.deadLetter(q.popReady(), DropHead)
		}
	}
	m.Partition = 0
	m.Offset = q.end
	q.end++
	if m.producer != nil {
		m.producer.appended(m)
	}
	now := q.s.Now()
	if q.cfg.ReplicationDelay == nil {
		q.visible(m)
		return offerAccepted
	}
	at := max(now.Add(q.cfg.ReplicationDelay.Sample(q.rnd)), q.visibleAt)
	q.visibleAt = at
	q.repl.push(m)
	q.s.Schedule(at, q, sim.Event{Kind: evQueueVisible, Ptr: m})
	return offerAccepted
}

func (q *Queue) visible(m *Message) {
	if m.producer != nil {
		m.producer.replicated(m)
	}
	q.makeReady(m, false)
}

func (q *Queue) makeReady(m *Message, front bool) {
	m.inReady = true
	if front {
		q.ready.pushFront(m)
	} else {
		q.ready.push(m)
	}
	q.readyLive++
	// The timer waits for the head's deadline. A message put back at the
	// head (nack with requeue) becomes the head, and its deadline may come
	// first: RabbitMQ keeps a requeued message's original expiry and
	// expires messages at the head (rabbitmq.com/docs/ttl), so it expires
	// there at its deadline, not when the previous head's timer fires.
	// This follows RabbitMQ for the retention too (SQS deletes a message
	// past MessageRetentionPeriod wherever it is; QueueConfig.Retention).
	if at := max(q.s.Now(), q.expiresAt(q.ready.at(0))); !q.s.Scheduled(q.expTimer) || (front && at < q.expAt) {
		q.s.Cancel(q.expTimer)
		q.scheduleExpiry(at)
	}
	q.dispatch()
}

// scheduleExpiry makes the expiry timer fire at at. O(log events).
func (q *Queue) scheduleExpiry(at sim.Time) {
	q.expTimer, q.expAt = q.s.Schedule(at, q, sim.Event{Kind: evQueueExpire}), at
}

// expiresAt returns when m passes its TTL or its retention.
func (q *Queue) expiresAt(m *Message) sim.Time {
	lim := q.cfg.Retention
	if ttl := q.cfg.MessageTTL; ttl > 0 {
		lim = min(lim, ttl)
	}
	return m.Produced.Add(lim)
}

// expired reports whether m passed its TTL (ttl) or its retention (ok).
func (q *Queue) expired(m *Message) (ttl, ok bool) {
	if q.expiresAt(m) > q.s.Now() {
		return false, false
	}
	ttl = q.cfg.MessageTTL > 0 && m.Produced.Add(q.cfg.MessageTTL) <= q.s.Now()
	return ttl, true
}

// expire ends m, popped from the ready FIFO, past its TTL (dead-lettered
// if the queue has a dead-letter queue, as RabbitMQ's expired reason) or
// its retention (deleted).
func (q *Queue) expire(m *Message, ttl bool) {
	if ttl {
		q.st.Expired++
		q.deadLetter(m, DropTTL)
		return
	}
	q.st.Retained++
	if m.state == StatePending {
		q.ledger.dropped(m, &m.track, DropRetention)
	}
	q.finish(m)
}

// expireHeads ends the expired messages at the head, then waits for the
// new head's turn. O(messages expired).
func (q *Queue) expireHeads() {
	for q.ready.len() > 0 {
		m := q.ready.at(0)
		if m.gone {
			q.ready.pop()
			m.inReady = false
			q.release(m)
			continue
		}
		ttl, ok := q.expired(m)
		if !ok {
			q.scheduleExpiry(q.expiresAt(m))
			return
		}
		q.popReady()
		q.expire(m, ttl)
	}
}

// popReady removes the oldest live ready message; there must be one.
func (q *Queue) popReady() *Message {
	for {
		m := q.ready.pop()
		m.inReady = false
		if m.gone {
			q.release(m)
			continue
		}
		q.readyLive--
		q.wakeWaiters()
		return m
	}
}

// wakeWaiters tells the producers waiting for room that there may be
// some.
func (q *Queue) wakeWaiters() {
	for i, w := range q.waiters {
		w.wake()
		q.waiters[i] = nil
	}
	q.waiters = q.waiters[:0]
}

// dispatch delivers ready messages to consumers with room, in turn.
func (q *Queue) dispatch() {
	n := len(q.consumers)
	for q.readyLive > 0 {
		var c *QueueConsumer
		for k := 0; k < n; k++ {
			if cand := q.consumers[(q.rr+k)%n]; cand.hasRoom() {
				c = cand
				q.rr = (q.rr + k + 1) % n
				break
			}
		}
		if c == nil {
			return
		}
		m := q.popReady()
		if ttl, ok := q.expired(m); ok {
			q.expire(m, ttl)
			continue
		}
		m.receipt++
		q.ledger.delivered(&m.track)
		m.slot = int32(len(q.inflight))
		q.inflight = append(q.inflight, m)
		m.visTimer = q.s.After(q.cfg.VisibilityTimeout, q, sim.Event{Kind: evVisibilityTimer, Arg: int64(m.receipt), Ptr: m})
		c.receive(m, m.receipt)
	}
}

// Handle implements sim.Handler.
func (q *Queue) Handle(ev sim.Event) {
	if ev.Kind == evQueueExpire {
		q.expireHeads()
		return
	}
	m := ev.Ptr.(*Message)
	switch ev.Kind {
	case evQueueVisible:
		if q.repl.pop() != m {
			panic(fmt.Sprintf("bus: queue %s: message %d visible out of order (seq %d)", q.cfg.Name, m.ID, q.s.Fired()))
		}
		q.visible(m)
	case evQueueRetry:
		if m.receipt != uint32(ev.Arg) || m.gone || !m.backoff {
			return
		}
		m.backoff = false
		q.backingOff--
		q.leaveFlight(m)
		q.makeReady(m, false)
	case evVisibilityTimer:
		if m.receipt != uint32(ev.Arg) || m.gone {
			return
		}
		q.st.Timeouts++
		q.requeue(m, false)
	default:
		panic(fmt.Sprintf("bus: queue %s got event kind %d", q.cfg.Name, ev.Kind))
	}
}

// leaveFlight takes m off the in-flight list. O(1).
func (q *Queue) leaveFlight(m *Message) {
	if m.backoff {
		m.backoff = false
		q.backingOff--
	}
	i := m.slot
	last := q.inflight[len(q.inflight)-1]
	q.inflight[i] = last
	last.slot = i
	q.inflight[len(q.inflight)-1] = nil
	q.inflight = q.inflight[:len(q.inflight)-1]
	m.slot = -1
	q.s.Cancel(m.visTimer)
}

// requeue makes m, in flight, ready again (after its retry backoff, if
// the queue has one), or dead-letters it when it has had its deliveries.
func (q *Queue) requeue(m *Message, front bool) {
	if max := q.cfg.MaxDeliveries; max > 0 && int(m.Deliveries) >= max {
		q.leaveFlight(m)
		q.deadLetter(m, DropDeliveryLimit)
		return
	}
	if q.cfg.RetryMinBackoff > 0 {
		q.s.Cancel(m.visTimer)
		m.backoff = true
		q.backingOff++
		m.visTimer = q.s.After(q.backoffAfter(m.Deliveries), q, sim.Event{Kind: evQueueRetry, Arg: int64(m.receipt), Ptr: m})
		return
	}
	q.leaveFlight(m)
	q.makeReady(m, front)
}

// backoffAfter returns the retry backoff after the n-th failed delivery:
// min(max, min * 2^(n-1)).
func (q *Queue) backoffAfter(n uint32) time.Duration {
	d, hi := q.cfg.RetryMinBackoff, q.cfg.RetryMaxBackoff
	for i := uint32(1); i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// deadLetter moves m, no longer ready nor in flight, to the dead-letter
// queue, or drops it (for reason r) without one.
func (q *Queue) deadLetter(m *Message, r DropReason) {
	switch {
	case q.cfg.DeadLetter:
		q.st.DeadLettered++
		q.ledger.deadLettered(m, &m.track)
	case m.state == StatePending:
		q.ledger.dropped(m, &m.track, r)
	}
	q.finish(m)
}

// finish ends the broker's work on m: it is released once no consumer
// holds it and it is out of the ready FIFO.
func (q *Queue) finish(m *Message) {
	m.gone = true
	m.receipt++ // no earlier delivery can ack or nack it any more
	q.release(m)
}

func (q *Queue) release(m *Message) {
	if m.gone && m.holders == 0 && !m.inReady && m.live {
		q.pool.Put(m)
	}
}

// ack deletes m if receipt names its latest delivery.
func (q *Queue) ack(m *Message, receipt uint32) {
	if m.receipt != receipt || m.gone {
		q.st.StaleAcks++
		return
	}
	q.st.Acks++
	if m.inReady {
		// Timed out but not redelivered yet: the receipt is still the
		// latest, so the delete succeeds (SQS), and makes room.
		q.readyLive--
		q.wakeWaiters()
	} else {
		q.leaveFlight(m)
	}
	q.finish(m)
}

// nack returns m for redelivery, or dead-letters it, if receipt is its
// latest delivery.
func (q *Queue) nack(m *Message, receipt uint32, requeue bool) {
	if m.receipt != receipt || m.gone || m.inReady || m.backoff {
		return
	}
	q.st.Nacks++
	if requeue {
		q.requeue(m, true)
		return
	}
	q.leaveFlight(m)
	q.deadLetter(m, DropNack)
}
