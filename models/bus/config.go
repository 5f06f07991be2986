package bus

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/bus/assign"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim/dist"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field by its scenario (snake_case) name.
var ErrConfig = errors.New("bus: invalid configuration")

func errField(owner, name, field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %q: %s %s", ErrConfig, owner, name, field, fmt.Sprintf(format, args...))
}

// Limits (TIGER_STYLE: limits on everything).
const (
	MaxPartitions  = 10000               // per topic
	MaxConsumers   = 1000                // per group or queue
	MaxCapacity    = 1 << 30             // messages per partition or queue
	MaxSpan        = 24 * time.Hour * 14 // any configured duration (SQS retention maximum)
	MaxPollRecords = 1 << 20
)

// Overflow is what a full partition or queue does with a new message.
type Overflow uint8

// The overflow policies. OverflowDefault resolves to the destination's
// real-system default: block for a log topic (a Kafka producer blocks for
// max.block.ms when it cannot hand a record over), drop-head for a queue
// (RabbitMQ x-overflow default; JetStream DiscardOld).
const (
	OverflowDefault  Overflow = iota
	OverflowReject            // refuse the new message (RabbitMQ reject-publish, JetStream DiscardNew)
	OverflowDropHead          // drop the oldest message to make room
	OverflowBlock             // the producer waits for room, up to its max_block
	numOverflows
)

var overflowNames = [numOverflows]string{"default", "reject", "drop_head", "block"}

func (o Overflow) String() string {
	if o < numOverflows {
		return overflowNames[o]
	}
	return fmt.Sprintf("Overflow(%d)", uint8(o))
}

