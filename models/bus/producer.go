package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// Key is a message key: a number, or null.
type Key struct {
	v  uint64
	ok bool
}

// KeyOf returns the key v.
func KeyOf(v uint64) Key { return Key{v, true} }

// NullKey is the null key: the producer partitions it stickily.
var NullKey = Key{}

// Event kinds of a Producer.
const (
	evWake         int32 = iota + 1 // room may have freed up for the blocked messages
	evBlockTimeout                  // the head blocked message reached max_block
)

// ProducerStats is what a producer's messages experienced.
type ProducerStats struct {
	Published int64 // messages handed to Publish or Send
	Acked     int64 // acknowledged
	Refused   int64 // rejected, dropped from a full producer, or timed out blocking
	Blocked   int64 // messages that had to wait for room
	Waiting   int64 // messages waiting for room now
	// AckLatency is publish to acknowledgement, ns.
	AckLatency *stats.Histogram
}

// Producer publishes messages to one destination: a key's partition is
// Kafka's murmur2 partitioner, a null key goes to a sticky partition, and
// the acknowledgement arrives at send (acks=0), at the leader's append
// (acks=1) or when the write is replicated (acks=all). With the block
// policy a message that finds its partition full waits, with every later
// message behind it, for room, up to MaxBlock. Publish and Send are O(1)
// amortised and allocate nothing in steady state.
//
// A Producer implements workload.Sender through Send: a workload's
// request is answered OK when its message is acknowledged, rejected when
// it is refused.
type Producer struct {
	cfg     ProducerConfig
	s       *sim.Scheduler
	dest    Destination
	pool    *Pool
	ledger  *Ledger
	keyRnd  *sim.Rand
	partRnd *sim.Rand

	sticky     int32
	stickyLeft int

	blocked    ring[*Message] // messages waiting for room, in publish order
	blockTimer sim.Timer
	wakePosted bool

	st ProducerStats
}

// NewProducer returns a producer publishing to dest. Keys are drawn from
// streams.Get(name, "key"), sticky partitions from
// streams.Get(name, "partition").
func NewProducer(s *sim.Scheduler, streams sim.Streams, pool *Pool, dest Destination, cfg ProducerConfig) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil || dest == nil {
		return nil, fmt.Errorf("%w: producer %q: no message pool or destination", ErrConfig, cfg.Name)
	}
	cfg = cfg.withDefaults()
	p := &Producer{
		cfg: cfg, s: s, dest: dest, pool: pool, ledger: dest.Ledger(),
		keyRnd: streams.Get(cfg.Name, "key"), partRnd: streams.Get(cfg.Name, "partition"),
		sticky: -1, st: ProducerStats{AckLatency: stats.NewHistogram()},
	}
	return p, nil
}

// Name returns the producer name.
func (p *Producer) Name() string { return p.cfg.Name }

// Stats returns the producer's counts so far.
func (p *Producer) Stats() ProducerStats {
	st := p.st
	st.Waiting = int64(p.blocked.len())
	st.AckLatency = p.st.AckLatency.Clone()
	return st
}

// Held returns the pending messages waiting in the producer. O(1).
func (p *Producer) Held() int64 { return int64(p.blocked.len()) }

// Publish publishes one message with key k and trace id traceID, and
// returns it. The message belongs to the bus: the caller may read it only
// until it returns control to the scheduler.
func (p *Producer) Publish(k Key, traceID uint64) *Message {
	return p.publish(k, traceID, nil)
}

// Send publishes one message for the workload request r (its trace id is
// r.ID, its key chosen by the Keys mode) and answers r when the message is
// acknowledged or refused.
func (p *Producer) Send(r *mesh.Request) {
	var k Key
	switch p.cfg.Keys {
	case KeyRequest:
		k = KeyOf(r.Key)
	case KeyUniform:
		k = KeyOf(uint64(p.keyRnd.IntN(p.cfg.KeySpace)))
	}
	p.publish(k, r.ID, r)
}

func (p *Producer) publish(k Key, traceID uint64, ref any) *Message {
	m := p.pool.Get()
	m.Key, m.HasKey, m.TraceID = k.v, k.ok, traceID
	m.Topic = p.dest.Name()
	m.Produced = p.s.Now()
	m.producer, m.ref = p, ref
	m.Partition = p.partition(k)
	p.st.Published++
	p.ledger.published(m)
	if p.cfg.Acks == AcksNone {
		p.ack(m) // the producer does not wait
	}
	if p.blocked.len() > 0 {
		p.wait(m)
		return m
	}
	p.offer(m)
	return m
}

