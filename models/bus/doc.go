// Package bus models event buses: log topics with partitions and consumer
// groups (Kafka-like) and queues with competing consumers (SQS and
// RabbitMQ-like), with the real systems' delivery semantics and defaults
// (../shared/reference/policies.md part B; each default names its source
// where it is declared).
//
// A scenario builder constructs everything from plain config structs, each
// with a Validate method whose errors wrap ErrConfig and name the field:
//
//	pool := &bus.Pool{}
//	topic, err := bus.NewTopic(s, streams, pool, bus.TopicConfig{Name: "orders", Partitions: 12})
//	prod, err := bus.NewProducer(s, streams, pool, topic, bus.ProducerConfig{Name: "checkout", Keys: bus.KeyRequest})
//	group, err := bus.NewGroup(s, streams, topic, bus.GroupConfig{Name: "fulfilment", Consumers: 4, ProcessingTime: d})
//	group.Start()
//	// a workload.Open with Target: prod publishes one message per request
//	...
//	c := topic.Ledger().Counts() // published, by state, duplicates, reordered
//
// Failures, lifetime, fan-out, batching, producer memory and effectively-once:
//
//	cluster, err := bus.NewCluster(s, streams, bus.ClusterConfig{Name: "kafka", Brokers: 3}) // election 7-9 s (KRaft)
//	topic, err := cluster.NewTopic(pool, bus.TopicConfig{Name: "orders", Partitions: 12, ReplicationFactor: 3,
//		MinInsyncReplicas: 2, ReplicationDelay: d, Retention: time.Hour})
//	cluster.Broker(1).Down() // a failure timeline calls Down and Up at its instants
//	cluster.Broker(1).Up()
//	prod, err := bus.NewProducer(s, streams, pool, topic, bus.ProducerConfig{Name: "checkout",
//		Linger: 5 * time.Millisecond, MessageBytes: 512, ResponseTime: rtt,
//		BufferMemory: 4 << 20}) // buffer.memory: a publish finding it full blocks up to MaxBlock
//	audit, err := bus.NewGroup(s, streams, topic, bus.GroupConfig{Name: "audit", ProcessingTime: d,
//		Dedup: bus.DedupConfig{Enabled: true}}) // a second group: its own offsets and Ledger
//	events, err := bus.NewFanOut(s, streams, pool, "events") // Pub/Sub or SNS
//	sub, err := events.Subscribe(bus.SubscriptionConfig{Name: "search", RetryPolicy: true, DeadLetter: true})
//	workers, err := bus.NewQueueConsumers(s, streams, sub, bus.QueueConsumerConfig{Name: "search", ProcessingTime: d})
//	q, err := bus.NewQueue(s, streams, pool, bus.QueueConfig{Name: "jobs", MessageTTL: time.Minute, DeadLetter: true})
//
// Accounting: every published message is tracked by the Ledger of each
// subscription of its destination (a group of a topic, a subscription of
// a fan-out topic, a queue) from publish to exactly one State there
// (consumed once, duplicated, dead-lettered, dropped by a policy and
// DropReason, lost and LossReason, or still pending),
// and Counts.Check and Ledger.CheckHeld verify that the counts are
// conserved. The ledger keeps counters, not per-message records, so its
// memory does not grow with the messages simulated.
//
// Every model object (Cluster, Partition, Producer and its per-partition
// lanes, Group, Member, Queue, QueueConsumer) is a sim.Handler with its own event kinds; messages are
// pooled, so steady-state operation allocates nothing per message; every
// random draw comes from a stream named after the component and the
// purpose (for example "fulfilment[2]"/"processing"). Ties are broken by
// the scheduler's sequence numbers, never by map order.
//
// # Experimental
//
// Not modelled yet: unclean leader election (off by default in Kafka, so
// a partition whose in-sync replicas are all down waits for one),
// preferred-leader rebalancing, a returning broker's catch-up time, the
// failed leader keeping its unreplicated suffix when it alone returns,
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, retry.backoff.ms after a failover (it
// applies to errors, ProducerConfig.ErrorProb), a request lost on the
// network and timed out (request.timeout.ms), Kafka
// transactions (read_committed), segment-granular retention, SNS delivery
// retry policies, Pub/Sub ordering keys and exactly-once delivery,
// max.poll.interval.ms and static membership.
//
// Bridges to the mesh: a consumer's processing can end with a call
// through its own sidecar (GroupConfig.Calls, QueueConsumerConfig.Calls,
// SetCallers), and a message published for a traced request holds the
// request's mesh.Trace at each subscription until its first processing
// there (or another end), so that one trace spans both halves; a reader
// with a ReadModel records read-your-write staleness (mesh.Tracer).
package bus