// ParseOverflow returns the policy named "reject", "drop_head" or "block".
func ParseOverflow(s string) (Overflow, error) {
	for i := OverflowReject; i < numOverflows; i++ {
		if overflowNames[i] == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: overflow %q (want reject, drop_head or block)", ErrConfig, s)
}

// TopicConfig describes a log topic (Kafka-like).
type TopicConfig struct {
	Name string
	// Partitions defaults to 1 (Kafka broker num.partitions).
	Partitions int
	// Brokers is the number of brokers of the topic's own cluster, when
	// it is built by NewTopic; Cluster.NewTopic places it on a shared
	// cluster instead (0 or the cluster's size). Partition p's replicas are
	// brokers p, p+1, ... mod Brokers, the first its preferred leader
	// (Kafka places replicas round-robin from a random start broker; the
	// start is fixed at 0 here). Defaults to 1.
	Brokers int
	// ReplicationFactor defaults to 1 (default.replication.factor). With
	// more than one replica a write becomes visible to consumers (the
	// high watermark passes it) and acks=all producers are acknowledged
	// only after ReplicationDelay, drawn per write from the stream
	// "<topic>"/"replication". Writes become visible in offset order.
	ReplicationFactor int
	ReplicationDelay  dist.Dist
	// Capacity bounds the messages a partition retains (not yet committed
	// by the group); 0 means no bound, as Kafka, which bounds logs by
	// retention only. Overflow applies when it is reached.
	Capacity int
	Overflow Overflow
	// MinInsyncReplicas defaults to 1 (min.insync.replicas): an acks=all
	// write is refused (NOT_ENOUGH_REPLICAS, retried by the producer)
	// while the in-sync replicas are fewer.
	MinInsyncReplicas int
	// Retention defaults to 7 days (retention.ms, log.retention.hours=168):
	// messages older than it are deleted, and those a group had not
	// consumed are dropped for that group (DropRetention). RetentionBytes
	// bounds a partition's retained bytes (retention.bytes), 0 meaning
	// unlimited (Kafka's -1 default). Kafka deletes whole segments, checked
	// every log.retention.check.interval.ms (5 min); here each message is
	// deleted when it passes the limit, so deletion comes earlier than in
	// Kafka by up to a segment's age plus the check interval.
	Retention      time.Duration
	RetentionBytes int64
}

// Topic defaults.
const (
	DefaultRetention = 7 * 24 * time.Hour // Kafka retention.ms; also Pub/Sub message_retention_duration
)

// withDefaults returns c with zero fields set to their defaults.
func (c TopicConfig) withDefaults() TopicConfig {
	c.Partitions = orInt(c.Partitions, 1)
	c.Brokers = orInt(c.Brokers, 1)
	c.ReplicationFactor = orInt(c.ReplicationFactor, 1)
	c.MinInsyncReplicas = orInt(c.MinInsyncReplicas, 1)
	c.Retention = orDur(c.Retention, DefaultRetention)
	if c.Overflow == OverflowDefault {
		c.Overflow = OverflowBlock
	}
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it. Zero fields are valid: they mean the default.
func (c TopicConfig) Validate() error {
	const o = "topic"
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: topic without a name", ErrConfig)
	case c.Partitions < 0 || c.Partitions > MaxPartitions:
		return errField(o, c.Name, "partitions", "must be in [1, %d], got %d", MaxPartitions, c.Partitions)
	case c.Brokers < 0 || c.Brokers > MaxPartitions:
		return errField(o, c.Name, "brokers", "must be in [1, %d], got %d", MaxPartitions, c.Brokers)
	case c.ReplicationFactor < 0 || c.ReplicationFactor > max(c.Brokers, 1):
		return errField(o, c.Name, "replication_factor", "must be in [1, brokers=%d], got %d", max(c.Brokers, 1), c.ReplicationFactor)
	case c.ReplicationFactor > 1 && c.ReplicationDelay == nil:
		return errField(o, c.Name, "replication_delay", "is required when replication_factor > 1")
	case c.Capacity < 0 || c.Capacity > MaxCapacity:
		return errField(o, c.Name, "capacity", "must be in [0, %d], got %d", MaxCapacity, c.Capacity)
	case c.Overflow >= numOverflows:
		return errField(o, c.Name, "overflow", "unknown policy %d", c.Overflow)
	case c.MinInsyncReplicas < 0 || c.MinInsyncReplicas > max(c.ReplicationFactor, 1):
		return errField(o, c.Name, "min_insync_replicas", "must be in [1, replication_factor=%d], got %d", max(c.ReplicationFactor, 1), c.MinInsyncReplicas)
	case c.Retention < 0 || c.Retention > MaxSpan:
		return errField(o, c.Name, "retention", "must be in (0, %v], got %v", MaxSpan, c.Retention)
	case c.RetentionBytes < 0:
		return errField(o, c.Name, "retention_bytes", "must be >= 0 (0: unlimited), got %d", c.RetentionBytes)
	}
	return nil
}

// ClusterConfig describes a Kafka-like cluster of brokers on which topics
// place their partitions' replicas.
type ClusterConfig struct {
	Name    string
	Brokers int // defaults to 1
	// ElectionDelay is the time from a broker's failure to its partitions'
	// new leaders (and its removal from the in-sync replicas), drawn once
	// per failure from the stream "<cluster>"/"election". The default is
	// uniform on [7 s, 9 s]: the KRaft controller fences a broker
	// broker.session.timeout.ms (9 s) after its last heartbeat, sent every
	// broker.heartbeat.interval.ms (2 s), so 7 to 9 s after a crash, and
	// then elects at once from the ISR (KRaftConfigs.java; the election
	// and the clients' metadata refresh take milliseconds, not modelled).
	// ZooKeeper-mode clusters detect through zookeeper.session.timeout.ms
	// (18 s) instead; set it for those.
	ElectionDelay dist.Dist
}

// Cluster defaults.
const (
	DefaultSessionTimeoutKRaft = 9 * time.Second // broker.session.timeout.ms
	DefaultBrokerHeartbeat     = 2 * time.Second // broker.heartbeat.interval.ms
)

func (c ClusterConfig) withDefaults() ClusterConfig {
	c.Brokers = orInt(c.Brokers, 1)
	if c.ElectionDelay == nil {
		d, err := dist.Uniform(DefaultSessionTimeoutKRaft-DefaultBrokerHeartbeat, DefaultSessionTimeoutKRaft)
		if err != nil {
			panic(err) // constant, valid arguments
		}
		c.ElectionDelay = d
	}
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c ClusterConfig) Validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: cluster without a name", ErrConfig)
	case c.Brokers < 0 || c.Brokers > MaxPartitions:
		return errField("cluster", c.Name, "brokers", "must be in [1, %d], got %d", MaxPartitions, c.Brokers)
	}
	return nil
}

// Acks is the producer's acknowledgement level.
type Acks int8

// The levels, as Kafka's acks setting. AcksDefault resolves to AcksAll,
// the Kafka 3.0+ producer default.
const (
	AcksDefault Acks = iota
	AcksNone         // acks=0: acknowledged when sent, never told of a failure
	AcksLeader       // acks=1: acknowledged when the leader appended it
	AcksAll          // acks=all: acknowledged when every in-sync replica has it
)

func (a Acks) String() string {
	switch a {
	case AcksNone:
		return "0"
	case AcksLeader:
		return "1"
	case AcksAll:
		return "all"
	}
	return "default"
}

// KeyMode says how a producer fed by a workload keys its messages.
type KeyMode uint8

// The key modes.
const (
	KeyNone    KeyMode = iota // null keys: sticky partitioning
	KeyRequest                // the request's key (a workload sets it from its sequence: all distinct)
	KeyUniform                // uniform over [0, KeySpace), from the stream "<producer>"/"key"
	// KeyZipf draws key k in [0, KeySpace) with probability proportional
	// to 1/(k+1)^KeySkew (Zipf's law, the usual model of hot keys), from
	// the stream "<producer>"/"key": key 0 is the hottest.
	KeyZipf
)

// MaxZipfKeys bounds KeySpace with zipf keys: the producer keeps a table of
// KeySpace cumulative weights (8 bytes each).
const MaxZipfKeys = 1 << 20

