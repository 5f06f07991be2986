package bus

import (
	"fmt"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
)

// Message is one published message. Messages are pooled: a message is taken
// from its Pool when a producer publishes it and returned when no broker
// structure refers to it any more (its offset was committed past by every
// group, it was acked, dead-lettered, dropped or lost). Callers outside this
// package read its fields while they hold it (inside a callback) and never
// keep it.
//
// A message carries one accounting track per subscription of its
// destination (consumer group of a log topic, subscription of a fan-out
// topic; a queue has one): its state, deliveries and processings there.
// The embedded track is the first subscription's, so Deliveries, Consumed
// and State describe a queue's message, or a topic's for its first group.
type Message struct {
	ID        uint64 // publish order over the run, from 1; a producer retry's duplicate record keeps its ID
	Key       uint64 // the record key, when HasKey
	HasKey    bool   // false for a null key (sticky partitioning)
	TraceID   uint64 // follows a business transaction across both halves
	Topic     string // the topic or queue it was published to
	Partition int32  // -1 until the producer picks one
	Offset    int64  // position in the partition log or queue, from 0
	Produced  sim.Time
	Bytes     int32 // the record's size (the producer's message_bytes), for batch.size and retention.bytes

	track         // the first subscription's accounting
	more  []track // the other subscriptions', when the destination has several

	producer *Producer
	ref      any         // the producer's own reference, such as the request that published it
	trace    *mesh.Trace // held once per track until the track leaves StatePending

	// Producer-side bookkeeping.
	acked       bool      // the producer received its acknowledgement
	respPending bool      // the acknowledgement is on its way (response_time)
	respTimer   sim.Timer // its arrival
	rslot       int32     // index in its lane's pending responses
	batchLast   bool      // the last message of a batch in flight: its answer frees an in-flight slot
	retried     bool      // returned to the producer by a failover or an error: resend without lingering
	retryAt     sim.Time  // not resent before (retry.backoff.ms after an error)
	attempts    uint8     // produce requests of it that failed with an error (saturates)
	dupOf       *Message  // a producer retry's copy of an already written message: accounted as dupOf
	buffered    bool      // holds Bytes of its producer's buffer memory
	appended    sim.Time  // admitted to the producer's accumulator: delivery_timeout counts from here
	refs        int32     // copies (dupOf) that still refer to this message

	// Broker-side bookkeeping.
	receipt   uint32     // queue: the delivery an ack must name (SQS receipt handle)
	visTimer  sim.Timer  // queue: the visibility timeout of the current delivery, or its retry backoff
	backoff   bool       // queue: waiting out a retry backoff before it is ready again
	inReady   bool       // queue: in the ready FIFO
	gone      bool       // removed from its log or acked while in a batch, FIFO or response
	removedBy DropReason // log: the policy that removed it, when removedByPolicy
	policy    bool       // log: removed by a policy (drop-head, retention), not by commits
	holders   int32      // consumers (queue) or batches and responses (log) holding it
	slot      int32      // queue: index in the in-flight list, -1 if not in flight
	live      bool       // between Get and Put
}

// track is a message's accounting at one subscription.
type track struct {
	// Deliveries counts the times the message was handed to a consumer
	// (SQS ApproximateReceiveCount; a Kafka redelivery after a rebalance
	// counts too). Consumed counts the times a consumer finished processing
	// it: its effects. Consumed > 1 means duplicates.
	Deliveries uint32
	Consumed   uint32

	state   State
	inBatch bool  // log: fetched into a member's batch, not yet processed
	fate    uint8 // log: removed while in a batch: what becomes of it if never processed (fateLost, fateDrop+reason)
}

const (
	fateNone uint8 = iota
	fateLost
	fateDrop // + DropReason
)

// tr returns the track of subscription i. O(1).
func (m *Message) tr(i int) *track {
	if i == 0 {
		return &m.track
	}
	return &m.more[i-1]
}

// setTracks gives m n zeroed tracks; it reuses the pooled capacity, so it
// allocates only while the pool warms up.
func (m *Message) setTracks(n int) {
	m.track = track{}
	m.more = m.more[:0]
	for range n - 1 {
		m.more = append(m.more, track{})
	}
}

// acct returns the message whose accounting m's processing counts for:
// m itself, or the original of a producer retry's duplicate record.
func (m *Message) acct() *Message {
	if m.dupOf != nil {
		return m.dupOf
	}
	return m
}

