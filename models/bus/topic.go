package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Destination is where a producer publishes: a log Topic or a Queue. Its
// methods beyond Name and Partitions are internal to the package.
type Destination interface {
	Name() string
	Partitions() int
	// Ledger returns the accounting of the messages published here.
	Ledger() *Ledger
	offer(m *Message) offerResult
	await(partition int32, p *Producer)
}

type offerResult uint8

const (
	offerAccepted offerResult = iota
	offerRejected             // refused: the producer drops it
	offerFull                 // full with the block policy: the producer waits
)

// Event kinds of a Partition.
const (
	evVisible int32 = iota + 1 // the high watermark reaches Arg
)

// Topic is a log topic: partitions, each an append-only log of messages
// with offsets, a leader broker, a high watermark that trails the log end
// by the replication delay, and at most one consumer group (fan-out to
// several groups is later work). Every method is O(1) unless stated.
type Topic struct {
	cfg    TopicConfig
	s      *sim.Scheduler
	rnd    *sim.Rand
	pool   *Pool
	ledger *Ledger
	parts  []*Partition
	group  *Group
}

// NewTopic returns a topic on s whose messages come from pool. The
// replication delays are drawn from streams.Get(name, "replication").
func NewTopic(s *sim.Scheduler, streams sim.Streams, pool *Pool, cfg TopicConfig) (*Topic, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: topic %q: no message pool", ErrConfig, cfg.Name)
	}
	cfg = cfg.withDefaults()
	t := &Topic{cfg: cfg, s: s, rnd: streams.Get(cfg.Name, "replication"), pool: pool, ledger: NewLedger()}
	for i := range cfg.Partitions {
		t.parts = append(t.parts, &Partition{topic: t, index: int32(i), leader: i % cfg.Brokers})
	}
	return t, nil
}

// Name returns the topic name.
func (t *Topic) Name() string { return t.cfg.Name }

// Partitions returns the number of partitions.
func (t *Topic) Partitions() int { return len(t.parts) }

// Partition returns partition i.
func (t *Topic) Partition(i int) *Partition { return t.parts[i] }

// Ledger returns the accounting of the topic's messages for its group.
func (t *Topic) Ledger() *Ledger { return t.ledger }

// Lag returns the summed consumer lag of all partitions. O(partitions).
func (t *Topic) Lag() int64 {
	var n int64
	for _, p := range t.parts {
		n += p.Lag()
	}
	return n
}

// Held counts the pending messages the topic holds, in its logs and in
// its group's batches, by walking them: the independent count that
// Ledger.CheckHeld compares with. O(retained messages).
func (t *Topic) Held() int64 {
	var n int64
	for _, p := range t.parts {
		for i := 0; i < p.log.len(); i++ {
			if p.log.at(i).state == StatePending {
				n++
			}
		}
	}
	if t.group != nil {
		for _, m := range t.group.members {
			for _, msg := range m.batch[m.next:] {
				if msg.gone && msg.state == StatePending {
					n++
				}
			}
		}
	}
	return n
}

func (t *Topic) await(partition int32, p *Producer) {
	pt := t.parts[partition]
	for _, w := range pt.waiters {
		if w == p {
			return
		}
	}
	pt.waiters = append(pt.waiters, p)
}

func (t *Topic) offer(m *Message) offerResult {
	pt := t.parts[m.Partition]
	if c := t.cfg.Capacity; c > 0 && pt.end-pt.start >= int64(c) {
		switch t.cfg.Overflow {
		case OverflowReject:
			return offerRejected
		case OverflowBlock:
			return offerFull
		case OverflowDropHead:
			if !pt.dropHead() {
				// The oldest message is not replicated yet: a broker never
				// deletes uncommitted data, so the new one is refused.
				return offerRejected
			}
		}
	}
	pt.append(m)
	return offerAccepted
}

// Partition is one partition of a topic. Offsets below Start have been
// deleted (committed by the group, or dropped from the head); offsets in
// [Start, HighWatermark) are readable; [HighWatermark, End) are appended
// but not yet replicated.
type Partition struct {
	topic     *Topic
	index     int32
	leader    int
	log       ring[*Message] // messages at offsets [start, end)
	start     int64
	end       int64
	hw        int64
	visibleAt sim.Time // when the last appended message becomes visible
	committed int64
	owner     *Member
	waiters   []*Producer

	// Pauses: the partition has no consuming owner since unowned (when
	// orphaned), paused in total for pausedFor over pauses episodes.
	orphaned  bool
	unowned   sim.Time
	pausedFor time.Duration
	pauses    int
}