// ProducerConfig describes a producer.
type ProducerConfig struct {
	Name string
	// Acks defaults to all (Kafka >= 3.0, enable.idempotence=true).
	Acks Acks
	// Keys and KeySpace choose the keys of messages published through
	// Send (a workload's requests).
	Keys     KeyMode
	KeySpace int
	// KeySkew is the Zipf exponent of KeyZipf keys, > 0; 1 is Zipf's
	// law (with 1000 keys the hottest takes 13% of the messages).
	KeySkew float64
	// StickyBatch is the number of null-key messages sent to one partition
	// before the sticky partitioner (KIP-794) picks another one at random
	// from the stream "<producer>"/"partition". Kafka switches after
	// batch.size bytes (16384); the default 16 assumes 1 KiB records.
	StickyBatch int
	// MaxBlock bounds how long a message waits for room in a full
	// destination with the block policy, or for room in the producer's
	// BufferMemory, then it is dropped (DropBlockTimeout). Defaults to
	// 60 s (Kafka max.block.ms).
	MaxBlock time.Duration
	// BufferMemory defaults to 33554432 bytes, 32 MiB (buffer.memory):
	// the bytes of records the producer holds, MessageBytes each, from
	// publish until they are acknowledged or given up on (Kafka's
	// BufferPool memory is taken when a record is appended to its
	// partition's accumulator and freed when its batch completes, with
	// success or an error; with acks=0 a batch completes once sent). A
	// publish that finds it full waits, in publish order, for records to
	// complete, up to MaxBlock after its publish; then it is refused
	// (DropBlockTimeout: send() throws a TimeoutException). Kafka takes
	// batch.size bytes per batch rather than each record's own bytes, so
	// with batches of few records its buffer fills sooner than here.
	BufferMemory int64

	// Linger is how long a partition's batch waits for more messages
	// before it is sent (linger.ms). It defaults to 0, the Kafka 3.x
	// default taken here (the reference snapshot is 3.9-era); Kafka 4.0
	// changed it to 5 ms (KIP-1030): set 5 ms to model 4.x clients. With 0
	// a batch is sent as soon as the partition has an in-flight slot, so
	// batches form only while MaxInFlight batches are unanswered.
	Linger time.Duration
	// BatchBytes defaults to 16384 (batch.size) and MessageBytes, each
	// message's size, to 1024: a batch holds BatchBytes/MessageBytes
	// messages (at least one), and is sent when full even before Linger.
	BatchBytes   int
	MessageBytes int
	// MaxInFlight defaults to 5 (max.in.flight.requests.per.connection):
	// the batches of one partition sent and not yet answered. Kafka counts
	// requests per broker connection; here each partition has its own.
	MaxInFlight int
	// DisableIdempotence turns off enable.idempotence (true by default
	// since Kafka 3.0, when acks=all; an explicit acks=0 or 1 turns it off
	// too, KIP-679). With idempotence the broker recognises a retried
	// batch it already wrote (sequence numbers, the last 5 batches per
	// producer and partition) and does not write it again; without it a
	// retry after a lost acknowledgement writes a duplicate record.
	DisableIdempotence bool
	// DeliveryTimeout defaults to 120 s (delivery.timeout.ms): a message
	// not acknowledged that long after it was published (its partition has
	// no leader, or its in-sync replicas are too few) is dropped
	// (DropDeliveryTimeout); until then the producer retries.
	DeliveryTimeout time.Duration
	// ResponseTime, if set, is the network time of a produce response,
	// drawn per acknowledgement from the stream "<producer>"/"response".
	// A leader that fails while responses are on their way loses them:
	// the producer retries those writes (Kafka's NetworkClient fails the
	// in-flight requests of a dropped connection).
	ResponseTime dist.Dist
	// ErrorProb is the probability that one produce request (a batch)
	// fails with a retriable error and is not written: the broker answers
	// NOT_ENOUGH_REPLICAS or NOT_LEADER_OR_FOLLOWER, or the request timed
	// out in the broker's purgatory. It is drawn per request from the
	// stream "<producer>"/"error"; the error arrives after ResponseTime
	// (responses on one connection come in request order, as a Kafka
	// broker answers a connection's requests in order), then the batch
	// goes back to the head of its partition's queue, in sequence order,
	// and is resent after RetryBackoff. Without idempotence the batches
	// sent after it meanwhile (MaxInFlight > 1) are written before it:
	// per-key order breaks. With idempotence the broker refuses them
	// (OUT_OF_ORDER_SEQUENCE_NUMBER: it expects the missing sequence
	// first), so they come back too and order is kept. With acks=0 the
	// producer never learns of an error; the model does not fail acks=0
	// requests. A request lost on the network and timed out after
	// request.timeout.ms is not modelled apart from this (it would fail
	// every request in flight on the connection).
	ErrorProb float64
	// RetryBackoff defaults to 100 ms (retry.backoff.ms) and
	// RetryBackoffMax to 1 s (retry.backoff.max.ms): the n-th retry of a
	// batch waits min(RetryBackoffMax, RetryBackoff*2^(n-1)), times a
	// jitter uniform in [0.8, 1.2] drawn from "<producer>"/"backoff"
	// (KIP-580, Kafka >= 3.7). A message whose retry would come after its
	// DeliveryTimeout is dropped (DropDeliveryTimeout).
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
}