// partition picks m's partition: murmur2 of the key, or the sticky
// partition for a null key.
func (p *Producer) partition(k Key) int32 {
	n := p.dest.Partitions()
	if k.ok {
		return int32(PartitionForKey(k.v, n))
	}
	if p.stickyLeft == 0 || p.sticky < 0 {
		// BuiltInPartitioner.nextPartition: uniform, may pick the same
		// partition again.
		p.sticky = int32(p.partRnd.IntN(n))
		p.stickyLeft = p.cfg.StickyBatch
	}
	p.stickyLeft--
	return p.sticky
}

// offer hands m to the destination and reports whether it was accepted or
// refused (false: it must wait).
func (p *Producer) offer(m *Message) bool {
	switch p.dest.offer(m) {
	case offerAccepted:
		return true
	case offerRejected:
		p.refuse(m, DropRejected)
		return true
	}
	p.wait(m)
	return false
}

// wait queues m, new, behind the blocked messages.
func (p *Producer) wait(m *Message) {
	p.blocked.push(m)
	p.st.Blocked++
	head := p.blocked.at(0)
	p.dest.await(head.Partition, p)
	if !p.s.Scheduled(p.blockTimer) {
		p.blockTimer = p.s.Schedule(head.Produced.Add(p.cfg.MaxBlock), p, sim.Event{Kind: evBlockTimeout})
	}
}

// wake is called by a destination when room may have freed up.
func (p *Producer) wake() {
	if !p.wakePosted {
		p.wakePosted = true
		p.s.After(0, p, sim.Event{Kind: evWake})
	}
}

// Handle implements sim.Handler.
func (p *Producer) Handle(ev sim.Event) {
	switch ev.Kind {
	case evWake:
		p.wakePosted = false
		p.drain()
	case evBlockTimeout:
		now := p.s.Now()
		for p.blocked.len() > 0 && p.blocked.at(0).Produced.Add(p.cfg.MaxBlock) <= now {
			p.refuse(p.blocked.pop(), DropBlockTimeout)
		}
		if p.blocked.len() > 0 {
			head := p.blocked.at(0)
			p.blockTimer = p.s.Schedule(head.Produced.Add(p.cfg.MaxBlock), p, sim.Event{Kind: evBlockTimeout})
			p.drain()
		}
	default:
		panic(fmt.Sprintf("bus: producer %s got event kind %d", p.cfg.Name, ev.Kind))
	}
}

// drain offers the blocked messages in order until one must wait again.
func (p *Producer) drain() {
	for p.blocked.len() > 0 {
		m := p.blocked.at(0)
		switch p.dest.offer(m) {
		case offerAccepted:
			p.blocked.pop()
		case offerRejected:
			p.blocked.pop()
			p.refuse(m, DropRejected)
		default:
			p.dest.await(m.Partition, p)
			return
		}
	}
	p.s.Cancel(p.blockTimer)
}

// refuse ends m, which never entered the destination.
func (p *Producer) refuse(m *Message, r DropReason) {
	p.ledger.dropped(m, r)
	p.st.Refused++
	if req, ok := m.ref.(*mesh.Request); ok { // nil with acks=0: answered at send
		o := mesh.OutcomeRejected
		if r == DropBlockTimeout {
			o = mesh.OutcomeTimeout
		}
		m.ref = nil
		req.Origin.Finish(req, o)
	}
	p.pool.Put(m)
}

// appended is called by a partition or queue when the leader appended m.
func (p *Producer) appended(m *Message) {
	if p.cfg.Acks == AcksLeader {
		p.ack(m)
	}
}

// replicated is called when m is replicated (visible to consumers).
func (p *Producer) replicated(m *Message) {
	if p.cfg.Acks == AcksAll {
		p.ack(m)
	}
	m.producer = nil // nothing more to tell this producer
}

func (p *Producer) ack(m *Message) {
	p.st.Acked++
	p.st.AckLatency.Record(int64(p.s.Now().Sub(m.Produced) / time.Nanosecond))
	if req, ok := m.ref.(*mesh.Request); ok {
		m.ref = nil
		req.Origin.Finish(req, mesh.OutcomeOK)
	}
}
