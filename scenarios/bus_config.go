package scenarios

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/bus"
	"github.com/meshsim/meshsim/models/bus/assign"
	"github.com/meshsim/meshsim/sim/dist"
)

// This file maps the bus block to models/bus configurations. The mapping
// is the one place where YAML names meet model values: validation,
// building and `sim explain` all go through it.

// enum is the YAML spelling of each value of one setting, in value order;
// "" stands for the default.
type enum []string

// parse returns the index of s, and whether it is one of the names.
func (e enum) parse(s string) (int, bool) {
	i := slices.Index(e, s)
	return i, i >= 0
}

// names returns the spellings a user may write.
func (e enum) names() []string {
	var out []string
	for _, n := range e {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

var (
	// acksNames: index 0 is Kafka's default (all), then 0, 1, all as
	// bus.Acks orders them.
	acksNames      = enum{"", "0", "1", "all"}
	keyNames       = enum{"none", "request", "uniform", "zipf"}
	overflowNames  = enum{"", "reject", "drop_head", "block"}
	strategyNames  = enum{"range", "round_robin", "cooperative_sticky"}
	commitNames    = enum{"auto", "after_processing", "before_processing"}
	onFailureNames = enum{"nack_requeue", "nack_discard", "abandon"}
	deliveryNames  = enum{"at_most_once", "at_least_once", "effectively_once"}
)

// enumValue parses s (empty: index dflt).
func enumValue(e enum, s string, dflt int) int {
	if s == "" {
		return dflt
	}
	i, _ := e.parse(s)
	return max(i, 0)
}

// buildDist builds an optional distribution.
func buildDist(spec *DistSpec) (dist.Dist, error) {
	if spec == nil {
		return nil, nil
	}
	return spec.Build()
}

// producerConfig is the configuration of the producer name publishing
// with the settings p.
func (p Producer) config(name string) (bus.ProducerConfig, error) {
	rt, err := buildDist(p.ResponseTime)
	if err != nil {
		return bus.ProducerConfig{}, err
	}
	keys := enumValue(keyNames, p.Keys, 0)
	if p.Keys == "" {
		keys = int(bus.KeyNone)
	}
	return bus.ProducerConfig{
		Name:               name,
		Acks:               bus.Acks(enumValue(acksNames, p.Acks, 0)),
		Keys:               bus.KeyMode(keys),
		KeySpace:           p.KeySpace,
		KeySkew:            p.KeySkew,
		Linger:             time.Duration(p.Linger),
		BatchBytes:         p.BatchBytes,
		MessageBytes:       p.MessageBytes,
		MaxInFlight:        p.MaxInFlight,
		DisableIdempotence: p.Idempotence != nil && !*p.Idempotence,
		DeliveryTimeout:    time.Duration(p.DeliveryTimeout),
		MaxBlock:           time.Duration(p.MaxBlock),
		BufferMemory:       p.BufferMemory,
		ResponseTime:       rt,
		ErrorProb:          p.ErrorProbability,
		RetryBackoff:       time.Duration(p.RetryBackoff),
		RetryBackoffMax:    time.Duration(p.RetryBackoffMax),
	}, nil
}

func (t Topic) config() (bus.TopicConfig, error) {
	rd, err := buildDist(t.ReplicationDelay)
	if err != nil {
		return bus.TopicConfig{}, err
	}
	return bus.TopicConfig{
		Name: t.Name, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, ReplicationDelay: rd,
		MinInsyncReplicas: t.MinInsyncReplicas, Capacity: t.Capacity,
		Overflow:  bus.Overflow(enumValue(overflowNames, t.Overflow, 0)),
		Retention: time.Duration(t.Retention), RetentionBytes: t.RetentionBytes,
	}, nil
}

func (q BusQueue) config() (bus.QueueConfig, error) {
	rd, err := buildDist(q.ReplicationDelay)
	if err != nil {
		return bus.QueueConfig{}, err
	}
	return bus.QueueConfig{
		Name: q.Name, Capacity: q.Capacity, Overflow: bus.Overflow(enumValue(overflowNames, q.Overflow, 0)),
		VisibilityTimeout: time.Duration(q.VisibilityTimeout), MaxDeliveries: q.MaxDeliveries,
		DeadLetter: q.DeadLetter, ReplicationDelay: rd, MessageTTL: time.Duration(q.TTL),
		Retention:       time.Duration(q.Retention),
		RetryMinBackoff: time.Duration(q.RetryMinBackoff), RetryMaxBackoff: time.Duration(q.RetryMaxBackoff),
	}, nil
}

func (s Subscription) config() bus.SubscriptionConfig {
	return bus.SubscriptionConfig{
		Name: s.Name, AckDeadline: time.Duration(s.AckDeadline), RetryPolicy: s.RetryPolicy,
		MinimumBackoff: time.Duration(s.MinimumBackoff), MaximumBackoff: time.Duration(s.MaximumBackoff),
		DeadLetter: s.DeadLetter, MaxDeliveryAttempts: s.MaxDeliveryAttempts, Retention: time.Duration(s.Retention),
	}
}

func (d *Dedup) config() bus.DedupConfig {
	if d == nil {
		return bus.DedupConfig{}
	}
	return bus.DedupConfig{Enabled: true, Window: time.Duration(d.Window)}
}

// processing builds an optional processing time: absent (nil) when the
// consumers call a service instead.
func processing(d DistSpec, call string) (dist.Dist, error) {
	if call != "" && d.absent() {
		return nil, nil
	}
	pt, err := d.Build()
	if err != nil {
		return nil, fmt.Errorf("processing_time: %w", err)
	}
	return pt, nil
}

// absent reports whether the distribution was not written at all.
func (d DistSpec) absent() bool { return d.Dist == "" && len(d.Has) == 0 }

func (g ConsumerGroup) config() (bus.GroupConfig, error) {
	pt, err := processing(g.ProcessingTime, g.Call)
	if err != nil {
		return bus.GroupConfig{}, err
	}
	return groupDelivery(bus.GroupConfig{
		Calls: g.Call != "", MaxAttempts: g.MaxAttempts, RetryBackoff: time.Duration(g.RetryBackoff), DeadLetter: g.DeadLetter,
		Name: g.Name, Consumers: g.Consumers, Strategy: assign.Strategy(enumValue(strategyNames, g.Strategy, 0)),
		ProcessingTime: pt, MaxPollRecords: g.MaxPollRecords,
		Commit:             bus.CommitMode(enumValue(commitNames, g.Commit, 0)),
		AutoCommitInterval: time.Duration(g.AutoCommitInterval), SessionTimeout: time.Duration(g.SessionTimeout),
		HeartbeatInterval: time.Duration(g.HeartbeatInterval), SyncDelay: time.Duration(g.SyncDelay),
		Dedup: g.Dedup.config(),
	}, g.Delivery), nil
}

// The delivery shorthand of a consumer group maps to Kafka's commit
// placement, as Kafka's documentation ("Message Delivery Semantics")
// describes the choices:
//
//   - at_most_once: commit: before_processing. The consumer commits the
//     positions of a batch as soon as it is fetched, then processes it: a
//     crash loses the rest of the batch, never repeats a record.
//   - at_least_once: commit: after_processing. It commits (commitSync)
//     after processing each batch: a crash or a rebalance repeats at most
//     the uncommitted batch, never loses one.
//   - effectively_once: at_least_once plus an idempotent consumer (dedup,
//     window 2m unless dedup: {window: ...} says otherwise), which absorbs
//     the repeats within the window. Kafka's own exactly-once is a
//     read-process-write transaction (sendOffsetsToTransaction), which is
//     not modelled; this is the consumer-side pattern every broker's users
//     apply, the window as JetStream's duplicate_window.
//
// Without delivery the commit field (default auto) and dedup apply as
// written; validation rejects delivery together with commit.
func groupDelivery(c bus.GroupConfig, delivery string) bus.GroupConfig {
	switch delivery {
	case "at_most_once":
		c.Commit = bus.CommitBeforeProcessing
	case "at_least_once":
		c.Commit = bus.CommitAfterProcessing
	case "effectively_once":
		c.Commit = bus.CommitAfterProcessing
		c.Dedup.Enabled = true
	}
	return c
}

// The delivery shorthand of queue consumers maps to when they ack and
// whether they deduplicate:
//
//   - at_most_once: ack on delivery, before processing (RabbitMQ's
//     automatic acknowledgement, basic.consume no-ack; a Pub/Sub or SQS
//     client that acks or deletes on receipt). A failed processing or a
//     crash loses the message (lost, committed); on_failure does not
//     apply.
//   - at_least_once: ack after a successful processing, the default (SQS
//     DeleteMessage after processing, RabbitMQ manual acks): a failure or
//     an expired visibility timeout redelivers it, so duplicates are
//     possible, losses are not.
//   - effectively_once: at_least_once plus an idempotent consumer (dedup,
//     window 2m unless dedup: {window: ...}): repeats within the window
//     have no effect (the consumer-side counterpart of SQS FIFO's 5 min
//     and JetStream's 2 min publish dedup).
func queueDelivery(c bus.QueueConsumerConfig, delivery string) bus.QueueConsumerConfig {
	switch delivery {
	case "at_most_once":
		c.AckOnDelivery = true
	case "effectively_once":
		c.Dedup.Enabled = true
	}
	return c
}

func (q QueueConsumers) config() (bus.QueueConsumerConfig, error) {
	pt, err := processing(q.ProcessingTime, q.Call)
	if err != nil {
		return bus.QueueConsumerConfig{}, err
	}
	c := bus.QueueConsumerConfig{
		Calls: q.Call != "",
		Name:  q.Name, Consumers: q.Consumers, Prefetch: q.Prefetch, Concurrency: q.Concurrency,
		ProcessingTime: pt, FailureProb: q.FailureProbability,
		OnFailure: bus.FailureAction(enumValue(onFailureNames, q.OnFailure, 0)),
		Dedup:     q.Dedup.config(),
	}
	if q.Poison > 0 {
		c.Fails = poisonOf(q.Poison, q.FailureProbability)
	}
	return queueDelivery(c, q.Delivery), nil
}

// poisonOf returns the failure rule of consumers with a share of poison
// messages: a message is poison when a hash of its id falls below the
// share, so the same messages are poison on every delivery, in every
// variant and for every subscription. The others fail with probability
// transient, drawn from a stream of its own (splitmix64 of the id and the
// delivery count would tie it to the message; a per-rule counter keeps
// draws independent of which consumer processes it).
func poisonOf(share, transient float64) func(m *bus.Message) bool {
	limit := uint64(share * (1 << 63) * 2)
	if share >= 1 {
		limit = ^uint64(0)
	}
	var n uint64
	return func(m *bus.Message) bool {
		if splitmix64(m.ID) < limit {
			return true
		}
		if transient <= 0 {
			return false
		}
		n++
		u := float64(splitmix64(m.ID^splitmix64(n))>>11) / (1 << 53)
		return u < transient
	}
}

// splitmix64 is the SplitMix64 finaliser: a fixed bijective mix of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