// Producer defaults (Kafka 3.x ProducerConfig).
const (
	DefaultMaxBlock        = 60 * time.Second
	DefaultBufferMemory    = 32 << 20 // buffer.memory, 33554432 bytes
	MaxBufferMemory        = 1 << 40
	DefaultBatchBytes      = 16384
	DefaultMessageBytes    = 1024
	DefaultStickyBatch     = DefaultBatchBytes / DefaultMessageBytes
	DefaultMaxInFlight     = 5
	DefaultDeliveryTimeout = 120 * time.Second
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultRetryBackoffMax = time.Second
)

func (c ProducerConfig) withDefaults() ProducerConfig {
	if c.Acks == AcksDefault {
		c.Acks = AcksAll
	}
	c.MaxBlock = orDur(c.MaxBlock, DefaultMaxBlock)
	if c.BufferMemory == 0 {
		c.BufferMemory = DefaultBufferMemory
	}
	c.BatchBytes = orInt(c.BatchBytes, DefaultBatchBytes)
	c.MessageBytes = orInt(c.MessageBytes, DefaultMessageBytes)
	c.StickyBatch = orInt(c.StickyBatch, max(1, c.BatchBytes/c.MessageBytes))
	c.MaxInFlight = orInt(c.MaxInFlight, DefaultMaxInFlight)
	c.DeliveryTimeout = orDur(c.DeliveryTimeout, DefaultDeliveryTimeout)
	c.RetryBackoff = orDur(c.RetryBackoff, DefaultRetryBackoff)
	c.RetryBackoffMax = orDur(c.RetryBackoffMax, max(c.RetryBackoff, DefaultRetryBackoffMax))
	return c
}

// idempotent reports whether the producer is idempotent: Kafka's default
// unless disabled or acks is not all.
func (c ProducerConfig) idempotent() bool { return !c.DisableIdempotence && c.Acks == AcksAll }

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c ProducerConfig) Validate() error {
	const o = "producer"
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: producer without a name", ErrConfig)
	case c.Acks < AcksDefault || c.Acks > AcksAll:
		return errField(o, c.Name, "acks", "must be 0, 1 or all, got %d", c.Acks)
	case c.Keys > KeyZipf:
		return errField(o, c.Name, "keys", "unknown key mode %d", c.Keys)
	case c.Keys == KeyUniform && c.KeySpace < 1:
		return errField(o, c.Name, "key_space", "must be >= 1 with uniform keys, got %d", c.KeySpace)
	case c.Keys == KeyZipf && (c.KeySpace < 1 || c.KeySpace > MaxZipfKeys):
		return errField(o, c.Name, "key_space", "must be in [1, %d] with zipf keys, got %d", MaxZipfKeys, c.KeySpace)
	case c.Keys == KeyZipf && !(c.KeySkew > 0 && c.KeySkew <= 10):
		return errField(o, c.Name, "key_skew", "must be in (0, 10] with zipf keys, got %g", c.KeySkew)
	case c.StickyBatch < 0:
		return errField(o, c.Name, "sticky_batch", "must be >= 1, got %d", c.StickyBatch)
	case c.MaxBlock < 0 || c.MaxBlock > MaxSpan:
		return errField(o, c.Name, "max_block", "must be in [0, %v], got %v", MaxSpan, c.MaxBlock)
	case c.BufferMemory < 0 || c.BufferMemory > MaxBufferMemory:
		return errField(o, c.Name, "buffer_memory", "must be in [message_bytes, %d], got %d", MaxBufferMemory, c.BufferMemory)
	case c.BufferMemory > 0 && c.BufferMemory < int64(orInt(c.MessageBytes, DefaultMessageBytes)):
		// Kafka refuses a record larger than buffer.memory (RecordTooLargeException).
		return errField(o, c.Name, "buffer_memory", "must be >= message_bytes=%d, got %d", orInt(c.MessageBytes, DefaultMessageBytes), c.BufferMemory)
	case c.Linger < 0 || c.Linger > MaxSpan:
		return errField(o, c.Name, "linger", "must be in [0, %v], got %v", MaxSpan, c.Linger)
	case c.BatchBytes < 0 || c.BatchBytes > MaxCapacity:
		return errField(o, c.Name, "batch_bytes", "must be in [1, %d], got %d", MaxCapacity, c.BatchBytes)
	case c.MessageBytes < 0 || c.MessageBytes > MaxCapacity:
		return errField(o, c.Name, "message_bytes", "must be in [1, %d], got %d", MaxCapacity, c.MessageBytes)
	case c.MaxInFlight < 0 || c.MaxInFlight > 1000:
		return errField(o, c.Name, "max_in_flight", "must be in [1, 1000], got %d", c.MaxInFlight)
	case !c.DisableIdempotence && (c.Acks == AcksDefault || c.Acks == AcksAll) && c.MaxInFlight > DefaultMaxInFlight:
		// Kafka: idempotence requires max.in.flight.requests.per.connection <= 5.
		return errField(o, c.Name, "max_in_flight", "must be <= 5 with idempotence, got %d", c.MaxInFlight)
	case c.DeliveryTimeout < 0 || c.DeliveryTimeout > MaxSpan:
		return errField(o, c.Name, "delivery_timeout", "must be in (0, %v], got %v", MaxSpan, c.DeliveryTimeout)
	case !(c.ErrorProb >= 0 && c.ErrorProb < 1):
		return errField(o, c.Name, "error_probability", "must be in [0, 1), got %g", c.ErrorProb)
	case c.RetryBackoff < 0 || c.RetryBackoff > MaxSpan:
		return errField(o, c.Name, "retry_backoff", "must be in (0, %v], got %v", MaxSpan, c.RetryBackoff)
	case c.RetryBackoffMax < 0 || c.RetryBackoffMax > MaxSpan || (c.RetryBackoffMax > 0 && c.RetryBackoffMax < c.RetryBackoff):
		return errField(o, c.Name, "retry_backoff_max", "must be in [retry_backoff, %v], got %v", MaxSpan, c.RetryBackoffMax)
	}
	return nil
}