// tracedAt returns the message's trace if its track t is still pending
// (the trace is held for it), nil otherwise.
func (m *Message) tracedAt(t *track) *mesh.Trace {
	if t.state != StatePending {
		return nil
	}
	return m.trace
}

// State returns the message's accounting state.
// For a destination with several subscriptions it is the first one's;
// StateAt gives the others.
func (m *Message) State() State { return m.state }

// StateAt returns the message's accounting state at subscription i (a
// topic's i-th group, a fan-out's i-th subscription).
func (m *Message) StateAt(i int) State { return m.tr(i).state }

// Pool recycles messages so that steady-state publishing allocates
// nothing. Get and Put are O(1). A Pool belongs to one run and is not safe
// for concurrent use.
type Pool struct {
	free   []*Message
	nextID uint64
	live   int64
}

// Get returns a zeroed message with the next ID (IDs count from 1 in
// publish order, so they are stable across runs).
func (p *Pool) Get() *Message {
	var m *Message
	if n := len(p.free); n > 0 {
		m = p.free[n-1]
		p.free = p.free[:n-1]
		more := m.more[:0]
		*m = Message{}
		m.more = more
	} else {
		m = &Message{}
	}
	p.nextID++
	p.live++
	m.ID = p.nextID
	m.Partition = -1
	m.live = true
	return m
}

// clone returns a copy of orig with the same identity (ID, key, trace,
// publish time, producer and tracks' count) that refers to orig, which
// stays out of the pool until the copy is released: a producer's resend of
// a message already written. O(subscriptions).
func (p *Pool) clone(orig *Message) *Message {
	m := p.Get()
	p.nextID-- // a copy takes no ID of its own
	m.ID, m.Key, m.HasKey, m.TraceID = orig.ID, orig.Key, orig.HasKey, orig.TraceID
	m.Topic, m.Partition, m.Produced, m.Bytes = orig.Topic, orig.Partition, orig.Produced, orig.Bytes
	m.appended = orig.appended
	m.setTracks(1 + len(orig.more))
	m.dupOf = orig
	orig.refs++
	return m
}

// release returns m to the pool once no structure refers to it: it left
// its log or queue (gone), no consumer, batch or response holds it, it is
// out of the ready FIFO and no copy refers to it. Releasing a copy may
// release its original. O(1).
func (p *Pool) release(m *Message) {
	if !m.live || !m.gone || m.holders > 0 || m.refs > 0 || m.inReady {
		return
	}
	orig := m.dupOf
	p.Put(m)
	if orig != nil {
		orig.refs--
		p.release(orig)
	}
}

// Put returns m to the pool. Putting a message twice means two structures
// thought they held it last, which would corrupt the accounting, so Put
// panics.
func (p *Pool) Put(m *Message) {
	if !m.live {
		panic(fmt.Sprintf("bus: message %d released twice", m.ID))
	}
	m.live = false
	m.ref = nil
	m.producer = nil
	m.dupOf = nil
	m.trace = nil
	p.live--
	p.free = append(p.free, m)
}

// Live returns the number of messages taken and not yet returned. O(1).
func (p *Pool) Live() int64 { return p.live }

// ring is a FIFO in a growable circular buffer. push, pushFront, pop and
// at are O(1) (pushes amortised); it only grows, so a steady state
// allocates nothing.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

func (q *ring[T]) len() int { return q.n }

func (q *ring[T]) grow() {
	if q.n < len(q.buf) {
		return
	}
	size := max(16, 2*len(q.buf))
	buf := make([]T, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}

func (q *ring[T]) push(v T) {
	q.grow()
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

// pushFront puts v at the head.
func (q *ring[T]) pushFront(v T) {
	q.grow()
	q.head = (q.head - 1) & (len(q.buf) - 1)
	q.buf[q.head] = v
	q.n++
}

// pop removes the head; the ring must not be empty.
func (q *ring[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return v
}

// popBack removes the tail; the ring must not be empty.
func (q *ring[T]) popBack() T {
	var zero T
	i := (q.head + q.n - 1) & (len(q.buf) - 1)
	v := q.buf[i]
	q.buf[i] = zero
	q.n--
	return v
}

// at returns the i-th element from the head.
func (q *ring[T]) at(i int) T { return q.buf[(q.head+i)&(len(q.buf)-1)] }

// set replaces the i-th element from the head.
func (q *ring[T]) set(i int, v T) { q.buf[(q.head+i)&(len(q.buf)-1)] = v }
