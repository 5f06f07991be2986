package scenarios

// Bus is the event bus of a scenario: a cluster of brokers holding log
// topics read by consumer groups (Kafka-like), queues read by competing
// consumers (SQS and RabbitMQ-like), and pub/sub topics whose
// subscriptions are queues of their own (Pub/Sub or SNS-like). Workloads
// publish with `publish:` instead of `target:`, and a service's handler
// publishes with a call step `{publish: orders}`. Every field left out
// takes the real system's default (models/bus; policies.md part B).
//
//	bus:
//	  brokers: 3
//	  topics:
//	    - {name: orders, partitions: 12, replication_factor: 3, min_insync_replicas: 2,
//	       replication_delay: {dist: exponential, mean: 2ms}, producer: {acks: all, keys: uniform, key_space: 10000}}
//	  consumer_groups:
//	    - {name: fulfilment, topic: orders, consumers: 4, processing_time: {dist: exponential, mean: 5ms}}
//	  queues:
//	    - {name: emails, visibility_timeout: 30s, max_deliveries: 5, dead_letter: true}
//	  queue_consumers:
//	    - {name: mailers, queue: emails, consumers: 3, prefetch: 1, processing_time: {dist: exponential, mean: 20ms}}
//
// Names of topics, queues, pub/sub topics, subscriptions, consumer groups
// and queue consumers are unique among them and differ from the service
// names: they name the random streams and the failure targets.
type Bus struct {
	// Brokers is the number of brokers of the one cluster every topic
	// lives on; default 1. Failures of kind broker_down name them
	// "broker[0]" to "broker[n-1]".
	Brokers int `yaml:"brokers"`
	// ElectionDelay is the time from a broker's failure to its partitions'
	// new leaders, drawn per failure. Default uniform on [7s, 9s] (KRaft
	// broker.session.timeout.ms 9 s, heartbeats every 2 s).
	ElectionDelay *DistSpec        `yaml:"election_delay"`
	Topics        []Topic          `yaml:"topics"`
	Queues        []BusQueue       `yaml:"queues"`
	PubSub        []PubSub         `yaml:"pubsub"`
	Groups        []ConsumerGroup  `yaml:"consumer_groups"`
	Consumers     []QueueConsumers `yaml:"queue_consumers"`
}

// empty reports whether the scenario has no bus.
func (b *Bus) empty() bool {
	return len(b.Topics) == 0 && len(b.Queues) == 0 && len(b.PubSub) == 0 && len(b.Groups) == 0 && len(b.Consumers) == 0
}

// Topic is a log topic (Kafka-like): partitions, each with a leader and
// replicas on the cluster's brokers, read by consumer groups.
type Topic struct {
	Name string `yaml:"name"`
	// Partitions defaults to 1 (Kafka num.partitions).
	Partitions int `yaml:"partitions"`
	// ReplicationFactor defaults to 1, at most brokers. With more than one
	// replica a write is visible to consumers, and acknowledged to acks=all
	// producers, replication_delay (required then) after the append.
	ReplicationFactor int       `yaml:"replication_factor"`
	ReplicationDelay  *DistSpec `yaml:"replication_delay"`
	// MinInsyncReplicas defaults to 1: an acks=all write is refused (and
	// retried) while fewer replicas are in sync.
	MinInsyncReplicas int `yaml:"min_insync_replicas"`
	// Capacity bounds the messages a partition retains that the groups
	// have not committed; 0 (default) means no bound. Overflow is what a
	// full partition does: block (default: the producer waits up to its
	// max_block), reject, or drop_head.
	Capacity int    `yaml:"capacity"`
	Overflow string `yaml:"overflow"`
	// Retention defaults to 7 days (retention.ms): unconsumed messages
	// older than it are dropped. RetentionBytes bounds a partition's bytes;
	// 0 (default) means unlimited.
	Retention      Duration `yaml:"retention"`
	RetentionBytes int64    `yaml:"retention_bytes"`
	// Producer is how every publisher of this topic produces.
	Producer Producer `yaml:"producer"`
}