// CommitMode is when a consumer group member commits its offsets.
type CommitMode uint8

// The commit modes.
const (
	// CommitAuto is Kafka's default enable.auto.commit=true: at a poll, if
	// AutoCommitInterval has passed since the last auto-commit, commit the
	// positions (everything returned by earlier polls, all processed in a
	// single-threaded loop); also before revoking partitions. At least
	// once, with up to an interval of duplicates after a crash.
	CommitAuto CommitMode = iota
	// CommitAfterProcessing commits (commitSync) after each batch is
	// processed: at least once, duplicates limited to one batch.
	CommitAfterProcessing
	// CommitBeforeProcessing commits a batch as soon as it is fetched: at
	// most once, a crash loses the rest of the batch.
	CommitBeforeProcessing
	numCommitModes
)

var commitNames = [numCommitModes]string{"auto", "after_processing", "before_processing"}

func (c CommitMode) String() string {
	if c < numCommitModes {
		return commitNames[c]
	}
	return fmt.Sprintf("CommitMode(%d)", uint8(c))
}

// GroupConfig describes a consumer group on a log topic (Kafka's classic
// group protocol).
type GroupConfig struct {
	Name      string
	Consumers int // members, each named "<group>[i]"; defaults to 1
	// Strategy defaults to range, the first of Kafka's default list
	// [range, cooperative-sticky], which wins until every member supports
	// cooperative. Range and round_robin rebalance eagerly,
	// cooperative_sticky cooperatively.
	Strategy assign.Strategy
	// ProcessingTime is drawn per message from the stream
	// "<group>[i]"/"processing". Messages of a batch are processed one
	// after the other (one poll loop per member).
	ProcessingTime dist.Dist
	// Calls, when set, makes each processing end with a call to a service
	// through the member's own caller (its sidecar: Group.SetCallers),
	// after ProcessingTime if that is set too (it may then be nil). A
	// failed call fails the processing. Kafka has no per-message ack, so
	// the member retries the record in place (it seeks back and processes
	// it again, blocking its partitions) after RetryBackoff, up to
	// MaxAttempts processings, then gives up on it: dead-lettered when
	// DeadLetter is set (a dead-letter topic), else skipped (dropped,
	// DropDeliveryLimit), and goes on. This is Spring for Apache Kafka's
	// DefaultErrorHandler: FixedBackOff(0, 9), so 10 attempts without
	// backoff, then a recoverer that logs and skips the record, or the
	// DeadLetterPublishingRecoverer.
	Calls          bool
	MaxAttempts    int
	RetryBackoff   time.Duration
	DeadLetter     bool
	MaxPollRecords int // defaults to 500 (max.poll.records)
	Commit         CommitMode
	// AutoCommitInterval defaults to 5 s (auto.commit.interval.ms).
	AutoCommitInterval time.Duration
	// SessionTimeout defaults to 45 s (session.timeout.ms, Kafka >= 3.0):
	// the coordinator notices a crashed member this long after its last
	// heartbeat. HeartbeatInterval defaults to 3 s
	// (heartbeat.interval.ms): members learn that a rebalance started at
	// their next heartbeat, and rejoin at their next poll.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	// SyncDelay is the time from the last member joining to every member
	// receiving its assignment (JoinGroup and SyncGroup round trips).
	// Zero by default: the pause a rebalance causes is dominated by the
	// heartbeat and the members finishing their batches.
	SyncDelay time.Duration
	// Dedup makes the consumer idempotent (effectively once): see
	// DedupConfig. The store is shared by the group's members.
	Dedup DedupConfig
	// ReadModel, if set, is the read model the group projects into
	// (CQRS): the first processing of a traced message makes it visible
	// there, and its trace's staleness is recorded (mesh.Tracer).
	ReadModel *mesh.ReadModel
}

