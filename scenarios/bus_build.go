package scenarios

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/bus"
	"github.com/meshsim/meshsim/models/failure"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim"
)

// busWorld is the bus of one replication: the cluster, every destination
// and reader, and the producers the workloads and instances publish
// through. It is built before the services' callers, which need the
// producers.
type busWorld struct {
	s       *sim.Scheduler
	streams sim.Streams
	pool    *bus.Pool
	cluster *bus.Cluster
	dests   []busDest // topics, queues, pub/sub topics, in scenario order
	readers []*busReader
	members map[string][]failure.Outage // consumer_crash targets by group or queue consumers name
	prods   []busProducers
	warmup  sim.Time
	step    time.Duration // between lag samples
	tracer  *mesh.Tracer
}

// busDest is one destination and the settings of its producers.
type busDest struct {
	name     string
	d        bus.Destination
	producer Producer
	topic    *bus.Topic
	readers  []*busReader
	prods    []*bus.Producer
}

// busReader is one ledger: a group, a queue, a subscription, or a topic
// no group reads.
type busReader struct {
	kind, name, source string
	consumers          int
	dest               *busDest
	ledger             *bus.Ledger
	group              *bus.Group
	groupIndex         int
	topic              *bus.Topic
	queue              *bus.Queue
	qcs                []*bus.QueueConsumers
	call               string   // group: the service its processing calls, if any
	qcCalls            []string // queue consumers: the same, by entry of qcs
	qcNames            []string // queue consumers: their names, by entry of qcs
	readModel          *mesh.ReadModel
	lag                []int64
	partLag            [][]int64 // [partition][sample]
}

// busProducers are the producers of one caller towards one destination.
type busProducers struct {
	caller string
	dest   *busDest
	ps     []*bus.Producer
}

