package results

import (
	"time"

	"github.com/meshsim/meshsim/sim/stats"
)

// Bus is what the event bus did in one replication. Its counts cover the
// whole run, warm-up included, because message accounting is conserved
// only over everything published; latencies leave the warm-up out.
type Bus struct {
	Readers   []BusReader   // one per ledger, in scenario order: groups, queues, subscriptions
	Producers []BusProducer // one per (caller, destination), in build order
	// TracesOpen counts the traces (workload requests, warm-up included)
	// not finished when the run stopped: a message they caused was still
	// pending, or a request in flight.
	TracesOpen int64
}

// BusReader is one subscription of the bus with its own accounting: a
// consumer group of a topic, a queue with its consumers, a subscription of
// a pub/sub topic, or a topic that no group reads.
type BusReader struct {
	Kind      string // "group", "queue", "subscription" or "topic"
	Name      string
	Source    string // the topic, queue or pub/sub topic read
	Consumers int    // members or competing consumers
	Ledger    Ledger
	// Latency is publish to the end of the first processing, ns, of the
	// messages published after the warm-up.
	Latency *stats.Histogram
	// PartitionLag is each partition's lag at the end of the run, in
	// partition order: high watermark minus committed offset for a group
	// (Kafka's consumer lag), messages ready or in flight for a queue (one
	// entry).
	PartitionLag []int64
	// LagTimeline is the summed lag at the end of each of the run's
	// equal slices (LagStep long).
	LagTimeline []int64
	// PartitionLagTimeline is each partition's lag at the end of each
	// slice: [partition][slice].
	PartitionLagTimeline [][]int64
	LagStep              time.Duration
	Rebalances           int64         // group: rebalance rounds completed
	Paused               time.Duration // group: partition-time with no consuming owner
	// ReadModel is the read model the reader projects into, "" for none.
	// Staleness is then, in nanoseconds, each measured command's time
	// from its acknowledgement to the projection of a message of its
	// trace (0 when visible before), and StalenessSum and StalenessCount
	// sum (ns) and count it per slice of LagStep, by acknowledgement time.
	ReadModel      string
	Staleness      *stats.Histogram
	StalenessSum   []int64
	StalenessCount []int64
}

// Ledger counts a subscription's messages by state: every message
// published is in exactly one of consumed, duplicated, dead_lettered,
// dropped, lost and pending, so they sum to published.
type Ledger struct {
	Published    int64 `json:"published"`
	Consumed     int64 `json:"consumed"`      // processed exactly once
	Duplicated   int64 `json:"duplicated"`    // processed more than once
	DeadLettered int64 `json:"dead_lettered"` // moved to the dead-letter queue
	Dropped      int64 `json:"dropped"`       // dropped by a policy (DroppedBy)
	Lost         int64 `json:"lost"`          // lost to a failure (LostBy)
	Pending      int64 `json:"pending"`       // not ended when the run stopped
	// DroppedBy and LostBy split Dropped and Lost by reason.
	DroppedBy DropReasons `json:"dropped_by"`
	LostBy    LossReasons `json:"lost_by"`
	// Deliveries counts hand-overs to consumers, Redeliveries those of a
	// message delivered before; Processed counts processings that had an
	// effect, Duplicates those of a message processed before; Absorbed
	// counts processings an idempotent consumer recognised (no effect);
	// Reordered counts first processings of a keyed message after a later
	// one of the same key; DuplicateRecords counts records a producer
	// wrote twice (a retry without idempotence).
	Deliveries       int64 `json:"deliveries"`
	Redeliveries     int64 `json:"redeliveries"`
	Processed        int64 `json:"processed"`
	Duplicates       int64 `json:"duplicates"`
	Absorbed         int64 `json:"absorbed"`
	Reordered        int64 `json:"reordered"`
	DuplicateRecords int64 `json:"duplicate_records"`
	// Failed counts processings that failed (a consumer's call to a
	// service, or failure_probability and poison): no effect.
	Failed int64 `json:"failed"`
}

