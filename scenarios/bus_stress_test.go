package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// busStress are scenarios that mix every bus feature with failures: each
// must run without a conservation error or a panic for several seeds, and
// give the same results on one worker and on two.
var busStress = map[string]string{
	"log": `version: 1
duration: 90s
replications: 2
workloads:
  - {name: clicks, arrival: {rate: 300/s}, publish: orders}
  - {name: web, arrival: {rate: 50/s}, target: checkout}
services:
  - {name: checkout, replicas: 2, service_time: {dist: exponential, mean: 2ms}, calls: [{publish: orders}]}
  - {name: stock, replicas: 2, service_time: {dist: exponential, mean: 3ms}, errors: {probability: 0.2}}
bus:
  brokers: 3
  election_delay: {dist: uniform, min: 1s, max: 2s}
  topics:
    - {name: orders, partitions: 6, replication_factor: 3, min_insync_replicas: 2, capacity: 3000, overflow: drop_head,
       retention: 20s, retention_bytes: 400000,
       replication_delay: {dist: exponential, mean: 2ms},
       producer: {acks: all, keys: zipf, key_space: 50, key_skew: 1, linger: 2ms, batch_bytes: 4096, message_bytes: 512,
                  response_time: {dist: exponential, mean: 3ms}, error_probability: 0.05, retry_backoff: 20ms, max_in_flight: 5,
                  delivery_timeout: 5s, buffer_memory: 200000, max_block: 2s}}
  consumer_groups:
    - {name: a, topic: orders, consumers: 3, strategy: range, max_poll_records: 40, session_timeout: 3s, heartbeat_interval: 500ms,
       sync_delay: 50ms, processing_time: {dist: exponential, mean: 3ms}, commit: auto, auto_commit_interval: 1s}
    - {name: b, topic: orders, consumers: 3, strategy: cooperative_sticky, max_poll_records: 20, session_timeout: 2s, heartbeat_interval: 400ms,
       sync_delay: 20ms, processing_time: {dist: exponential, mean: 2ms}, delivery: at_most_once}
    - {name: c, topic: orders, consumers: 2, strategy: round_robin, max_poll_records: 30, session_timeout: 2s, heartbeat_interval: 300ms,
       call: stock, max_attempts: 3, retry_backoff: 5ms, dead_letter: true, delivery: effectively_once}
failures:
  - {at: 5s, for: 3s, every: 11s, kind: consumer_crash, target: "a[1]"}
  - {at: 7s, for: 1s, every: 5s, kind: consumer_crash, target: "b"}
  - {at: 3s, for: 500ms, every: 4s, kind: consumer_crash, target: "c[0]"}
  - {at: 10s, for: 4s, every: 20s, kind: broker_down, target: "broker[0]"}
random_failures:
  - {kind: broker_down, target: "broker[1]", mtbf: {dist: exponential, mean: 15s}, mttr: {dist: exponential, mean: 3s}}
  - {kind: broker_down, target: "broker[2]", mtbf: {dist: exponential, mean: 25s}, mttr: {dist: exponential, mean: 2s}}
variants:
  - {name: base}
  - {name: noidem, set: {bus.topics.orders.producer.idempotence: false}}
  - {name: acks1, set: {bus.topics.orders.producer.acks: "1", bus.topics.orders.producer.error_probability: 0.1}}
  - {name: acks0, set: {bus.topics.orders.producer.acks: "0", bus.topics.orders.producer.error_probability: 0}}
  - {name: block, set: {bus.topics.orders.overflow: block, bus.topics.orders.capacity: 500}}
`,
	"queues": `version: 1
duration: 90s
replications: 2
workloads:
  - {name: jobs, arrival: {rate: 200/s}, publish: tasks}
  - {name: ev, arrival: {rate: 100/s}, publish: events}
services:
  - {name: mail, replicas: 2, service_time: {dist: exponential, mean: 2ms}, errors: {probability: 0.1}}
bus:
  queues:
    - {name: tasks, visibility_timeout: 300ms, max_deliveries: 4, dead_letter: true, ttl: 5s, retention: 8s, capacity: 2000,
       replication_delay: {dist: exponential, mean: 5ms}, retry_min_backoff: 10ms, retry_max_backoff: 200ms,
       producer: {acks: all, response_time: {dist: constant, value: 1ms}}}
  pubsub:
    - {name: events, subscriptions: [{name: s1, dead_letter: true, retry_policy: true, minimum_backoff: 100ms, maximum_backoff: 1s},
                                     {name: s2}, {name: s3, dead_letter: true, max_delivery_attempts: 5}]}
  queue_consumers:
    - {name: w1, queue: tasks, consumers: 3, prefetch: 10, concurrency: 3, processing_time: {dist: exponential, mean: 40ms},
       poison: 0.05, failure_probability: 0.1, on_failure: nack_requeue}
    - {name: w2, queue: tasks, consumers: 2, prefetch: 0, concurrency: 2, processing_time: {dist: exponential, mean: 30ms},
       failure_probability: 0.2, on_failure: abandon, delivery: effectively_once}
    - {name: x1, queue: s1, consumers: 2, prefetch: 5, concurrency: 2, call: mail, poison: 0.02, on_failure: nack_discard}
    - {name: x2, queue: s2, consumers: 2, processing_time: {dist: exponential, mean: 5ms}, delivery: at_most_once, failure_probability: 0.1}
    - {name: x3, queue: s3, consumers: 2, prefetch: 3, processing_time: {dist: exponential, mean: 8ms}, poison: 0.1, on_failure: abandon}
failures:
  - {at: 5s, for: 2s, every: 9s, kind: consumer_crash, target: "w1[0]"}
  - {at: 6s, for: 1s, every: 7s, kind: consumer_crash, target: "w2"}
  - {at: 4s, for: 1s, every: 6s, kind: consumer_crash, target: "x1[1]"}
  - {at: 4s, for: 1s, every: 5s, kind: consumer_crash, target: "x2"}
  - {at: 4s, for: 3s, every: 8s, kind: consumer_crash, target: "x3[0]"}
variants:
  - {name: base}
  - {name: reject, set: {bus.queues.tasks.overflow: reject, bus.queues.tasks.capacity: 100}}
  - {name: block, set: {bus.queues.tasks.overflow: block, bus.queues.tasks.capacity: 100}}
  - {name: drophead, set: {bus.queues.tasks.overflow: drop_head, bus.queues.tasks.capacity: 100}}
`,
	"mixed": `version: 1
duration: 60s
warmup: 5s
replications: 2
workloads:
  - {name: commands, arrival: {rate: 150/s}, target: api}
  - {name: raw, arrival: {rate: 100/s}, publish: events}
services:
  - {name: api, replicas: 2, service_time: {dist: exponential, mean: 3ms}, calls: [{publish: orders}, {publish: events}]}
  - {name: invoicing, replicas: 2, service_time: {dist: exponential, mean: 2ms}, errors: {probability: 0.05, status: 503}, calls: [{publish: invoices}]}
  - {name: search, replicas: 1, service_time: {dist: exponential, mean: 1ms}, errors: {probability: 0.1}}
bus:
  brokers: 2
  election_delay: {dist: constant, value: 500ms}
  topics:
    - {name: orders, partitions: 4, replication_factor: 2, replication_delay: {dist: exponential, mean: 1ms},
       retention: 3s, producer: {acks: "1", keys: request, response_time: {dist: constant, value: 1ms}, idempotence: false}}
    - {name: invoices, partitions: 2, producer: {acks: all, linger: 5ms}}
  pubsub:
    - {name: events, subscriptions: [{name: idx, dead_letter: true, retry_policy: true, minimum_backoff: 10ms, maximum_backoff: 100ms, ack_deadline: 10s},
                                     {name: audit, retention: 2s}]}
  consumer_groups:
    - {name: billing, topic: orders, consumers: 3, strategy: cooperative_sticky, session_timeout: 1s, heartbeat_interval: 200ms,
       processing_time: {dist: exponential, mean: 1ms}, call: invoicing, max_attempts: 2, dead_letter: false, read_model: orders-view}
    - {name: ship, topic: orders, consumers: 2, session_timeout: 1s, heartbeat_interval: 200ms, max_poll_records: 5,
       processing_time: {dist: exponential, mean: 30ms}, delivery: at_most_once}
    - {name: projector, topic: invoices, consumers: 2, processing_time: {dist: constant, value: 2ms}, read_model: invoice-view, delivery: effectively_once}
  queue_consumers:
    - {name: indexers, queue: idx, consumers: 3, prefetch: 2, concurrency: 2, call: search, on_failure: nack_requeue, read_model: idx-view}
    - {name: auditors, queue: audit, consumers: 1, processing_time: {dist: exponential, mean: 20ms}, on_failure: abandon}
failures:
  - {at: 3s, for: 1s, every: 4s, kind: consumer_crash, target: "billing[0]"}
  - {at: 4s, for: 2s, every: 7s, kind: consumer_crash, target: "ship"}
  - {at: 2s, for: 300ms, every: 3s, kind: consumer_crash, target: "projector[1]"}
  - {at: 2s, for: 1s, every: 3s, kind: consumer_crash, target: "indexers[2]"}
  - {at: 5s, for: 5s, every: 20s, kind: consumer_crash, target: "auditors"}
  - {at: 8s, for: 2s, every: 9s, kind: broker_down, target: "broker[1]"}
  - {at: 10s, for: 5s, kind: errors, target: search, probability: 0.9}
random_failures:
  - {kind: broker_down, target: "broker[0]", mtbf: {dist: exponential, mean: 10s}, mttr: {dist: exponential, mean: 1s}}
`,
}

// busStressSeeds is how many seeds TestBusStress runs (10 passed when
// it was written; 2 keep the suite quick).
var busStressSeeds = uint64(2)

func TestBusStress(t *testing.T) {
	for _, name := range []string{"log", "queues", "mixed"} {
		t.Run(name, func(t *testing.T) {
			doc, err := Parse(name+".yaml", []byte(busStress[name]))
			require.NoError(t, err)
			for seed := uint64(1); seed <= busStressSeeds; seed++ {
				var sums []string
				for _, workers := range []int{1, 2} {
					s := seed
					exp, err := Run(context.Background(), doc, Options{Seed: &s, Workers: workers})
					require.NoError(t, err, "seed %d workers %d", seed, workers)
					b, err := json.Marshal(exp)
					require.NoError(t, err)
					sums = append(sums, fmt.Sprintf("%x", b))
				}
				require.Equal(t, sums[0], sums[1], "seed %d: 1 and 2 workers differ", seed)
			}
		})
	}
}