// buildBus makes the bus of sc, or returns nil when it has none.
func buildBus(s *sim.Scheduler, streams sim.Streams, sc *Scenario, warmup sim.Time, tracer *mesh.Tracer) (*busWorld, error) {
	b := &sc.Bus
	if b.empty() {
		return nil, nil
	}
	bw := &busWorld{s: s, streams: streams, pool: &bus.Pool{}, members: map[string][]failure.Outage{}, warmup: warmup, tracer: tracer}
	readModel := func(name string) (*mesh.ReadModel, error) {
		if name == "" {
			return nil, nil
		}
		rm, err := tracer.NewReadModel(name)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		return rm, nil
	}
	ed, err := buildDist(b.ElectionDelay)
	if err != nil {
		return nil, fmt.Errorf("scenario: bus.election_delay: %w", err)
	}
	bw.cluster, err = bus.NewCluster(s, streams, bus.ClusterConfig{Name: "bus", Brokers: b.Brokers, ElectionDelay: ed})
	if err != nil {
		return nil, fmt.Errorf("scenario: bus: %w", err)
	}
	byName := map[string]*busDest{}
	for _, t := range b.Topics {
		cfg, err := t.config()
		if err != nil {
			return nil, fmt.Errorf("scenario: bus topic %s: %w", t.Name, err)
		}
		topic, err := bw.cluster.NewTopic(bw.pool, cfg)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		bw.dests = append(bw.dests, busDest{name: t.Name, d: topic, producer: t.Producer, topic: topic})
	}
	queues := map[string]*busReader{}
	for _, q := range b.Queues {
		cfg, err := q.config()
		if err != nil {
			return nil, fmt.Errorf("scenario: bus queue %s: %w", q.Name, err)
		}
		queue, err := bus.NewQueue(s, streams, bw.pool, cfg)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		bw.dests = append(bw.dests, busDest{name: q.Name, d: queue, producer: q.Producer})
	}
	var fanouts []*bus.FanOut
	for _, ps := range b.PubSub {
		f, err := bus.NewFanOut(s, streams, bw.pool, ps.Name)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		fanouts = append(fanouts, f)
		bw.dests = append(bw.dests, busDest{name: ps.Name, d: f, producer: ps.Producer})
	}
	for i := range bw.dests {
		byName[bw.dests[i].name] = &bw.dests[i]
	}
	// Readers in scenario order: groups, queues, subscriptions, then
	// topics that no group reads.
	for _, g := range b.Groups {
		d := byName[g.Topic]
		cfg, err := g.config()
		if err != nil {
			return nil, fmt.Errorf("scenario: bus consumer group %s: %w", g.Name, err)
		}
		if cfg.ReadModel, err = readModel(g.ReadModel); err != nil {
			return nil, err
		}
		grp, err := bus.NewGroup(s, streams, d.topic, cfg)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		grp.MeasureFrom(warmup)
		r := &busReader{kind: "group", name: g.Name, source: g.Topic, consumers: grp.Members(), dest: d,
			ledger: grp.Ledger(), group: grp, groupIndex: len(d.readers), topic: d.topic, call: g.Call, readModel: cfg.ReadModel}
		d.readers = append(d.readers, r)
		bw.readers = append(bw.readers, r)
		for i := range grp.Members() {
			bw.members[g.Name] = append(bw.members[g.Name], memberOutage{grp.Member(i)})
		}
	}
	for i, q := range b.Queues {
		d := &bw.dests[len(b.Topics)+i]
		queue := d.d.(*bus.Queue)
		queue.MeasureFrom(warmup)
		r := &busReader{kind: "queue", name: q.Name, source: q.Name, dest: d, ledger: queue.Ledger(), queue: queue}
		d.readers = append(d.readers, r)
		bw.readers = append(bw.readers, r)
		queues[q.Name] = r
	}
	for i, ps := range b.PubSub {
		d := &bw.dests[len(b.Topics)+len(b.Queues)+i]
		for _, sub := range ps.Subscriptions {
			queue, err := fanouts[i].Subscribe(sub.config())
			if err != nil {
				return nil, fmt.Errorf("scenario: %w", err)
			}
			queue.MeasureFrom(warmup)
			r := &busReader{kind: "subscription", name: sub.Name, source: ps.Name, dest: d, ledger: queue.Ledger(), queue: queue}
			d.readers = append(d.readers, r)
			bw.readers = append(bw.readers, r)
			queues[sub.Name] = r
		}
	}
	for i := range b.Topics {
		if d := &bw.dests[i]; len(d.readers) == 0 {
			r := &busReader{kind: "topic", name: d.name, source: d.name, dest: d, ledger: d.topic.Ledger(), topic: d.topic}
			d.readers = append(d.readers, r)
			bw.readers = append(bw.readers, r)
		}
	}
	for _, q := range b.Consumers {
		r := queues[q.Queue]
		cfg, err := q.config()
		if err != nil {
			return nil, fmt.Errorf("scenario: bus queue consumers %s: %w", q.Name, err)
		}
		if cfg.ReadModel, err = readModel(q.ReadModel); err != nil {
			return nil, err
		}
		if cfg.ReadModel != nil {
			r.readModel = cfg.ReadModel
		}
		qc, err := bus.NewQueueConsumers(s, streams, r.queue, cfg)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		r.qcs = append(r.qcs, qc)
		r.qcCalls = append(r.qcCalls, q.Call)
		r.qcNames = append(r.qcNames, q.Name)
		r.consumers += max(q.Consumers, 1)
		for i := range max(q.Consumers, 1) {
			bw.members[q.Name] = append(bw.members[q.Name], consumerOutage{qc.Consumer(i)})
		}
	}
	return bw, nil
}

// producer returns a new producer for caller (a workload, or an instance
// of service) towards dest, named "<caller>-><dest>" after the instance.
func (bw *busWorld) producer(caller, name, dest string) (*bus.Producer, error) {
	var d *busDest
	for i := range bw.dests {
		if bw.dests[i].name == dest {
			d = &bw.dests[i]
		}
	}
	if d == nil {
		return nil, fmt.Errorf("scenario: %s publishes to %q, which is not on the bus", name, dest)
	}
	cfg, err := d.producer.config(name + "->" + dest)
	if err != nil {
		return nil, fmt.Errorf("scenario: bus %s producer: %w", dest, err)
	}
	p, err := bus.NewProducer(bw.s, bw.streams, bw.pool, d.d, cfg)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	d.prods = append(d.prods, p)
	k := -1
	for i, bp := range bw.prods {
		if bp.caller == caller && bp.dest == d {
			k = i
		}
	}
	if k < 0 {
		bw.prods = append(bw.prods, busProducers{caller: caller, dest: d})
		k = len(bw.prods) - 1
	}
	bw.prods[k].ps = append(bw.prods[k].ps, p)
	return p, nil
}

