package bus

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// Message is one published message. Messages are pooled: a message is taken
// from its Pool when a producer publishes it and returned when no broker
// structure refers to it any more (its offset was committed past, it was
// acked, dead-lettered or dropped). Callers outside this package read its
// fields while they hold it (inside a callback) and never keep it.
type Message struct {
	ID        uint64 // publish order over the run, from 1
	Key       uint64 // the record key, when HasKey
	HasKey    bool   // false for a null key (sticky partitioning)
	TraceID   uint64 // follows a business transaction across both halves
	Topic     string // the topic or queue it was published to
	Partition int32  // -1 until the producer picks one
	Offset    int64  // position in the partition log or queue, from 0
	Produced  sim.Time
	// Deliveries counts the times the message was handed to a consumer
	// (SQS ApproximateReceiveCount; a Kafka redelivery after a rebalance
	// counts too). Consumed counts the times a consumer finished processing
	// it: its effects. Consumed > 1 means duplicates.
	Deliveries uint32
	Consumed   uint32

	state    State
	producer *Producer
	ref      any // the producer's own reference, such as the request that published it

	// Broker-side bookkeeping.
	receipt   uint32    // queue: the delivery an ack must name (SQS receipt handle)
	visTimer  sim.Timer // queue: the visibility timeout of the current delivery
	inBatch   bool      // log: fetched into a consumer's batch, not yet processed
	inReady   bool      // queue: in the ready FIFO
	gone      bool      // removed from its log or acked while in a batch or FIFO
	truncated bool      // log: dropped from the head while fetched
	holders   int32     // queue: consumers holding a delivery of it
	slot      int32     // queue: index in the in-flight list, -1 if not in flight
	live      bool      // between Get and Put
}

// State returns the message's accounting state.
func (m *Message) State() State { return m.state }

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
		*m = Message{}
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

// at returns the i-th element from the head.
func (q *ring[T]) at(i int) T { return q.buf[(q.head+i)&(len(q.buf)-1)] }
