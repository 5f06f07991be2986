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
// Accounting: every published message is tracked by the Ledger of its
// topic or queue from publish to exactly one State (consumed once,
// duplicated, dead-lettered, dropped by a policy, lost, or still pending),
// and Counts.Check and Ledger.CheckHeld verify that the counts are
// conserved. The ledger keeps counters, not per-message records, so its
// memory does not grow with the messages simulated.
//
// Every model object (Partition, Producer, Group, Member, Queue,
// QueueConsumer) is a sim.Handler with its own event kinds; messages are
// pooled, so steady-state operation allocates nothing per message; every
// random draw comes from a stream named after the component and the
// purpose (for example "fulfilment[2]"/"processing"). Ties are broken by
// the scheduler's sequence numbers, never by map order.
//
// # Experimental
//
// Not modelled yet: broker failover and leader election (and the acks=1
// losses they cause), retention and TTL, fan-out to several groups or
// subscriptions, producer linger and batching, idempotent producer
// retries, max.poll.interval.ms, static membership and CQRS read models.
package bus