// outages returns the failure targets of a broker_down or consumer_crash
// failure on target.
func (bw *busWorld) outages(kind, target string) ([]failure.Outage, error) {
	name, idx, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	if bw == nil {
		return nil, fmt.Errorf("%s needs a bus", kind)
	}
	if kind == "broker_down" {
		if name != "broker" || idx < 0 || idx >= bw.cluster.Brokers() {
			return nil, fmt.Errorf("no broker %q", target)
		}
		return []failure.Outage{bw.cluster.Broker(idx)}, nil
	}
	ms, ok := bw.members[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("no consumer group or queue consumers %q", name)
	case idx >= len(ms):
		return nil, fmt.Errorf("no consumer %q", target)
	case idx >= 0:
		return ms[idx : idx+1], nil
	}
	return ms, nil
}

// connect gives the consumers whose processing calls a service their own
// sidecars, in scenario order: sidecar(reader, consumer, service) builds
// the cluster of one consumer (named like a member, "<group>[i]")
// towards the service, whose requests come from pool.
func (bw *busWorld) connect(pool *mesh.Pool, sidecar func(reader, consumer, service string) (mesh.Caller, error)) error {
	if bw == nil {
		return nil
	}
	for _, r := range bw.readers {
		if r.call != "" {
			callers := make([]mesh.Caller, r.group.Members())
			for i := range callers {
				c, err := sidecar(r.name, r.group.Member(i).Name(), r.call)
				if err != nil {
					return err
				}
				callers[i] = c
			}
			if err := r.group.SetCallers(callers, pool); err != nil {
				return fmt.Errorf("scenario: %w", err)
			}
		}
		for k, qc := range r.qcs {
			to := r.qcCalls[k]
			if to == "" {
				continue
			}
			var callers []mesh.Caller
			for i := range qc.Len() {
				c, err := sidecar(r.qcNames[k], qc.Consumer(i).Name(), to)
				if err != nil {
					return err
				}
				callers = append(callers, c)
			}
			if err := qc.SetCallers(callers, pool); err != nil {
				return fmt.Errorf("scenario: %w", err)
			}
		}
	}
	return nil
}

// memberOutage crashes and restarts a consumer group member.
type memberOutage struct{ m *bus.Member }

func (o memberOutage) Down() { o.m.Crash() }
func (o memberOutage) Up()   { o.m.Restart() }

// consumerOutage crashes and restarts a queue consumer.
type consumerOutage struct{ c *bus.QueueConsumer }

func (o consumerOutage) Down() { o.c.Crash() }
func (o consumerOutage) Up()   { o.c.Restart() }

// start forms the groups and starts the queue consumers, in scenario
// order.
func (bw *busWorld) start() {
	for _, r := range bw.readers {
		if r.group != nil {
			r.group.Start()
		}
		for _, qc := range r.qcs {
			qc.Start()
		}
	}
}

// lagOf returns r's lag: summed over partitions for a group, the messages
// ready or in flight for a queue.
func (r *busReader) lagOf() []int64 {
	switch {
	case r.group != nil:
		out := make([]int64, r.topic.Partitions())
		for p := range out {
			out[p] = r.topic.Partition(p).HighWatermark() - r.group.Committed(p)
		}
		return out
	case r.queue != nil:
		st := r.queue.Stats()
		return []int64{int64(st.Ready + st.InFlight + st.BackingOff)}
	}
	out := make([]int64, r.topic.Partitions())
	for p := range out {
		pt := r.topic.Partition(p)
		out[p] = pt.HighWatermark() - pt.Start()
	}
	return out
}

// sample records every reader's summed lag now.
func (bw *busWorld) sample() {
	for _, r := range bw.readers {
		var n int64
		lags := r.lagOf()
		for p, l := range lags {
			n += l
			if p == len(r.partLag) {
				r.partLag = append(r.partLag, nil)
			}
			r.partLag[p] = append(r.partLag[p], l)
		}
		r.lag = append(r.lag, n)
	}
}

