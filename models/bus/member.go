package bus

import (
	"fmt"
	"slices"

	"github.com/meshsim/meshsim/sim"
)

// Event kinds of a Member. Arg carries the member's epoch, so that events
// of a crashed incarnation are ignored.
const (
	evPoll      int32 = iota + 1 // run one poll
	evProcessed                  // the message being processed is done
	evHeartbeat                  // send a heartbeat
	evIdlePoll                   // a sleeping member's poll returns for its auto-commit
)

// Member is one consumer of a Group: a single-threaded poll loop. A poll
// applies a pending assignment, joins a rebalance if one is under way,
// auto-commits if due, and fetches up to MaxPollRecords visible messages
// from its partitions (draining one partition before the next, starting
// one partition further at each poll); the batch is then processed one
// message at a time, and the next poll follows at once. A member with
// nothing to fetch sleeps until a message becomes visible on one of its
// partitions, an assignment arrives, or it learns of a rebalance. Each
// poll is O(partitions owned + batch size).
type Member struct {
	g     *Group
	index int
	name  string
	rnd   *sim.Rand
	hbRnd *sim.Rand
	epoch int64

	alive          bool
	inGroup        bool // the coordinator counts it (until its session expires)
	restartPending bool

	owned    []int32 // sorted
	position []int64 // next offset to fetch, by partition (meaningful for owned ones)
	batch    []*Message
	next     int // index in batch of the message being processed
	rotate   int

	pollPosted     bool
	procTimer      sim.Timer
	hbTimer        sim.Timer
	idleTimer      sim.Timer
	lastHeartbeat  sim.Time
	nextAutoCommit sim.Time

	needsRejoin bool
	joinedGen   int
	pending     []int32
	hasPending  bool

	processed int64
}

// Name returns the member name, "<group>[i]".
func (m *Member) Name() string { return m.name }

// Alive reports whether the member's process is running.
func (m *Member) Alive() bool { return m.alive }

// Owned returns a copy of the partitions the member consumes, sorted.
func (m *Member) Owned() []int32 { return slices.Clone(m.owned) }

// Processed returns the number of processings the member finished.
func (m *Member) Processed() int64 { return m.processed }

// InFlight returns the messages fetched and not yet processed.
func (m *Member) InFlight() int { return len(m.batch) - m.next }

func (m *Member) post() {
	m.pollPosted = true
	m.g.s.After(0, m, sim.Event{Kind: evPoll, Arg: m.epoch})
}

// wake makes a sleeping member poll. A member busy with a batch polls when
// it is done anyway.
func (m *Member) wake() {
	if m.alive && !m.pollPosted && len(m.batch) == 0 {
		m.post()
	}
}

// Handle implements sim.Handler.
func (m *Member) Handle(ev sim.Event) {
	if ev.Arg != m.epoch {
		return // an event of a crashed incarnation
	}
	switch ev.Kind {
	case evPoll:
		m.pollPosted = false
		m.poll()
	case evIdlePoll:
		if len(m.batch) == 0 && !m.pollPosted {
			m.poll()
		}
	case evProcessed:
		m.processedOne()
	case evHeartbeat:
		g := m.g
		m.lastHeartbeat = g.s.Now()
		if g.rebalancing && m.inGroup && m.joinedGen != g.generation && !m.needsRejoin {
			m.needsRejoin = true
			m.wake()
		}
		m.hbTimer = g.s.After(g.cfg.HeartbeatInterval, m, sim.Event{Kind: evHeartbeat, Arg: m.epoch})
	default:
		panic(fmt.Sprintf("bus: member %s got event kind %d", m.name, ev.Kind))
	}
}

