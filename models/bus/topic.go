package bus

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Destination is where a producer publishes: a log Topic, a Queue or a
// FanOut topic. Its methods beyond Name, Partitions and Ledger are
// internal to the package.
type Destination interface {
	Name() string
	Partitions() int
	// Ledger returns the accounting of the messages published here, at
	// the first subscription.
	Ledger() *Ledger
	// ledgerList returns one ledger per subscription, in order: a message
	// published here has one track in each.
	ledgerList() []*Ledger
	offer(m *Message) offerResult
	await(partition int32, p *Producer)
}

type offerResult uint8

const (
	offerAccepted    offerResult = iota
	offerRejected                // refused: the producer drops it
	offerFull                    // full with the block policy: the producer waits, up to max_block
	offerUnavailable             // no leader, or too few in-sync replicas for acks=all: the producer retries, up to delivery_timeout
	offerDeduped                 // a retry of a write the broker has: acknowledged, not written again
)

// Event kinds of a Partition.
const (
	evVisible   int32 = iota + 1 // the high watermark reaches Arg&offMask, if the leader epoch is Arg>>offBits
	evRetention                  // the head may have passed retention.ms
)

const (
	offBits = 40
	offMask = 1<<offBits - 1
)

// Topic is a log topic: partitions, each an append-only log of messages
// with offsets, replicas on brokers, a leader, and a high watermark that
// trails the log end by the replication delay; read by any number of
// consumer groups, each with its own committed offsets and its own Ledger.
// A message leaves the log when every group has committed past it, or
// when a policy deletes it (drop-head, retention). Every method is O(1)
// unless stated.
type Topic struct {
	cfg     TopicConfig
	s       *sim.Scheduler
	rnd     *sim.Rand
	pool    *Pool
	cluster *Cluster
	ledgers []*Ledger
	groups  []*Group
	parts   []*Partition
	written bool // a message was published: no more groups

	scratch []*Message // failover: messages going back to their producers
}

// NewTopic returns a topic on s whose messages come from pool, on a
// cluster of its own with cfg.Brokers brokers (Topic.Cluster), named after
// the topic. The replication delays are drawn from streams.Get(name,
// "replication"), the election delays from streams.Get(name, "election").
func NewTopic(s *sim.Scheduler, streams sim.Streams, pool *Pool, cfg TopicConfig) (*Topic, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := NewCluster(s, streams, ClusterConfig{Name: cfg.Name, Brokers: cfg.Brokers})
	if err != nil {
		return nil, err
	}
	return c.NewTopic(pool, cfg)
}

func newTopic(c *Cluster, pool *Pool, cfg TopicConfig) *Topic {
	t := &Topic{cfg: cfg, s: c.s, rnd: c.streams.Get(cfg.Name, "replication"), pool: pool, cluster: c,
		ledgers: []*Ledger{NewLedger()}}
	nb := len(c.brokers)
	for i := range cfg.Partitions {
		p := &Partition{topic: t, index: int32(i)}
		for r := range cfg.ReplicationFactor {
			b := (i + r) % nb
			p.replicas = append(p.replicas, b)
			p.inISR = append(p.inISR, true)
			c.brokers[b].parts = append(c.brokers[b].parts, p)
		}
		p.leader = p.replicas[0]
		t.parts = append(t.parts, p)
	}
	c.topics = append(c.topics, t)
	return t
}

// Name returns the topic name.
func (t *Topic) Name() string { return t.cfg.Name }

// Cluster returns the cluster the topic's replicas live on.
func (t *Topic) Cluster() *Cluster { return t.cluster }

// Partitions returns the number of partitions.
func (t *Topic) Partitions() int { return len(t.parts) }

// Partition returns partition i.
func (t *Topic) Partition(i int) *Partition { return t.parts[i] }

// Ledger returns the accounting of the topic's messages for its first
// group (or for no group, before one is attached).
func (t *Topic) Ledger() *Ledger { return t.ledgers[0] }

// Ledgers returns the accounting of each group, in the order the groups
// were created.
func (t *Topic) Ledgers() []*Ledger { return append([]*Ledger(nil), t.ledgers...) }

func (t *Topic) ledgerList() []*Ledger { return t.ledgers }