// Producer holds the settings of the producers of one destination: each
// workload that publishes to it and each service instance whose handler
// does has its own producer with these settings.
//
//	producer: {acks: 1, keys: zipf, key_space: 1000, key_skew: 1.2, linger: 5ms}
type Producer struct {
	// Acks is 0, 1 or all (default, Kafka >= 3.0).
	Acks string `yaml:"acks"`
	// Keys is how messages are keyed: none (default: null keys, sticky
	// partitioning), request (the request's own key: every message
	// distinct), uniform over key_space keys, or zipf over key_space keys
	// with exponent key_skew (hot keys: key 0 is the hottest).
	Keys     string  `yaml:"keys"`
	KeySpace int     `yaml:"key_space"`
	KeySkew  float64 `yaml:"key_skew"`
	// Linger defaults to 0 (Kafka 3.x linger.ms; 4.0 uses 5ms).
	Linger Duration `yaml:"linger"`
	// BatchBytes (default 16384) over MessageBytes (default 1024) is the
	// messages per batch.
	BatchBytes   int `yaml:"batch_bytes"`
	MessageBytes int `yaml:"message_bytes"`
	// MaxInFlight defaults to 5 (at most 5 with idempotence).
	MaxInFlight int `yaml:"max_in_flight"`
	// Idempotence defaults to true, as Kafka's enable.idempotence; it
	// applies with acks all only (KIP-679). Without it a retry after a
	// lost acknowledgement writes a duplicate record.
	Idempotence *bool `yaml:"idempotence"`
	// DeliveryTimeout defaults to 120s (delivery.timeout.ms); MaxBlock, the
	// wait for room in a full partition or in the producer's buffer
	// memory, to 60s (max.block.ms).
	DeliveryTimeout Duration `yaml:"delivery_timeout"`
	MaxBlock        Duration `yaml:"max_block"`
	// BufferMemory is the producer's memory for records not yet
	// acknowledged, in bytes; default 33554432, 32 MiB (buffer.memory).
	// Each record holds message_bytes of it from publish until it is
	// acknowledged or given up on (with acks 0, until it is sent). A
	// publish that finds it full waits, in publish order, up to max_block
	// and is then refused (block_timeout), as Kafka's send() blocks and
	// throws a TimeoutException. Kafka takes batch_bytes per batch, so
	// with small batches it fills sooner than here.
	BufferMemory int64 `yaml:"buffer_memory"`
	// ResponseTime, if set, is the network time of each acknowledgement.
	ResponseTime *DistSpec `yaml:"response_time"`
	// ErrorProbability is the chance that one produce request (a batch)
	// fails with a retriable error (NOT_ENOUGH_REPLICAS, NOT_LEADER, a
	// request timed out at the broker) and is not written; default 0. The
	// error comes back after response_time and the batch is resent after
	// retry_backoff. Without idempotence and with max_in_flight > 1 the
	// batches sent meanwhile are written first: per-key order breaks
	// (counted as reordered). With idempotence the broker refuses them
	// until the missing batch arrives, and order holds. Not with acks 0.
	ErrorProbability float64 `yaml:"error_probability"`
	// RetryBackoff is the wait before a failed batch's first retry;
	// default 100ms (retry.backoff.ms). It doubles at each retry up to
	// RetryBackoffMax, default 1s (retry.backoff.max.ms), with a jitter of
	// 20% either way (KIP-580).
	RetryBackoff    Duration `yaml:"retry_backoff"`
	RetryBackoffMax Duration `yaml:"retry_backoff_max"`
}