// held counts the messages pending for r that the bus holds, walking the
// logs, queues and producers: the independent count the ledger is
// checked against.
func (r *busReader) held() int64 {
	var n int64
	switch {
	case r.group != nil:
		n = r.topic.HeldFor(r.groupIndex)
	case r.queue != nil:
		n = r.queue.Held()
	default:
		n = r.topic.Held()
	}
	for _, p := range r.dest.prods {
		n += p.Held()
	}
	return n
}

// collect checks every ledger's conservation and returns the bus's
// results.
func (bw *busWorld) collect(where string) (*results.Bus, error) {
	out := &results.Bus{}
	for _, r := range bw.readers {
		if err := r.ledger.CheckHeld(r.held()); err != nil {
			return nil, fmt.Errorf("%w: %s: bus %s %s: %w", ErrConservation, where, r.kind, r.name, err)
		}
		br := results.BusReader{Kind: r.kind, Name: r.name, Source: r.source, Consumers: r.consumers,
			Ledger: ledgerOf(r.ledger.Counts()), PartitionLag: r.lagOf(), LagTimeline: r.lag, PartitionLagTimeline: r.partLag, LagStep: bw.step}
		switch {
		case r.group != nil:
			br.Latency = r.group.Latency()
			br.Rebalances = int64(r.group.Rebalances())
			for p := range r.topic.Partitions() {
				d, _ := r.group.Paused(p)
				br.Paused += d
			}
		case r.queue != nil:
			br.Latency = r.queue.Latency()
		}
		if rm := r.readModel; rm != nil {
			br.ReadModel, br.Staleness = rm.Name(), rm.Staleness()
			br.StalenessSum, br.StalenessCount = rm.Timeline()
		}
		out.Readers = append(out.Readers, br)
	}
	for _, bp := range bw.prods {
		p := results.BusProducer{Caller: bp.caller, Destination: bp.dest.name, Producers: len(bp.ps)}
		for _, pr := range bp.ps {
			st := pr.Stats()
			p.Published += st.Published
			p.Acked += st.Acked
			p.Refused += st.Refused
			p.Retries += st.Retries
			p.DedupedRetries += st.DedupedRetries
			p.DuplicateWrites += st.DuplicateWrites
			p.RequestErrors += st.Errors
			p.OutOfOrder += st.OutOfOrder
			if p.AckLatency == nil {
				p.AckLatency = st.AckLatency
			} else {
				p.AckLatency.Merge(st.AckLatency)
			}
		}
		out.Producers = append(out.Producers, p)
	}
	if bw.tracer != nil {
		out.TracesOpen = bw.tracer.Open()
	}
	return out, nil
}

// ledgerOf converts a ledger snapshot.
func ledgerOf(c bus.Counts) results.Ledger {
	d, l := c.DroppedBy, c.LostBy
	return results.Ledger{
		Published: c.Published, Consumed: c.ByState[bus.StateConsumed], Duplicated: c.ByState[bus.StateDuplicated],
		DeadLettered: c.ByState[bus.StateDeadLettered], Dropped: c.ByState[bus.StateDropped],
		Lost: c.ByState[bus.StateLost], Pending: c.ByState[bus.StatePending],
		DroppedBy: results.DropReasons{
			Rejected: d[bus.DropRejected], DropHead: d[bus.DropHead], BlockTimeout: d[bus.DropBlockTimeout],
			Nack: d[bus.DropNack], DeliveryLimit: d[bus.DropDeliveryLimit], DeliveryTimeout: d[bus.DropDeliveryTimeout],
			Retention: d[bus.DropRetention], TTL: d[bus.DropTTL],
		},
		LostBy:     results.LossReasons{Committed: l[bus.LossCommitted], Failover: l[bus.LossFailover]},
		Deliveries: c.Deliveries, Redeliveries: c.Redeliveries, Processed: c.Processed, Duplicates: c.Duplicates,
		Absorbed: c.Absorbed, Reordered: c.Reordered, DuplicateRecords: c.DuplicateRecords, Failed: c.Failed,
	}
}

// publisher is a mesh.Caller that publishes: a producer is one already;
// this names the interface both satisfy.
var _ mesh.Caller = (*bus.Producer)(nil)