// DedupConfig describes an idempotent consumer: a dedup store, shared by
// the consumers of one group or subscription, keyed by message ID. A
// processing records the ID and its effect in one transaction when it
// ends; one of a message recorded less than Window earlier has no effect
// and is counted as absorbed (Counts.Absorbed). Entries older than Window
// are forgotten, so a duplicate after the window takes effect again.
type DedupConfig struct {
	Enabled bool
	// Window defaults to 2 min, NATS JetStream's duplicate_window
	// (StreamDefaultDuplicatesWindow), the publish-side analogue.
	Window time.Duration
}

// DefaultDedupWindow is JetStream's default duplicate_window.
const DefaultDedupWindow = 2 * time.Minute

func (c DedupConfig) withDefaults() DedupConfig {
	c.Window = orDur(c.Window, DefaultDedupWindow)
	return c
}

func (c DedupConfig) validate(o, name string) error {
	if c.Window < 0 || c.Window > MaxSpan {
		return errField(o, name, "dedup.window", "must be in (0, %v], got %v", MaxSpan, c.Window)
	}
	return nil
}

// Consumer group defaults (Kafka 3.x ConsumerConfig).
const (
	DefaultMaxPollRecords     = 500
	DefaultAutoCommitInterval = 5 * time.Second
	DefaultSessionTimeout     = 45 * time.Second
	DefaultHeartbeatInterval  = 3 * time.Second
	DefaultMaxAttempts        = 10 // Spring Kafka DefaultErrorHandler: FixedBackOff(0, 9)
)

func (c GroupConfig) withDefaults() GroupConfig {
	c.Consumers = orInt(c.Consumers, 1)
	c.MaxPollRecords = orInt(c.MaxPollRecords, DefaultMaxPollRecords)
	c.AutoCommitInterval = orDur(c.AutoCommitInterval, DefaultAutoCommitInterval)
	c.SessionTimeout = orDur(c.SessionTimeout, DefaultSessionTimeout)
	c.HeartbeatInterval = orDur(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.MaxAttempts = orInt(c.MaxAttempts, DefaultMaxAttempts)
	c.Dedup = c.Dedup.withDefaults()
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c GroupConfig) Validate() error {
	const o = "consumer group"
	f := c.withDefaults()
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: consumer group without a name", ErrConfig)
	case c.Consumers < 0 || c.Consumers > MaxConsumers:
		return errField(o, c.Name, "consumers", "must be in [1, %d], got %d", MaxConsumers, c.Consumers)
	case c.Strategy > assign.CooperativeSticky:
		return errField(o, c.Name, "strategy", "unknown strategy %d", c.Strategy)
	case c.ProcessingTime == nil && !c.Calls:
		return errField(o, c.Name, "processing_time", "is required without a call")
	case c.MaxAttempts < 0 || c.MaxAttempts > 1000:
		return errField(o, c.Name, "max_attempts", "must be in [1, 1000], got %d", c.MaxAttempts)
	case c.RetryBackoff < 0 || c.RetryBackoff > MaxSpan:
		return errField(o, c.Name, "retry_backoff", "must be in [0, %v], got %v", MaxSpan, c.RetryBackoff)
	case c.MaxPollRecords < 0 || c.MaxPollRecords > MaxPollRecords:
		return errField(o, c.Name, "max_poll_records", "must be in [1, %d], got %d", MaxPollRecords, c.MaxPollRecords)
	case c.Commit >= numCommitModes:
		return errField(o, c.Name, "commit", "unknown mode %d", c.Commit)
	case c.AutoCommitInterval < 0 || c.AutoCommitInterval > MaxSpan:
		return errField(o, c.Name, "auto_commit_interval", "must be in (0, %v], got %v", MaxSpan, c.AutoCommitInterval)
	case c.SessionTimeout < 0 || c.SessionTimeout > MaxSpan:
		return errField(o, c.Name, "session_timeout", "must be in (0, %v], got %v", MaxSpan, c.SessionTimeout)
	case c.HeartbeatInterval < 0 || f.HeartbeatInterval >= f.SessionTimeout:
		// Kafka requires heartbeat.interval.ms < session.timeout.ms.
		return errField(o, c.Name, "heartbeat_interval", "must be in (0, session_timeout=%v), got %v", f.SessionTimeout, f.HeartbeatInterval)
	case c.SyncDelay < 0 || c.SyncDelay > MaxSpan:
		return errField(o, c.Name, "sync_delay", "must be in [0, %v], got %v", MaxSpan, c.SyncDelay)
	}
	return c.Dedup.validate(o, c.Name)
}

