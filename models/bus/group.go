package bus

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/bus/assign"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// Event kinds of a Group.
const (
	evSync          int32 = iota + 1 // every member joined: hand out the assignment
	evSessionExpiry                  // member Arg missed its session timeout; Ptr is the *Member
)

// Group is a consumer group on a log topic, with its coordinator: Kafka's
// classic group protocol. Members poll batches from their partitions and
// process them one message at a time; the coordinator notices a crashed
// member SessionTimeout after its last heartbeat and rebalances.
//
// A rebalance runs as in Kafka: members learn of it at their next
// heartbeat and join at their next poll (after finishing their batch);
// when every member in the group has joined, the assignment is computed
// (SyncDelay later) and each member applies its part at its next poll.
// Eager strategies revoke every partition at the join, so the group stops
// consuming until the assignment arrives (stop the world). The cooperative
// strategy keeps consuming: only partitions that move are revoked, after
// the first round, and assigned in a second round.
//
// Several groups may read one topic, each with its own committed offsets,
// Ledger and members (Kafka fan-out); create them before the first
// message is published.
//
// The group formed before the run: at Start every member holds its initial
// assignment and the committed offsets are 0 (so auto.offset.reset and
// group.initial.rebalance.delay.ms play no part). Rebalance work is
// O(partitions + members log members) per round.
type Group struct {
	cfg     GroupConfig
	s       *sim.Scheduler
	topic   *Topic
	idx     int // in the topic's groups: the messages' track and the partitions' cursor
	ledger  *Ledger
	dedup   *dedupStore
	members []*Member

	generation  int
	rebalancing bool
	syncTimer   sim.Timer
	rebalances  int
	latency     *stats.Histogram
	measureFrom sim.Time
	reqs        *mesh.Pool // the members' calls' requests (GroupConfig.Calls)
}

// NewGroup returns the consumer group of topic. Member i is named
// "<group>[i]" and draws its processing times from the stream
// ("<group>[i]", "processing") and its heartbeat phase from
// ("<group>[i]", "heartbeat").
func NewGroup(s *sim.Scheduler, streams sim.Streams, topic *Topic, cfg GroupConfig) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if topic == nil {
		return nil, fmt.Errorf("%w: consumer group %q: no topic", ErrConfig, cfg.Name)
	}
	for _, o := range topic.groups {
		if o.cfg.Name == cfg.Name {
			return nil, fmt.Errorf("%w: consumer group %q: topic %q already has a group of that name", ErrConfig, cfg.Name, topic.Name())
		}
	}
	cfg = cfg.withDefaults()
	g := &Group{cfg: cfg, s: s, topic: topic, latency: stats.NewHistogram(), dedup: newDedupStore(cfg.Dedup)}
	gi, err := topic.attach(g)
	if err != nil {
		return nil, err
	}
	g.idx = gi
	g.ledger.readModel = cfg.ReadModel
	n := topic.Partitions()
	for i := range cfg.Consumers {
		name := fmt.Sprintf("%s[%d]", cfg.Name, i)
		g.members = append(g.members, &Member{
			g: g, index: i, name: name,
			rnd: streams.Get(name, "processing"), hbRnd: streams.Get(name, "heartbeat"),
			position: make([]int64, n),
			batch:    make([]*Message, 0, cfg.MaxPollRecords),
		})
	}
	return g, nil
}

// Name returns the group name.
func (g *Group) Name() string { return g.cfg.Name }

// Ledger returns the accounting of the topic's messages for this group.
func (g *Group) Ledger() *Ledger { return g.ledger }

// Held counts the pending messages the topic holds for this group
// (Topic.HeldFor). O(retained messages).
func (g *Group) Held() int64 { return g.topic.HeldFor(g.idx) }

// Committed returns the group's committed offset on partition p.
func (g *Group) Committed(p int) int64 { return g.topic.parts[p].cur[g.idx].committed }

// Lag returns the group's summed consumer lag (high watermark minus
// committed offset). O(partitions).
func (g *Group) Lag() int64 {
	var n int64
	for _, p := range g.topic.parts {
		n += p.hw - p.cur[g.idx].committed
	}
	return n
}

// Paused returns how long partition p has had no consuming owner in this
// group, and in how many episodes (see Partition.Paused).
func (g *Group) Paused(p int) (total time.Duration, episodes int) {
	return g.topic.parts[p].pausedIn(g.idx)
}

// Member returns member i.
func (g *Group) Member(i int) *Member { return g.members[i] }

// Members returns the number of members, alive or not.
func (g *Group) Members() int { return len(g.members) }

// Generation returns the group generation: 1 after Start, one more per
// rebalance round begun.
func (g *Group) Generation() int { return g.generation }

// Rebalances returns the number of rebalance rounds completed.
func (g *Group) Rebalances() int { return g.rebalances }