func (m *Member) poll() {
	g := m.g
	if len(m.batch) != 0 {
		panic(fmt.Sprintf("bus: member %s polled with %d messages unprocessed (seq %d)", m.name, len(m.batch)-m.next, g.s.Fired()))
	}
	if m.hasPending {
		m.hasPending = false
		m.apply(m.pending)
	}
	if m.needsRejoin {
		m.join()
	}
	now := g.s.Now()
	if g.cfg.Commit == CommitAuto && now >= m.nextAutoCommit {
		m.commit()
		m.nextAutoCommit = now.Add(g.cfg.AutoCommitInterval)
	}
	m.fetch()
	if len(m.batch) == 0 {
		// Sleep until woken. A sleeping Kafka consumer's poll still
		// returns by the auto-commit deadline (ConsumerCoordinator
		// timeToNextPoll), so that what it processed gets committed.
		if g.cfg.Commit == CommitAuto && m.uncommitted() && !g.s.Scheduled(m.idleTimer) {
			m.idleTimer = g.s.Schedule(m.nextAutoCommit, m, sim.Event{Kind: evIdlePoll, Arg: m.epoch})
		}
		return
	}
	if g.cfg.Commit == CommitBeforeProcessing {
		m.commit()
	}
	m.startNext()
}

// join joins the current rebalance round. An eager member first commits
// (with auto-commit: ConsumerCoordinator.onJoinPrepare) and revokes every
// partition; a cooperative one keeps consuming what it owns.
func (m *Member) join() {
	g := m.g
	m.needsRejoin = false
	if m.joinedGen == g.generation {
		return
	}
	if !g.cfg.Strategy.Cooperative() {
		if g.cfg.Commit == CommitAuto {
			m.commit()
		}
		for _, p := range m.owned {
			g.topic.parts[p].orphan(g.idx)
		}
		m.owned = m.owned[:0]
	}
	m.joinedGen = g.generation
	g.maybeSync()
}

// apply installs the assignment ps. Revoked partitions are committed
// first with auto-commit; new ones are read from the committed offset.
// A cooperative member that revoked anything rejoins at once, which starts
// the second round that assigns what it gave up.
func (m *Member) apply(ps []int32) {
	g := m.g
	revoked := false
	for _, p := range m.owned {
		if !slices.Contains(ps, p) {
			pt := g.topic.parts[p]
			if g.cfg.Commit == CommitAuto {
				pt.commit(g.idx, m.position[p])
			}
			pt.orphan(g.idx)
			revoked = true
		}
	}
	for _, p := range ps {
		if !slices.Contains(m.owned, p) {
			pt := g.topic.parts[p]
			pt.adopt(g.idx, m)
			m.position[p] = pt.cur[g.idx].committed
		}
	}
	m.owned = append(m.owned[:0], ps...)
	if revoked && g.cfg.Strategy.Cooperative() {
		m.needsRejoin = true
		g.rebalance()
	}
}

// fetch fills the batch with up to MaxPollRecords visible messages,
// skipping partitions without a leader.
func (m *Member) fetch() {
	g := m.g
	n := len(m.owned)
	limit := g.cfg.MaxPollRecords
	for k := 0; k < n && len(m.batch) < limit; k++ {
		p := m.owned[(m.rotate+k)%n]
		pt := g.topic.parts[p]
		if pt.offline {
			continue
		}
		pos := max(m.position[p], pt.start)
		for ; pos < pt.hw && len(m.batch) < limit; pos++ {
			msg := pt.log.at(int(pos - pt.start))
			msg.tr(g.idx).inBatch = true
			msg.holders++
			g.ledger.delivered(msg.acct().tr(g.idx))
			m.batch = append(m.batch, msg)
		}
		m.position[p] = pos
	}
	m.rotate++
}

func (m *Member) startNext() {
	d := m.g.cfg.ProcessingTime.Sample(m.rnd)
	m.procTimer = m.g.s.After(d, m, sim.Event{Kind: evProcessed, Arg: m.epoch})
}

