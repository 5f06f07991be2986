package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Event kinds of a Cluster.
const (
	evFence int32 = iota + 1 // the controller notices broker Arg>>32's failure number Arg&0xffffffff
)

// Cluster is a set of brokers with a controller (Kafka KRaft-like) on
// which topics place their partitions' replicas. A broker failure makes
// the partitions it leads unavailable at once; ElectionDelay later the
// controller fences it: it leaves the in-sync replicas (ISR) of every
// partition, and the partitions it led get new leaders from their
// remaining ISR. Unclean leader election is off, Kafka's default
// (unclean.leader.election.enable=false): a partition whose in-sync
// replicas are all down stays offline until one of them returns, and
// unclean election is not modelled. Preferred-leader rebalancing
// (auto.leader.rebalance.enable) is not modelled either: leadership stays
// where the last election put it.
type Cluster struct {
	cfg     ClusterConfig
	s       *sim.Scheduler
	streams sim.Streams
	rnd     *sim.Rand
	brokers []*Broker
	topics  []*Topic
}

// NewCluster returns a cluster of cfg.Brokers brokers on s, all up.
// Election delays are drawn from streams.Get(name, "election").
func NewCluster(s *sim.Scheduler, streams sim.Streams, cfg ClusterConfig) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Cluster{cfg: cfg, s: s, streams: streams, rnd: streams.Get(cfg.Name, "election")}
	for i := range cfg.Brokers {
		c.brokers = append(c.brokers, &Broker{c: c, index: i, up: true})
	}
	return c, nil
}

// Name returns the cluster name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Brokers returns the number of brokers.
func (c *Cluster) Brokers() int { return len(c.brokers) }

// Broker returns broker i.
func (c *Cluster) Broker(i int) *Broker { return c.brokers[i] }

// NewTopic returns a topic whose partitions' replicas are placed on the
// cluster's brokers. cfg.Brokers must be 0 or the cluster's size.
func (c *Cluster) NewTopic(pool *Pool, cfg TopicConfig) (*Topic, error) {
	if cfg.Brokers != 0 && cfg.Brokers != len(c.brokers) {
		return nil, errField("topic", cfg.Name, "brokers", "must be 0 or the cluster's %d, got %d", len(c.brokers), cfg.Brokers)
	}
	cfg.Brokers = len(c.brokers)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: topic %q: no message pool", ErrConfig, cfg.Name)
	}
	return newTopic(c, pool, cfg.withDefaults()), nil
}

// Handle implements sim.Handler.
func (c *Cluster) Handle(ev sim.Event) {
	switch ev.Kind {
	case evFence:
		b := c.brokers[ev.Arg>>32]
		if b.up || b.downs != ev.Arg&0xffffffff {
			return // it came back, or this is an earlier failure's
		}
		for _, p := range b.parts {
			p.fence(b.index)
		}
	default:
		panic(fmt.Sprintf("bus: cluster %s got event kind %d", c.cfg.Name, ev.Kind))
	}
}

// Broker is one broker of a Cluster. A failure timeline calls Down and Up.
type Broker struct {
	c     *Cluster
	index int
	up    bool
	parts []*Partition // partitions with a replica here, in placement order

	downs      int64 // failures so far
	downSince  sim.Time
	downFor    time.Duration
	fenceTimer sim.Timer
}

// Index returns the broker's index in its cluster.
func (b *Broker) Index() int { return b.index }

// Alive reports whether the broker is up.
func (b *Broker) Alive() bool { return b.up }

// Downtime returns how long the broker has been down in total and how many
// times it failed, counting a failure still open.
func (b *Broker) Downtime() (total time.Duration, failures int) {
	total = b.downFor
	if !b.up {
		total += b.c.s.Now().Sub(b.downSince)
	}
	return total, int(b.downs)
}

// Down crashes the broker now. The partitions it leads stop at once (no
// produce, no fetch): the writes it acknowledged that no follower has yet
// (offsets at and above the high watermark) are gone, lost to the failure
// if their producer was told of them (acks=0 or 1), returned to their
// producers for a retry otherwise; responses on their way are lost too.
// The partitions where it follows stall their high watermark (acks=all
// writes wait) while it stays in their ISR. After the election delay,
// drawn now, the controller fences it (see Cluster). Down on a broker
// already down does nothing. O(partitions placed here + messages retained
// by the partitions it leads).
func (b *Broker) Down() {
	if !b.up {
		return
	}
	c := b.c
	b.up = false
	b.downs++
	b.downSince = c.s.Now()
	d := c.cfg.ElectionDelay.Sample(c.rnd)
	b.fenceTimer = c.s.After(d, c, sim.Event{Kind: evFence, Arg: int64(b.index)<<32 | b.downs})
	for _, p := range b.parts {
		if p.leader == b.index {
			p.loseLeader()
		}
	}
}

// Up restarts the broker now. It rejoins the ISR of its partitions at once
// (catching up is not modelled), and an offline partition whose ISR it was
// in elects it at once. If it returns before the controller fenced it, the
// fencing is cancelled. O(partitions placed here).
func (b *Broker) Up() {
	if b.up {
		return
	}
	c := b.c
	b.up = true
	b.downFor += c.s.Now().Sub(b.downSince)
	c.s.Cancel(b.fenceTimer)
	for _, p := range b.parts {
		p.brokerUp(b.index)
	}
}