// Terminal returns the messages in a state: the sum that must equal
// Published.
func (l Ledger) Terminal() int64 {
	return l.Consumed + l.Duplicated + l.DeadLettered + l.Dropped + l.Lost + l.Pending
}

// Add returns the field-wise sum of l and m.
func (l Ledger) Add(m Ledger) Ledger {
	return Ledger{
		Published: l.Published + m.Published, Consumed: l.Consumed + m.Consumed, Duplicated: l.Duplicated + m.Duplicated,
		DeadLettered: l.DeadLettered + m.DeadLettered, Dropped: l.Dropped + m.Dropped, Lost: l.Lost + m.Lost,
		Pending: l.Pending + m.Pending, DroppedBy: l.DroppedBy.add(m.DroppedBy), LostBy: l.LostBy.add(m.LostBy),
		Deliveries: l.Deliveries + m.Deliveries, Redeliveries: l.Redeliveries + m.Redeliveries,
		Processed: l.Processed + m.Processed, Duplicates: l.Duplicates + m.Duplicates, Absorbed: l.Absorbed + m.Absorbed,
		Reordered: l.Reordered + m.Reordered, DuplicateRecords: l.DuplicateRecords + m.DuplicateRecords,
		Failed: l.Failed + m.Failed,
	}
}

// DropReasons splits dropped messages by the policy that dropped them.
type DropReasons struct {
	Rejected        int64 `json:"rejected"`         // a full partition or queue refused it
	DropHead        int64 `json:"drop_head"`        // a full one dropped its oldest message
	BlockTimeout    int64 `json:"block_timeout"`    // the producer blocked longer than max_block
	Nack            int64 `json:"nack"`             // nacked without requeue, no dead-letter queue
	DeliveryLimit   int64 `json:"delivery_limit"`   // max_deliveries reached, no dead-letter queue
	DeliveryTimeout int64 `json:"delivery_timeout"` // not acknowledged within delivery_timeout
	Retention       int64 `json:"retention"`        // deleted unconsumed by retention
	TTL             int64 `json:"ttl"`              // expired (ttl), no dead-letter queue
}

func (d DropReasons) add(e DropReasons) DropReasons {
	return DropReasons{d.Rejected + e.Rejected, d.DropHead + e.DropHead, d.BlockTimeout + e.BlockTimeout,
		d.Nack + e.Nack, d.DeliveryLimit + e.DeliveryLimit, d.DeliveryTimeout + e.DeliveryTimeout,
		d.Retention + e.Retention, d.TTL + e.TTL}
}

// LossReasons splits lost messages by the failure that lost them.
type LossReasons struct {
	Committed int64 `json:"committed"` // committed or acked before processing, then the consumer crashed (or, acked on delivery, failed)
	Failover  int64 `json:"failover"`  // acknowledged by a leader that failed before replicating it
}

func (d LossReasons) add(e LossReasons) LossReasons {
	return LossReasons{d.Committed + e.Committed, d.Failover + e.Failover}
}

// BusProducer is what the producers of one caller (a workload, or every
// instance of a service) towards one destination did over the run.
type BusProducer struct {
	Caller, Destination string
	Producers           int   // one per workload, one per instance of a service
	Published           int64 // messages handed to the producers
	Acked               int64 // acknowledged
	Refused             int64 // rejected, or given up on (max_block, delivery_timeout)
	Retries             int64 // resent after a leader's failure
	DedupedRetries      int64 // of the retries, recognised by the broker (idempotence)
	DuplicateWrites     int64 // of the retries, written twice (no idempotence)
	RequestErrors       int64 // produce requests that failed with a retriable error (error_probability)
	OutOfOrder          int64 // produce requests an idempotent producer's broker refused behind a missing sequence
	// AckLatency is publish to acknowledgement, ns.
	AckLatency *stats.Histogram
}