// BusQueue is a queue with competing consumers (SQS or RabbitMQ-like).
type BusQueue struct {
	Name string `yaml:"name"`
	// VisibilityTimeout defaults to 30s (SQS): a delivery not acked within
	// it is redelivered. At most 12h.
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
	// MaxDeliveries is the SQS maxReceiveCount: a message delivered that
	// many times that needs another goes to the dead-letter queue, or is
	// dropped without one. 0 (default) means unlimited.
	MaxDeliveries int  `yaml:"max_deliveries"`
	DeadLetter    bool `yaml:"dead_letter"`
	// TTL is RabbitMQ's x-message-ttl (default none): a message older than
	// it at the head of the queue expires, dead-lettered or dropped.
	TTL Duration `yaml:"ttl"`
	// Retention defaults to 4 days (SQS MessageRetentionPeriod).
	Retention Duration `yaml:"retention"`
	// Capacity bounds the ready messages; 0 (default) means no bound.
	// Overflow: drop_head (default, RabbitMQ), reject or block.
	Capacity int    `yaml:"capacity"`
	Overflow string `yaml:"overflow"`
	// ReplicationDelay, if set, delays a message's visibility and an
	// acks=all publisher's confirmation (a quorum queue's Raft commit).
	ReplicationDelay *DistSpec `yaml:"replication_delay"`
	// RetryMinBackoff and RetryMaxBackoff, if set, delay each redelivery
	// exponentially between them (Pub/Sub RetryPolicy); default immediate.
	RetryMinBackoff Duration `yaml:"retry_min_backoff"`
	RetryMaxBackoff Duration `yaml:"retry_max_backoff"`
	Producer        Producer `yaml:"producer"`
}

// PubSub is a pub/sub topic (Pub/Sub, or SNS in front of SQS queues):
// every message is copied into each subscription, a queue with its own
// consumers (queue_consumers naming the subscription), acks and ledger.
type PubSub struct {
	Name          string         `yaml:"name"`
	Subscriptions []Subscription `yaml:"subscriptions"`
	Producer      Producer       `yaml:"producer"`
}

// Subscription is one subscription of a pub/sub topic
// (google.pubsub.v1.Subscription).
type Subscription struct {
	Name string `yaml:"name"`
	// AckDeadline defaults to 10s (10s to 600s).
	AckDeadline Duration `yaml:"ack_deadline"`
	// RetryPolicy delays redeliveries exponentially between
	// minimum_backoff (default 10s) and maximum_backoff (default 600s).
	RetryPolicy    bool     `yaml:"retry_policy"`
	MinimumBackoff Duration `yaml:"minimum_backoff"`
	MaximumBackoff Duration `yaml:"maximum_backoff"`
	// DeadLetter attaches a dead-letter topic after max_delivery_attempts
	// (default 5, 5 to 100) deliveries.
	DeadLetter          bool `yaml:"dead_letter"`
	MaxDeliveryAttempts int  `yaml:"max_delivery_attempts"`
	// Retention defaults to 7 days.
	Retention Duration `yaml:"retention"`
}