// attach adds g as a reader and returns its index. The first group takes
// the topic's initial ledger.
func (t *Topic) attach(g *Group) (int, error) {
	if t.written {
		return 0, fmt.Errorf("%w: consumer group %q: topic %q already has messages; create groups first", ErrConfig, g.cfg.Name, t.Name())
	}
	gi := len(t.groups)
	if gi > 0 {
		t.ledgers = append(t.ledgers, NewLedger())
	}
	t.groups = append(t.groups, g)
	g.ledger = t.ledgers[gi]
	for _, p := range t.parts {
		p.cur = append(p.cur, cursor{})
	}
	return gi, nil
}

// Lag returns the summed consumer lag of all partitions for the first
// group. O(partitions).
func (t *Topic) Lag() int64 {
	var n int64
	for _, p := range t.parts {
		n += p.Lag()
	}
	return n
}

// Held counts the pending messages the topic holds for its first group.
// See HeldFor.
func (t *Topic) Held() int64 { return t.HeldFor(0) }

// HeldFor counts the pending messages the topic holds for group gi, in
// its logs and in the group's batches, by walking them: the independent
// count that Ledger.CheckHeld compares with (add what the producers hold).
// O(retained messages).
func (t *Topic) HeldFor(gi int) int64 {
	var n int64
	for _, p := range t.parts {
		for i := 0; i < p.log.len(); i++ {
			if m := p.log.at(i); m.dupOf == nil && m.tr(gi).state == StatePending {
				n++
			}
		}
	}
	if gi < len(t.groups) {
		for _, m := range t.groups[gi].members {
			for _, msg := range m.batch[m.next:] {
				if msg.gone && msg.dupOf == nil && msg.tr(gi).state == StatePending {
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
	if !pt.writable(m) {
		return offerUnavailable
	}
	if pr := m.producer; pr != nil && !pr.lanes[m.Partition].known {
		pr.lanes[m.Partition].known = true
		pt.producers = append(pt.producers, pr)
	}
	if m.dupOf != nil && m.producer != nil && m.producer.idempotent {
		// The broker recognises the producer id and sequence number of a
		// batch it already wrote (ProducerStateEntry keeps the last 5).
		return offerDeduped
	}
	if c := t.cfg.Capacity; c > 0 && pt.end-pt.start >= int64(c) {
		switch t.cfg.Overflow {
		case OverflowReject:
			return offerRejected
		case OverflowBlock:
			return offerFull
		case OverflowDropHead:
			if pt.start >= pt.hw {
				// The oldest message is not replicated yet: a broker never
				// deletes uncommitted data, so the new one is refused.
				return offerRejected
			}
			pt.removeHead(true, DropHead)
		}
	}
	pt.append(m)
	return offerAccepted
}

// cursor is one group's view of a partition.
type cursor struct {
	committed int64
	owner     *Member
	// Pauses: the partition has had no consuming owner since unowned
	// (when orphaned), paused in total for pausedFor over pauses episodes.
	orphaned  bool
	unowned   sim.Time
	pausedFor time.Duration
	pauses    int
}

// Partition is one partition of a topic. Offsets below Start have been
// deleted (committed by every group, or dropped from the head); offsets
// in [Start, HighWatermark) are readable; [HighWatermark, End) are
// appended but not yet replicated.
type Partition struct {
	topic     *Topic
	index     int32
	log       ring[*Message] // messages at offsets [start, end)
	start     int64
	end       int64
	hw        int64
	bytes     int64    // retained
	visibleAt sim.Time // when the last appended message becomes visible
	cur       []cursor // by group
	waiters   []*Producer
	producers []*Producer // that wrote here, in order of their first write
	retTimer  sim.Timer

	// Replication and leadership.
	replicas     []int  // brokers; the first is the preferred leader
	inISR        []bool // by replica
	leader       int    // broker, -1 while offline
	epoch        int64  // leader epoch
	pendingHW    int64  // replicated up to here, held back while a follower in the ISR is down
	offline      bool
	offlineSince sim.Time
	offlineFor   time.Duration
	outages      int
}

// Index returns the partition number.
func (p *Partition) Index() int { return int(p.index) }

// Leader returns the index of the partition's leader broker, -1 while it
// has none.
func (p *Partition) Leader() int { return p.leader }

// ISR returns the brokers of the in-sync replicas, in replica order.
// O(replication factor).
func (p *Partition) ISR() []int {
	var out []int
	for i, r := range p.replicas {
		if p.inISR[i] {
			out = append(out, r)
		}
	}
	return out
}

// End returns the log end offset: the offset the next message gets.
func (p *Partition) End() int64 { return p.end }

// Start returns the log start offset: the oldest retained message's.
func (p *Partition) Start() int64 { return p.start }

// HighWatermark returns the offset below which messages are replicated
// and visible to consumers.
func (p *Partition) HighWatermark() int64 { return p.hw }

// Committed returns the first group's committed offset: the next offset
// it will read after a rebalance. Group.Committed gives any group's.
func (p *Partition) Committed() int64 {
	if len(p.cur) == 0 {
		return 0
	}
	return p.cur[0].committed
}

// Lag returns the first group's consumer lag, as kafka-consumer-groups
// reports it: the high watermark minus the committed offset.
func (p *Partition) Lag() int64 { return p.hw - p.Committed() }

// Paused returns how long, in total, the partition has had no consuming
// owner in the first group (during rebalances, or between a crash and the
// reassignment), and in how many episodes, counting one still open.
func (p *Partition) Paused() (total time.Duration, episodes int) {
	if len(p.cur) == 0 {
		return 0, 0
	}
	return p.pausedIn(0)
}

func (p *Partition) pausedIn(gi int) (total time.Duration, episodes int) {
	c := &p.cur[gi]
	total, episodes = c.pausedFor, c.pauses
	if c.orphaned {
		total += p.topic.s.Now().Sub(c.unowned)
		episodes++
	}
	return total, episodes
}

// Unavailable returns how long, in total, the partition has had no leader
// (no produce, no fetch), and in how many outages, counting one still
// open.
func (p *Partition) Unavailable() (total time.Duration, outages int) {
	total, outages = p.offlineFor, p.outages
	if p.offline {
		total += p.topic.s.Now().Sub(p.offlineSince)
	}
	return total, outages
}

func (p *Partition) orphan(gi int) {
	c := &p.cur[gi]
	if c.orphaned {
		return
	}
	c.owner, c.orphaned, c.unowned = nil, true, p.topic.s.Now()
}

func (p *Partition) adopt(gi int, m *Member) {
	c := &p.cur[gi]
	if c.orphaned {
		c.pausedFor += p.topic.s.Now().Sub(c.unowned)
		c.pauses++
		c.orphaned = false
	}
	c.owner = m
}

func (p *Partition) wakeOwners() {
	for i := range p.cur {
		if o := p.cur[i].owner; o != nil {
			o.wake()
		}
	}
}

// writable reports whether the partition takes m now: it has a leader,
// and for an acks=all write, at least min.insync.replicas in-sync
// replicas.
func (p *Partition) writable(m *Message) bool {
	if p.offline {
		return false
	}
	if m.producer == nil || m.producer.cfg.Acks != AcksAll || p.topic.cfg.MinInsyncReplicas <= 1 {
		return true
	}
	n := 0
	for _, in := range p.inISR {
		if in {
			n++
		}
	}
	return n >= p.topic.cfg.MinInsyncReplicas
}

// stalled reports whether a follower in the ISR is down: the leader cannot
// advance the high watermark until the controller removes it.
func (p *Partition) stalled() bool {
	bs := p.topic.cluster.brokers
	for i, r := range p.replicas {
		if p.inISR[i] && !bs[r].up {
			return true
		}
	}
	return false
}

func (p *Partition) append(m *Message) {
	t := p.topic
	t.written = true
	m.Offset = p.end
	p.end++
	p.bytes += int64(m.Bytes)
	p.log.push(m)
	if m.dupOf != nil {
		for _, l := range t.ledgers {
			l.duplicateRecord()
		}
	}
	if m.producer != nil {
		m.producer.appended(m)
	}
	if !t.s.Scheduled(p.retTimer) {
		p.retTimer = t.s.Schedule(p.log.at(0).Produced.Add(t.cfg.Retention), p, sim.Event{Kind: evRetention})
	}
	for rb := t.cfg.RetentionBytes; rb > 0 && p.bytes > rb && p.start < p.hw; {
		p.removeHead(true, DropRetention)
	}
	now := t.s.Now()
	at := now
	if t.cfg.ReplicationFactor > 1 {
		at = now.Add(t.cfg.ReplicationDelay.Sample(t.rnd))
	}
	at = max(at, p.visibleAt) // the high watermark advances in offset order
	p.visibleAt = at
	if at == now && p.hw == m.Offset && !p.stalled() {
		p.advance(p.end)
		return
	}
	t.s.Schedule(at, p, sim.Event{Kind: evVisible, Arg: p.epoch<<offBits | (m.Offset + 1)})
}

// Handle implements sim.Handler.
func (p *Partition) Handle(ev sim.Event) {
	switch ev.Kind {
	case evVisible:
		if ev.Arg>>offBits != p.epoch {
			return // written by a leader that failed before replicating it
		}
		p.pendingHW = max(p.pendingHW, ev.Arg&offMask)
		if !p.stalled() {
			p.advance(p.pendingHW)
		}
	case evRetention:
		p.retain()
	default:
		panic(fmt.Sprintf("bus: partition %s-%d got event kind %d", p.topic.cfg.Name, p.index, ev.Kind))
	}
}

// advance moves the high watermark to hw, acknowledging acks=all
// producers, and wakes idle owners.
func (p *Partition) advance(hw int64) {
	if hw <= p.hw {
		return
	}
	for off := p.hw; off < hw; off++ {
		if m := p.log.at(int(off - p.start)); m.producer != nil {
			m.producer.replicated(m)
		}
	}
	p.hw = hw
	p.pendingHW = max(p.pendingHW, hw)
	p.wakeOwners()
}

// retain deletes the head messages older than retention.ms, then waits
// for the next head's turn. O(messages deleted).
func (p *Partition) retain() {
	t := p.topic
	now := t.s.Now()
	for p.log.len() > 0 && p.start < p.hw && p.log.at(0).Produced.Add(t.cfg.Retention) <= now {
		p.removeHead(true, DropRetention)
	}
	if p.log.len() > 0 {
		at := p.log.at(0).Produced.Add(t.cfg.Retention)
		if at <= now { // not replicated yet: look again later
			at = now.Add(time.Second)
		}
		p.retTimer = t.s.Schedule(at, p, sim.Event{Kind: evRetention})
	}
}

// removeHead deletes the oldest retained message: by a policy (reason r)
// or because every group committed past it. For each group that had not
// processed it, it is lost if the group had committed past it, else
// dropped for r. A group holding it in a batch keeps it (as a Kafka
// consumer keeps fetched records after retention deleted them): its fate
// is settled if the group never processes it.
func (p *Partition) removeHead(policy bool, r DropReason) {
	t := p.topic
	m := p.log.pop()
	p.start++
	p.bytes -= int64(m.Bytes)
	m.gone, m.policy, m.removedBy = true, policy, r
	if m.dupOf == nil {
		for gi := range p.cur {
			tr := m.tr(gi)
			if tr.state != StatePending {
				continue
			}
			fate := fateLost
			if policy && m.Offset >= p.cur[gi].committed {
				fate = fateDrop + uint8(r)
			}
			if tr.inBatch {
				tr.fate = fate
				continue
			}
			settle(t.ledgers[gi], m, tr, fate)
		}
	}
	if policy {
		for gi := range p.cur {
			c := &p.cur[gi]
			c.committed = max(c.committed, p.start) // an out-of-range offset resets to the log start
			if c.owner != nil {
				c.owner.truncated(p.index, p.start)
			}
		}
		p.wakeWaiters() // room for a producer blocked on a full partition
	}
	t.pool.release(m)
}

// settle ends the accounting of a pending message that left the log
// unprocessed.
func settle(l *Ledger, m *Message, tr *track, fate uint8) {
	switch {
	case tr.state != StatePending || fate == fateNone:
	case fate == fateLost:
		l.lost(m, tr, LossCommitted)
	default:
		l.dropped(m, tr, DropReason(fate-fateDrop))
	}
}

// commit moves group gi's committed offset to off and deletes the messages
// every group has committed past, waking blocked producers. O(groups +
// messages deleted + waiters).
func (p *Partition) commit(gi int, off int64) {
	c := &p.cur[gi]
	if off <= c.committed {
		return
	}
	c.committed = off
	low := off
	for i := range p.cur {
		low = min(low, p.cur[i].committed)
	}
	freed := false
	for p.start < low {
		p.removeHead(false, 0)
		freed = true
	}
	if freed {
		p.wakeWaiters()
	}
}

func (p *Partition) wakeWaiters() {
	if len(p.waiters) == 0 {
		return
	}
	for i, w := range p.waiters {
		w.wake()
		p.waiters[i] = nil
	}
	p.waiters = p.waiters[:0]
}

// loseLeader takes the partition offline because its leader failed. The
// unreplicated suffix [hw, end) is gone: a message its producer was told
// of (acks=0 or 1) is lost to the failure, the others go back to their
// producers for a retry, as do messages below hw whose acknowledgement was
// on its way (a retry of those writes again without idempotence).
// O(retained messages).
func (p *Partition) loseLeader() {
	t := p.topic
	now := t.s.Now()
	p.epoch++
	p.leader = -1
	p.offline, p.offlineSince = true, now
	p.visibleAt = now
	back := t.scratch[:0]
	// Written and replicated, the acknowledgement on its way (the message
	// may have been consumed and deleted meanwhile): resent.
	for _, pr := range p.producers {
		pr.reconnect(p.index)
		k := len(back)
		for _, m := range pr.lanes[p.index].resp {
			if m.Offset < p.hw {
				back = append(back, m)
			}
		}
		mine := back[k:]
		slices.SortFunc(mine, func(a, b *Message) int { return cmp.Compare(a.Offset, b.Offset) }) // offsets are unique
		for i, m := range mine {
			mine[i] = pr.responseLost(m)
		}
	}
	// The unreplicated suffix.
	for i := int(p.hw - p.start); i < p.log.len(); i++ {
		m := p.log.at(i)
		if m.producer != nil {
			if m.respPending {
				m.producer.cancelResponse(m)
			}
			back = append(back, m)
			continue
		}
		m.gone = true
		if m.dupOf == nil {
			for gi, l := range t.ledgers {
				if tr := m.tr(gi); tr.state == StatePending {
					l.lost(m, tr, LossFailover)
				}
			}
		}
	}
	for p.end > p.hw {
		m := p.log.popBack()
		p.end--
		p.bytes -= int64(m.Bytes)
		if m.gone {
			t.pool.release(m)
		} else {
			m.Offset = -1
		}
	}
	p.pendingHW = p.hw
	// Back to the producers, each its own messages in offset order.
	for i := len(back) - 1; i >= 0; i-- {
		m := back[i]
		back[i] = nil
		m.producer.requeue(m)
	}
	t.scratch = back[:0]
}

// fence removes broker b, down, from the ISR (Kafka keeps the last member
// in it), then elects a leader if the partition has none.
func (p *Partition) fence(b int) {
	for i, r := range p.replicas {
		if r != b || !p.inISR[i] {
			continue
		}
		others := 0
		for j := range p.replicas {
			if j != i && p.inISR[j] {
				others++
			}
		}
		if others > 0 {
			p.inISR[i] = false
		}
	}
	if p.offline {
		p.elect()
	}
	p.resume()
}

// brokerUp is called when broker b returns.
func (p *Partition) brokerUp(b int) {
	for i, r := range p.replicas {
		if r == b {
			p.inISR[i] = true
		}
	}
	if p.offline {
		p.elect()
	}
	p.resume()
	p.wakeWaiters() // the ISR may be large enough again
}

// elect makes the first in-sync replica that is up the leader, if any.
func (p *Partition) elect() {
	bs := p.topic.cluster.brokers
	for i, r := range p.replicas {
		if p.inISR[i] && bs[r].up {
			now := p.topic.s.Now()
			p.leader = r
			p.offline = false
			p.offlineFor += now.Sub(p.offlineSince)
			p.outages++
			p.wakeWaiters()
			p.wakeOwners()
			return
		}
	}
}

// resume advances a stalled high watermark once no down follower is left
// in the ISR.
func (p *Partition) resume() {
	if !p.offline && !p.stalled() && p.pendingHW > p.hw {
		p.advance(p.pendingHW)
	}
}