// FailureAction is what a queue consumer does with a message it failed to
// process.
type FailureAction uint8

// The failure actions.
const (
	// NackRequeue returns it to the queue for immediate redelivery
	// (RabbitMQ basic.nack requeue=true; JetStream -NAK).
	NackRequeue FailureAction = iota
	// NackDiscard rejects it without requeue: dead-lettered if the queue
	// has a dead-letter queue, else dropped (RabbitMQ requeue=false).
	NackDiscard
	// Abandon does nothing: it is redelivered when its visibility timeout
	// expires (SQS).
	Abandon
	numFailureActions
)

var failureNames = [numFailureActions]string{"nack_requeue", "nack_discard", "abandon"}

func (a FailureAction) String() string {
	if a < numFailureActions {
		return failureNames[a]
	}
	return fmt.Sprintf("FailureAction(%d)", uint8(a))
}

// QueueConfig describes a queue with competing consumers (SQS or
// RabbitMQ-like).
type QueueConfig struct {
	Name string
	// Capacity bounds the ready messages (RabbitMQ x-max-length counts
	// ready messages only, not unacknowledged ones); 0 means no bound
	// (SQS). Overflow defaults to drop_head (RabbitMQ); a message dropped
	// from the head is dead-lettered when DeadLetter is set, as RabbitMQ
	// does with a dead-letter exchange.
	Capacity int
	Overflow Overflow
	// VisibilityTimeout defaults to 30 s (SQS). A delivery not acked within
	// it becomes visible again and is redelivered.
	VisibilityTimeout time.Duration
	// MaxDeliveries, when > 0, is the SQS maxReceiveCount: a message
	// delivered that many times that needs another delivery goes to the
	// dead-letter queue (or is dropped without one). 0 means unlimited
	// (SQS without a redrive policy, JetStream MaxDeliver -1).
	MaxDeliveries int
	// DeadLetter says whether the queue has a dead-letter queue.
	DeadLetter bool
	// ReplicationDelay, if set, delays a message's visibility and an
	// acks=all publisher's confirmation (a quorum queue commits through
	// Raft first). Drawn from the stream "<queue>"/"replication".
	ReplicationDelay dist.Dist
	// MessageTTL, if set, is RabbitMQ's x-message-ttl: a message that
	// reaches the head of the queue older than it expires, dead-lettered
	// (reason expired) when DeadLetter is set, else dropped (DropTTL).
	// RabbitMQ expires messages only at the head; so does this model, at
	// the head's expiry instant and whenever a message is about to be
	// delivered. 0 means no TTL, RabbitMQ's default.
	MessageTTL time.Duration
	// Retention defaults to 4 days, SQS MessageRetentionPeriod (60 s to
	// 14 days): a message older than it is deleted (DropRetention), never
	// dead-lettered. SQS deletes it wherever it is; here, as for the TTL,
	// at the head of the ready messages and before a delivery, so an
	// in-flight message is deleted when it would become visible again.
	Retention time.Duration
	// RetryMinBackoff and RetryMaxBackoff, if set, delay a redelivery
	// after a nack or an expired deadline: the n-th failed delivery waits
	// min(RetryMaxBackoff, RetryMinBackoff * 2^(n-1)) before the message
	// is ready again (Pub/Sub RetryPolicy; the docs give the bounds, not
	// the growth, so doubling is assumed). Zero: immediate redelivery.
	RetryMinBackoff time.Duration
	RetryMaxBackoff time.Duration
}

// Queue defaults.
const (
	DefaultVisibilityTimeout = 30 * time.Second   // SQS
	DefaultQueueRetention    = 4 * 24 * time.Hour // SQS MessageRetentionPeriod
)

func (c QueueConfig) withDefaults() QueueConfig {
	if c.Overflow == OverflowDefault {
		c.Overflow = OverflowDropHead
	}
	c.VisibilityTimeout = orDur(c.VisibilityTimeout, DefaultVisibilityTimeout)
	c.Retention = orDur(c.Retention, DefaultQueueRetention)
	if c.RetryMinBackoff > 0 && c.RetryMaxBackoff == 0 {
		c.RetryMaxBackoff = max(c.RetryMinBackoff, DefaultMaximumBackoff)
	}
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c QueueConfig) Validate() error {
	const o = "queue"
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: queue without a name", ErrConfig)
	case c.Capacity < 0 || c.Capacity > MaxCapacity:
		return errField(o, c.Name, "capacity", "must be in [0, %d], got %d", MaxCapacity, c.Capacity)
	case c.Overflow >= numOverflows:
		return errField(o, c.Name, "overflow", "unknown policy %d", c.Overflow)
	case c.VisibilityTimeout < 0 || c.VisibilityTimeout > 12*time.Hour:
		// SQS allows 0 to 12 hours.
		return errField(o, c.Name, "visibility_timeout", "must be in (0, 12h], got %v", c.VisibilityTimeout)
	case c.MaxDeliveries < 0 || c.MaxDeliveries > 1000:
		// SQS maxReceiveCount is 1 to 1000.
		return errField(o, c.Name, "max_deliveries", "must be in [0, 1000], got %d", c.MaxDeliveries)
	case c.MessageTTL < 0 || c.MessageTTL > MaxSpan:
		return errField(o, c.Name, "message_ttl", "must be in [0, %v], got %v", MaxSpan, c.MessageTTL)
	case c.Retention < 0 || c.Retention > MaxSpan:
		return errField(o, c.Name, "retention", "must be in (0, %v], got %v", MaxSpan, c.Retention)
	case c.RetryMinBackoff < 0 || c.RetryMinBackoff > MaxSpan:
		return errField(o, c.Name, "retry_min_backoff", "must be in [0, %v], got %v", MaxSpan, c.RetryMinBackoff)
	case c.RetryMaxBackoff < 0 || c.RetryMaxBackoff > MaxSpan || (c.RetryMaxBackoff > 0 && c.RetryMaxBackoff < c.RetryMinBackoff):
		return errField(o, c.Name, "retry_max_backoff", "must be in [retry_min_backoff, %v], got %v", MaxSpan, c.RetryMaxBackoff)
	}
	return nil
}