// ConsumerGroup is a consumer group on a topic (Kafka's classic group
// protocol). Member i is named "<name>[i]": consumer_crash failures target
// it so.
type ConsumerGroup struct {
	Name  string `yaml:"name"`
	Topic string `yaml:"topic"`
	// Consumers defaults to 1.
	Consumers int `yaml:"consumers"`
	// Strategy is range (default, eager), round_robin (eager) or
	// cooperative_sticky (cooperative rebalancing, KIP-429).
	Strategy string `yaml:"strategy"`
	// ProcessingTime is drawn per message; required without call.
	ProcessingTime DistSpec `yaml:"processing_time"`
	// Call names a service that each processing calls, after
	// processing_time if that is set too, through the member's own
	// sidecar (the service's sidecar policy: retries, timeouts, load
	// balancing). A failed call fails the processing: Kafka has no
	// per-message ack, so the member retries the record in place (it
	// seeks back, blocking its partitions), then gives up on it, as Spring
	// Kafka's DefaultErrorHandler does.
	Call string `yaml:"call"`
	// MaxAttempts is the processings of a record whose call fails before
	// the member gives up on it; default 10, as Spring Kafka's
	// FixedBackOff(0, 9). Only with call.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBackoff is the wait before processing a failed record again;
	// default 0. Only with call.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// DeadLetter publishes a record given up on to a dead-letter topic
	// (Spring Kafka's DeadLetterPublishingRecoverer): dead-lettered in the
	// ledger. Without it the record is skipped: dropped (delivery_limit).
	// Only with call.
	DeadLetter bool `yaml:"dead_letter"`
	// MaxPollRecords defaults to 500.
	MaxPollRecords int `yaml:"max_poll_records"`
	// Commit is auto (default: every auto_commit_interval, 5s),
	// after_processing (after each batch: at least once) or
	// before_processing (at most once).
	Commit string `yaml:"commit"`
	// Delivery is a shorthand for the delivery contract, instead of
	// commit: at_most_once (commit before processing), at_least_once
	// (commit after processing) or effectively_once (commit after
	// processing, plus dedup with a 2m window unless dedup sets one), as
	// Kafka's documentation describes the choices.
	Delivery           string   `yaml:"delivery"`
	AutoCommitInterval Duration `yaml:"auto_commit_interval"`
	// SessionTimeout defaults to 45s: a crashed member is noticed that
	// long after its last heartbeat, sent every heartbeat_interval (3s).
	SessionTimeout    Duration `yaml:"session_timeout"`
	HeartbeatInterval Duration `yaml:"heartbeat_interval"`
	// SyncDelay is the JoinGroup/SyncGroup round trip; default 0.
	SyncDelay Duration `yaml:"sync_delay"`
	// Dedup, when present, makes the consumer idempotent (effectively
	// once): a message processed again within window (default 2m) has no
	// effect.
	Dedup *Dedup `yaml:"dedup"`
	// ReadModel names the read model this group's processing updates
	// (CQRS: the group is its projector). The report then gives the
	// read-your-write staleness: the time from a command's
	// acknowledgement (a workload's request answered ok) to the first
	// processing here of the event its trace published, 0 when that came
	// first; at most 8 read models.
	ReadModel string `yaml:"read_model"`
}

// Dedup is an idempotent consumer's dedup store.
type Dedup struct {
	Window Duration `yaml:"window"`
}

// QueueConsumers are the competing consumers of a queue or of a pub/sub
// subscription. Consumer i is named "<name>[i]".
type QueueConsumers struct {
	Name string `yaml:"name"`
	// Queue names a queue or a subscription.
	Queue string `yaml:"queue"`
	// Consumers defaults to 1.
	Consumers int `yaml:"consumers"`
	// Prefetch is the most unacked deliveries a consumer holds; 0 (the
	// default, RabbitMQ's) means unlimited: a consumer then takes every
	// ready message. Concurrency (default 1) is how many it processes at
	// once.
	Prefetch    int `yaml:"prefetch"`
	Concurrency int `yaml:"concurrency"`
	// ProcessingTime is drawn per processing; required without call.
	ProcessingTime DistSpec `yaml:"processing_time"`
	// Call names a service that each processing calls, after
	// processing_time if that is set too, through the consumer's own
	// sidecar (the service's sidecar policy). A failed call fails the
	// processing, which on_failure then handles.
	Call string `yaml:"call"`
	// FailureProbability is the chance that one processing fails (a
	// transient error). Poison is the share of messages that fail every
	// processing (chosen by their id, the same messages in every variant).
	FailureProbability float64 `yaml:"failure_probability"`
	Poison             float64 `yaml:"poison"`
	// OnFailure is what a consumer does with a failed message:
	// nack_requeue (default: redelivered at once), nack_discard
	// (dead-lettered or dropped) or abandon (redelivered after the
	// visibility timeout, as SQS).
	OnFailure string `yaml:"on_failure"`
	Dedup     *Dedup `yaml:"dedup"`
	// Delivery is a shorthand for the delivery contract: at_most_once
	// (ack on delivery, before processing: RabbitMQ automatic
	// acknowledgement; a failure or crash loses the message),
	// at_least_once (ack after processing, the default) or
	// effectively_once (at least once plus dedup, 2m unless dedup sets a
	// window).
	Delivery string `yaml:"delivery"`
	// ReadModel names the read model these consumers' processing updates
	// (see consumer_groups); one per queue or subscription.
	ReadModel string `yaml:"read_model"`
}
