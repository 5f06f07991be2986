package bus

import (
	"fmt"
	"slices"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
)

// Event kinds of a Member. Arg carries the member's epoch, so that events
// of a crashed incarnation are ignored.
const (
	evPoll      int32 = iota + 1 // run one poll
	evProcessed                  // the message being processed is done
	evHeartbeat                  // send a heartbeat
	evIdlePoll                   // a sleeping member's poll returns for its auto-commit
	evRetry                      // the backoff before processing a failed record again is over
	evCallDone                   // the call answered while it was being sent: settle it now
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

	// The call that ends a processing (GroupConfig.Calls): the member's
	// caller, the request in flight, the answer of one that came back
	// while being sent, and the failed attempts of the current record.
	caller      mesh.Caller
	call        *mesh.Request
	sending     bool
	callOutcome mesh.Outcome
	attempts    int
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
		if m.caller != nil {
			m.send()
			return
		}
		m.processedOne()
	case evRetry:
		m.startNext()
	case evCallDone:
		m.called(m.callOutcome)
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

// startNext processes the record at m.next: its processing time, then
// its call, either of which may be absent.
func (m *Member) startNext() {
	g := m.g
	if g.cfg.ProcessingTime == nil {
		m.send()
		return
	}
	d := g.cfg.ProcessingTime.Sample(m.rnd)
	m.procTimer = g.s.After(d, m, sim.Event{Kind: evProcessed, Arg: m.epoch})
}

// send calls the service for the record being processed, through the
// member's sidecar. An answer that comes back before Send returns (a
// local 503 of the sidecar) is settled by an event at the same instant,
// so that a run of such failures does not recurse.
func (m *Member) send() {
	g := m.g
	now := g.s.Now()
	rec := m.batch[m.next].acct()
	r := g.reqs.Get()
	r.Key = rec.ID // spreads hash-based load balancing as the requests of a workload do
	if rec.HasKey {
		r.Key = rec.Key
	}
	r.Created = now
	r.Measured = now >= g.measureFrom
	r.Origin = m
	r.SetTrace(rec.tracedAt(rec.tr(g.idx))) // a redelivery's call is outside the trace, which may be over
	m.call = r
	m.sending = true
	m.caller.Send(r)
	m.sending = false
}

// Finish receives the answer to the member's call: Member implements
// mesh.Origin. An answer to a crashed incarnation's call is dropped.
func (m *Member) Finish(r *mesh.Request, o mesh.Outcome) {
	g := m.g
	mine := r == m.call
	g.reqs.Put(r)
	if !mine {
		return
	}
	m.call = nil
	if m.sending {
		m.callOutcome = o
		g.s.After(0, m, sim.Event{Kind: evCallDone, Arg: m.epoch})
		return
	}
	m.called(o)
}

// called settles the record's processing by its call's outcome: done
// when ok; else retried in place after RetryBackoff, up to MaxAttempts
// processings, then given up on.
func (m *Member) called(o mesh.Outcome) {
	g := m.g
	if o == mesh.OutcomeOK {
		m.attempts = 0
		m.processedOne()
		return
	}
	g.ledger.failed()
	m.attempts++
	if m.attempts < g.cfg.MaxAttempts {
		if g.cfg.RetryBackoff > 0 {
			m.procTimer = g.s.After(g.cfg.RetryBackoff, m, sim.Event{Kind: evRetry, Arg: m.epoch})
			return
		}
		m.startNext()
		return
	}
	m.attempts = 0
	rec := m.batch[m.next]
	msg := rec.acct()
	at := msg.tr(g.idx)
	switch {
	case g.cfg.DeadLetter && at.state != StateDeadLettered:
		g.ledger.deadLettered(msg, at)
	case !g.cfg.DeadLetter && at.state == StatePending:
		g.ledger.dropped(msg, at, DropDeliveryLimit)
	}
	m.advance(rec)
}

// processedOne ends the processing of the record at m.next with its
// effect, then goes on.
func (m *Member) processedOne() {
	g := m.g
	rec := m.batch[m.next]
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
	m.advance(rec)
}

// advance releases rec, the record at m.next, which is done with, and
// processes the next one, or commits and polls after the batch.
func (m *Member) advance(rec *Message) {
	g := m.g
	m.batch[m.next] = nil
	m.next++
	rt := rec.tr(g.idx)
	rt.inBatch, rt.fate = false, fateNone
	rec.holders--
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
		// Restarted while the old session was still open: the process
		// that waited to join crashed too, so it does not join.
		m.restartPending = false
		return
	}
	g := m.g
	m.alive = false
	m.epoch++
	g.s.Cancel(m.procTimer)
	g.s.Cancel(m.hbTimer)
	g.s.Cancel(m.idleTimer)
	m.call, m.attempts = nil, 0 // its answer, if any, is dropped
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
	// An assignment handed to the old incarnation (it joined a round and
	// crashed before the sync) belongs to a finished generation: the new
	// member gets its part from the round it joins.
	m.pending, m.hasPending = m.pending[:0], false
	m.joinedGen = 0
	m.needsRejoin = true
	m.lastHeartbeat = now
	m.nextAutoCommit = now.Add(g.cfg.AutoCommitInterval)
	m.hbTimer = g.s.After(g.cfg.HeartbeatInterval, m, sim.Event{Kind: evHeartbeat, Arg: m.epoch})
	g.rebalance()
	m.wake()
}