// Index returns the partition number.
func (p *Partition) Index() int { return int(p.index) }

// Leader returns the index of the partition's leader broker.
func (p *Partition) Leader() int { return p.leader }

// End returns the log end offset: the offset the next message gets.
func (p *Partition) End() int64 { return p.end }

// HighWatermark returns the offset below which messages are replicated
// and visible to consumers.
func (p *Partition) HighWatermark() int64 { return p.hw }

// Committed returns the group's committed offset: the next offset the
// group will read after a rebalance.
func (p *Partition) Committed() int64 { return p.committed }

// Lag returns the consumer lag, as kafka-consumer-groups reports it: the
// high watermark minus the committed offset.
func (p *Partition) Lag() int64 { return p.hw - p.committed }

// Paused returns how long, in total, the partition has had no consuming
// owner (during rebalances, or between a crash and the reassignment), and
// in how many episodes, counting one still open at now.
func (p *Partition) Paused() (total time.Duration, episodes int) {
	total, episodes = p.pausedFor, p.pauses
	if p.orphaned {
		total += p.topic.s.Now().Sub(p.unowned)
		episodes++
	}
	return total, episodes
}

func (p *Partition) orphan() {
	if p.orphaned {
		return
	}
	p.owner, p.orphaned, p.unowned = nil, true, p.topic.s.Now()
}

func (p *Partition) adopt(m *Member) {
	if p.orphaned {
		p.pausedFor += p.topic.s.Now().Sub(p.unowned)
		p.pauses++
		p.orphaned = false
	}
	p.owner = m
}

func (p *Partition) append(m *Message) {
	t := p.topic
	m.Offset = p.end
	p.end++
	p.log.push(m)
	if m.producer != nil {
		m.producer.appended(m)
	}
	now := t.s.Now()
	at := now
	if t.cfg.ReplicationFactor > 1 {
		at = now.Add(t.cfg.ReplicationDelay.Sample(t.rnd))
	}
	at = max(at, p.visibleAt) // the high watermark advances in offset order
	p.visibleAt = at
	if at == now && p.hw == m.Offset {
		p.advance(p.end)
		return
	}
	t.s.Schedule(at, p, sim.Event{Kind: evVisible, Arg: m.Offset + 1})
}

// Handle implements sim.Handler.
func (p *Partition) Handle(ev sim.Event) {
	switch ev.Kind {
	case evVisible:
		p.advance(ev.Arg)
	default:
		panic(fmt.Sprintf("bus: partition %s-%d got event kind %d", p.topic.cfg.Name, p.index, ev.Kind))
	}
}

// advance moves the high watermark to hw, acknowledging acks=all
// producers, and wakes an idle owner.
func (p *Partition) advance(hw int64) {
	for off := p.hw; off < hw; off++ {
		if m := p.log.at(int(off - p.start)); m.producer != nil {
			m.producer.replicated(m)
		}
	}
	p.hw = hw
	if p.owner != nil {
		p.owner.wake()
	}
}

// dropHead deletes the oldest retained message to make room, if it is
// replicated. A message fetched into a batch stays with the consumer (as
// a Kafka consumer keeps fetched records after retention deletes them);
// it is dropped only if the consumer never processes it.
func (p *Partition) dropHead() bool {
	if p.log.len() == 0 || p.start >= p.hw {
		return false
	}
	m := p.log.pop()
	p.start++
	p.committed = max(p.committed, p.start) // an out-of-range offset resets to the log start
	if p.owner != nil {
		p.owner.truncated(p.index, p.start)
	}
	if m.inBatch {
		m.gone, m.truncated = true, true
		return true
	}
	if m.state == StatePending {
		p.topic.ledger.dropped(m, DropHead)
	}
	p.topic.pool.Put(m)
	return true
}

// commit moves the committed offset to off and deletes the messages below
// it (the group is their only reader), waking blocked producers.
// O(messages deleted + waiters).
func (p *Partition) commit(off int64) {
	if off <= p.committed {
		return
	}
	p.committed = off
	freed := false
	for p.start < off {
		m := p.log.pop()
		p.start++
		freed = true
		if m.inBatch {
			m.gone = true
			continue
		}
		if m.state == StatePending {
			p.topic.ledger.lost(m)
		}
		p.topic.pool.Put(m)
	}
	if freed && len(p.waiters) > 0 {
		for i, w := range p.waiters {
			w.wake()
			p.waiters[i] = nil
		}
		p.waiters = p.waiters[:0]
	}
}