// QueueConsumerConfig describes the competing consumers of a queue.
type QueueConsumerConfig struct {
	Name      string
	Consumers int // each named "<name>[i]"; defaults to 1
	// Prefetch is the most unacked deliveries a consumer holds (RabbitMQ
	// basic.qos prefetch count, JetStream MaxAckPending per consumer).
	// 0 means unlimited, RabbitMQ's default: a consumer then takes every
	// ready message, and those it cannot start in time time out.
	Prefetch int
	// Concurrency is the messages a consumer processes at once; defaults
	// to 1. Deliveries beyond it wait in the consumer's buffer, their
	// visibility timeout running.
	Concurrency int
	// ProcessingTime is drawn per processing from the stream
	// "<name>[i]"/"processing".
	ProcessingTime dist.Dist
	// Calls, when set, makes each processing end with a call to a service
	// through the consumer's own caller (its sidecar:
	// QueueConsumers.SetCallers), after ProcessingTime if that is set too
	// (it may then be nil). A failed call fails the processing, which is
	// then nacked or abandoned (OnFailure).
	Calls bool
	// FailureProb is the probability a processing fails, drawn from the
	// stream "<name>[i]"/"failure"; Fails, if set, decides instead (a
	// poison message fails every time). A failed processing has no effect.
	FailureProb float64
	Fails       func(m *Message) bool
	OnFailure   FailureAction
	// Dedup makes the consumers idempotent (effectively once); the store
	// is shared by these consumers.
	Dedup DedupConfig
	// ReadModel, if set, is the read model the consumers project into
	// (see GroupConfig.ReadModel); it applies to the queue's ledger.
	ReadModel *mesh.ReadModel
	// AckOnDelivery acks each message as it is delivered, before it is
	// processed: RabbitMQ's automatic acknowledgement mode (basic.consume
	// with no-ack), Pub/Sub or SQS clients that ack or delete on receipt.
	// At most once: a message whose processing fails, or that the
	// consumer holds when it crashes, is lost (LossCommitted), never
	// redelivered; OnFailure does not apply. Prefetch still bounds what a
	// consumer holds (RabbitMQ ignores prefetch with automatic
	// acknowledgement and pushes as fast as the client takes; the bound
	// here is the client's buffer).
	AckOnDelivery bool
}

func (c QueueConsumerConfig) withDefaults() QueueConsumerConfig {
	c.Consumers = orInt(c.Consumers, 1)
	c.Concurrency = orInt(c.Concurrency, 1)
	c.Dedup = c.Dedup.withDefaults()
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c QueueConsumerConfig) Validate() error {
	const o = "queue consumer"
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: queue consumer without a name", ErrConfig)
	case c.Consumers < 0 || c.Consumers > MaxConsumers:
		return errField(o, c.Name, "consumers", "must be in [1, %d], got %d", MaxConsumers, c.Consumers)
	case c.Prefetch < 0 || c.Prefetch > MaxCapacity:
		return errField(o, c.Name, "prefetch", "must be in [0, %d], got %d", MaxCapacity, c.Prefetch)
	case c.Concurrency < 0 || c.Concurrency > MaxConsumers:
		return errField(o, c.Name, "concurrency", "must be in [1, %d], got %d", MaxConsumers, c.Concurrency)
	case c.ProcessingTime == nil && !c.Calls:
		return errField(o, c.Name, "processing_time", "is required without a call")
	case !(c.FailureProb >= 0 && c.FailureProb <= 1):
		return errField(o, c.Name, "failure_prob", "must be in [0, 1], got %g", c.FailureProb)
	case c.OnFailure >= numFailureActions:
		return errField(o, c.Name, "on_failure", "unknown action %d", c.OnFailure)
	}
	return c.Dedup.validate(o, c.Name)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