func (m *Member) processedOne() {
	g := m.g
	rec := m.batch[m.next]
	m.batch[m.next] = nil
	m.next++
	rt := rec.tr(g.idx)
	rt.inBatch, rt.fate = false, fateNone
	rec.holders--
	msg := rec.acct()
	at := msg.tr(g.idx)
	if g.dedup != nil && g.dedup.seen(msg.ID, g.s.Now()) {
		g.ledger.absorbed()
	} else {
		if at.Consumed == 0 && msg.Produced >= g.measureFrom {
			g.latency.Record(int64(g.s.Now().Sub(msg.Produced)))
		}
		g.ledger.processed(msg, at)
	}
	m.processed++
	g.topic.pool.release(rec)
	if m.next < len(m.batch) {
		m.startNext()
		return
	}
	m.batch, m.next = m.batch[:0], 0
	if g.cfg.Commit == CommitAfterProcessing {
		m.commit()
	}
	m.poll()
}

// uncommitted reports whether an owned partition's position is ahead of
// its committed offset.
func (m *Member) uncommitted() bool {
	for _, p := range m.owned {
		if m.position[p] > m.g.topic.parts[p].cur[m.g.idx].committed {
			return true
		}
	}
	return false
}

// commit commits the position of every owned partition.
func (m *Member) commit() {
	for _, p := range m.owned {
		m.g.topic.parts[p].commit(m.g.idx, m.position[p])
	}
}

// truncated is called when partition p dropped messages below start.
func (m *Member) truncated(p int32, start int64) {
	m.position[p] = max(m.position[p], start)
}

// Crash kills the member's process now: the message being processed and
// the rest of its batch are abandoned, nothing is committed, and its
// partitions stop being consumed. The coordinator notices SessionTimeout
// after the last heartbeat and rebalances; the partitions are then read
// again from their committed offsets, so messages processed since the
// last commit are processed twice. O(batch + partitions owned).
func (m *Member) Crash() {
	if !m.alive {
		return
	}
	g := m.g
	m.alive = false
	m.epoch++
	g.s.Cancel(m.procTimer)
	g.s.Cancel(m.hbTimer)
	g.s.Cancel(m.idleTimer)
	for i, msg := range m.batch[m.next:] {
		m.batch[m.next+i] = nil
		tr := msg.tr(g.idx)
		tr.inBatch = false
		msg.holders--
		if msg.gone && msg.dupOf == nil {
			// Removed from the log meanwhile: committed before processing
			// (at most once), or deleted by a policy.
			settle(g.ledger, msg, tr, tr.fate)
		}
		tr.fate = fateNone
		g.topic.pool.release(msg)
	}
	m.batch, m.next = m.batch[:0], 0
	for _, p := range m.owned {
		g.topic.parts[p].orphan(g.idx)
	}
	m.pollPosted, m.hasPending, m.needsRejoin = false, false, false
	if m.inGroup {
		at := max(m.lastHeartbeat.Add(g.cfg.SessionTimeout), g.s.Now())
		g.s.Schedule(at, g, sim.Event{Kind: evSessionExpiry, Arg: m.epoch, Ptr: m})
	}
}

// Restart starts a crashed member again as a new member, which joins the
// group and triggers a rebalance. Without static membership (KIP-345) the
// coordinator cannot complete a rebalance until the old incarnation's
// session expired, so a restart before that joins at the expiry.
func (m *Member) Restart() {
	if m.alive || m.restartPending {
		return
	}
	if m.inGroup {
		m.restartPending = true
		return
	}
	m.rejoin()
}

func (m *Member) rejoin() {
	g := m.g
	now := g.s.Now()
	m.alive, m.inGroup = true, true
	m.epoch++
	m.owned = m.owned[:0]
	m.joinedGen = 0
	m.needsRejoin = true
	m.lastHeartbeat = now
	m.nextAutoCommit = now.Add(g.cfg.AutoCommitInterval)
	m.hbTimer = g.s.After(g.cfg.HeartbeatInterval, m, sim.Event{Kind: evHeartbeat, Arg: m.epoch})
	g.rebalance()
	m.wake()
}