// Rebalancing reports whether a rebalance round is in progress.
func (g *Group) Rebalancing() bool { return g.rebalancing }

// Latency returns the end-to-end latency, publish to the end of the first
// processing, of the messages processed so far, ns (those published from
// MeasureFrom on).
func (g *Group) Latency() *stats.Histogram { return g.latency.Clone() }

// MeasureFrom makes Latency leave out messages published before t (a
// warm-up). The ledger still counts every message.
func (g *Group) MeasureFrom(t sim.Time) { g.measureFrom = t }

// SetCallers gives member i the caller callers[i] (its own sidecar
// towards the service its processing calls), whose requests come from
// pool. The group must have GroupConfig.Calls; call it before Start.
func (g *Group) SetCallers(callers []mesh.Caller, pool *mesh.Pool) error {
	if !g.cfg.Calls || len(callers) != len(g.members) || pool == nil {
		return fmt.Errorf("%w: consumer group %q: %d callers for %d members (calls: %t)", ErrConfig, g.cfg.Name, len(callers), len(g.members), g.cfg.Calls)
	}
	for i, m := range g.members {
		m.caller = callers[i]
	}
	g.reqs = pool
	return nil
}

// Start forms the group: every member gets its initial assignment, starts
// polling and heartbeating. Call it once, at the start of the run.
func (g *Group) Start() {
	if g.cfg.Calls && g.reqs == nil {
		panic(fmt.Sprintf("bus: consumer group %s calls a service but has no callers (SetCallers)", g.cfg.Name))
	}
	g.generation = 1
	for _, m := range g.members {
		m.alive, m.inGroup, m.joinedGen = true, true, 1
	}
	a := g.assign()
	for i, m := range g.members {
		m.apply(a[i])
		m.nextAutoCommit = g.s.Now().Add(g.cfg.AutoCommitInterval)
		m.lastHeartbeat = g.s.Now()
		// The first heartbeat comes at a phase drawn per member, so that
		// members do not all learn of a rebalance at the same instant.
		phase := sim.Time(m.hbRnd.IntN(int(g.cfg.HeartbeatInterval))) + 1
		m.hbTimer = g.s.Schedule(g.s.Now()+phase, m, sim.Event{Kind: evHeartbeat, Arg: m.epoch})
		m.wake()
	}
}

// assign runs the strategy over the members in the group, in index order.
func (g *Group) assign() [][]int32 {
	topics := []assign.Topic{{Name: g.topic.Name(), Partitions: g.topic.Partitions()}}
	var ms []assign.Member
	var idx []int
	for i, m := range g.members {
		if !m.inGroup {
			continue
		}
		am := assign.Member{ID: m.name, Topics: []string{g.topic.Name()}}
		for _, p := range m.owned {
			am.Owned = append(am.Owned, assign.TopicPartition{Topic: g.topic.Name(), Partition: p})
		}
		ms = append(ms, am)
		idx = append(idx, i)
	}
	out := make([][]int32, len(g.members))
	for k, tps := range g.cfg.Strategy.Assign(topics, ms) {
		ps := make([]int32, 0, len(tps))
		for _, tp := range tps {
			ps = append(ps, tp.Partition)
		}
		slices.Sort(ps)
		out[idx[k]] = ps
	}
	return out
}

// rebalance begins a new round: every member must join again. A round
// already collecting joins simply includes the change; one waiting to
// hand out its assignment starts over.
func (g *Group) rebalance() {
	if g.rebalancing && !g.s.Scheduled(g.syncTimer) {
		g.maybeSync()
		return
	}
	g.s.Cancel(g.syncTimer)
	g.rebalancing = true
	g.generation++
	g.maybeSync()
}

// maybeSync schedules the assignment once every member in the group has
// joined the current generation.
func (g *Group) maybeSync() {
	if !g.rebalancing || g.s.Scheduled(g.syncTimer) {
		return
	}
	for _, m := range g.members {
		if m.inGroup && m.joinedGen != g.generation {
			return
		}
	}
	g.syncTimer = g.s.After(g.cfg.SyncDelay, g, sim.Event{Kind: evSync})
}

// Handle implements sim.Handler.
func (g *Group) Handle(ev sim.Event) {
	switch ev.Kind {
	case evSync:
		g.rebalancing = false
		g.rebalances++
		a := g.assign()
		for i, m := range g.members {
			if m.inGroup {
				m.pending, m.hasPending = a[i], true
				m.wake()
			}
		}
	case evSessionExpiry:
		m := ev.Ptr.(*Member)
		if m.epoch != ev.Arg || m.alive || !m.inGroup {
			return
		}
		m.inGroup = false
		m.owned = m.owned[:0]
		g.rebalance()
		if m.restartPending {
			m.restartPending = false
			m.rejoin()
		}
	default:
		panic(fmt.Sprintf("bus: group %s got event kind %d", g.cfg.Name, ev.Kind))
	}
}
