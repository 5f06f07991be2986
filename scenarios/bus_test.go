package scenarios

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busYAML is a small valid scenario with a bus: a publishing workload, a
// service whose handler publishes, a topic with a group, a queue with
// consumers, and a pub/sub topic.
const busYAML = `version: 1
duration: 1m
workloads:
  - {name: clicks, arrival: {rate: 100/s}, publish: orders}
  - {name: web, arrival: {rate: 50/s}, target: checkout}
services:
  - {name: checkout, service_time: {dist: exponential, mean: 5ms}, calls: [{publish: orders}, {parallel: [{publish: jobs}, {publish: events}]}]}
bus:
  brokers: 3
  topics:
    - {name: orders, partitions: 6, replication_factor: 3, replication_delay: {dist: constant, value: 1ms}, producer: {acks: 1, keys: zipf, key_space: 100, key_skew: 1}}
  queues:
    - {name: jobs, visibility_timeout: 5s, max_deliveries: 3, dead_letter: true}
  pubsub:
    - {name: events, subscriptions: [{name: search}, {name: audit, dead_letter: true}]}
  consumer_groups:
    - {name: fulfilment, topic: orders, consumers: 3, strategy: cooperative_sticky, processing_time: {dist: exponential, mean: 2ms}}
  queue_consumers:
    - {name: workers, queue: jobs, consumers: 2, prefetch: 1, processing_time: {dist: constant, value: 3ms}, poison: 0.01}
    - {name: indexers, queue: search, processing_time: {dist: constant, value: 1ms}}
failures:
  - {at: 10s, for: 5s, kind: broker_down, target: "broker[2]"}
  - {at: 5s, for: 2s, every: 10s, kind: consumer_crash, target: "fulfilment[1]"}
  - {at: 20s, kind: consumer_crash, target: workers}
`

func TestBusScenarioParses(t *testing.T) {
	doc, err := Parse("bus.yaml", []byte(busYAML))
	require.NoError(t, err)
	b := doc.Scenario.Bus
	assert.Equal(t, 3, b.Brokers)
	assert.Equal(t, "zipf", b.Topics[0].Producer.Keys)
	assert.Equal(t, "orders", doc.Scenario.Workloads[0].Publish)
	assert.Equal(t, "jobs", doc.Scenario.Services[0].Calls[1].Parallel[0].Publish)
	w, err := build(doc.Scenario, 1, 0)
	require.NoError(t, err)
	// Readers in scenario order: the group, the queue, the subscriptions.
	var names []string
	for _, r := range w.bus.readers {
		names = append(names, r.kind+":"+r.name)
	}
	assert.Equal(t, []string{"group:fulfilment", "queue:jobs", "subscription:search", "subscription:audit"}, names)
	// One producer per workload and per instance and destination.
	var prods []string
	for _, p := range w.bus.prods {
		for _, pr := range p.ps {
			prods = append(prods, pr.Name())
		}
	}
	assert.Equal(t, []string{"checkout[0]->orders", "checkout[0]->jobs", "checkout[0]->events", "clicks->orders"}, prods)
	// every: 10s from 5s in a 1m run: 6 crashes of fulfilment[1].
	assert.Len(t, w.failures.Intervals(), 0)
	require.NoError(t, w.run(nil))
	crashes := 0
	for _, iv := range w.failures.Intervals() {
		if iv.Target == "fulfilment[1]" {
			crashes++
		}
	}
	assert.Equal(t, 6, crashes)
	rep, err := w.collect(0, "test")
	require.NoError(t, err)
	require.NotNil(t, rep.Bus)
	for _, r := range rep.Bus.Readers {
		assert.Equal(t, r.Ledger.Published, r.Ledger.Terminal(), r.Name)
		assert.Positive(t, r.Ledger.Published, r.Name)
		assert.Len(t, r.LagTimeline, chunks, r.Name)
		require.Len(t, r.PartitionLagTimeline, len(r.PartitionLag), r.Name)
		for k := range r.LagTimeline {
			var sum int64
			for _, series := range r.PartitionLagTimeline {
				sum += series[k]
			}
			assert.Equal(t, r.LagTimeline[k], sum, "%s: slice %d is the sum of the partitions' lags", r.Name, k)
		}
	}
	assert.Len(t, rep.Bus.Readers[0].PartitionLag, 6)
	assert.Positive(t, rep.Bus.Readers[1].Ledger.DeadLettered, "1% poison, 3 deliveries, then the DLQ")
}

func TestBusErrors(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"unknown field with suggestion", "max_deliveries: 3,", "max_delivery: 3,",
			`bus.yaml:13:44: bus.queues[0].max_delivery: unknown field "max_delivery"; did you mean "max_deliveries"?`},
		{"publish to an unknown topic", "publish: orders}\n  - {name: web", "publish: order}\n  - {name: web",
			`bus.yaml:4:53: workloads[0].publish: no topic, queue or pub/sub topic named "order"; did you mean "orders"?`},
		{"target and publish", "publish: orders}\n  - {name: web", "publish: orders, target: checkout}\n  - {name: web",
			`bus.yaml:4:44: workloads[0].publish: a workload sends to a service or publishes to the bus, not both; use either target: or publish:`},
		{"acks", "acks: 1,", "acks: 2,", `bus.yaml:11:126: bus.topics[0].producer.acks: unknown value "2"; one of: 0, 1, all`},
		{"strategy typo", "cooperative_sticky", "cooperative-sticky",
			`bus.yaml:17:65: bus.consumer_groups[0].strategy: unknown value "cooperative-sticky"; did you mean "cooperative_sticky"?`},
		{"model validation at the field", "replication_factor: 3,", "replication_factor: 4,",
			`bus.yaml:11:57: bus.topics[0].replication_factor: replication_factor must be in [1, brokers=3], got 4`},
		{"group on an unknown topic", "topic: orders,", "topic: jobs,",
			`bus.yaml:17:33: bus.consumer_groups[0].topic: no topic named "jobs"; topics: orders`},
		{"queue consumers of a topic", "queue: jobs,", "queue: orders,",
			`bus.yaml:19:30: bus.queue_consumers[0].queue: no queue or subscription named "orders"; queues and subscriptions: audit, jobs, search`},
		{"name taken by a service", "{name: audit,", "{name: checkout,",
			`bus.yaml:15:61: bus.pubsub[0].subscriptions[1].name: name "checkout" is already a service; bus names share one namespace with services`},
		{"broker out of range", `"broker[2]"`, `"broker[3]"`,
			`bus.yaml:22:51: failures[0].target: no broker 3; bus.brokers is 3: brokers 0 to 2`},
		{"consumer out of range", `"fulfilment[1]"`, `"fulfilment[3]"`,
			`bus.yaml:23:65: failures[1].target: no consumer fulfilment[3]; fulfilment has consumers 0 to 2`},
		{"crash of a service", "target: workers}", "target: checkout}",
			`bus.yaml:24:45: failures[2].target: no consumer group or queue consumers named "checkout"; consumer groups and queue consumers: fulfilment, indexers, workers`},
		{"every shorter than for", "every: 10s", "every: 1s",
			`bus.yaml:23:30: failures[1].every: every 1s must be longer than for 2s; a failure must end before it repeats`},
		{"zipf needs a skew", "key_skew: 1}", "key_skew: 0}",
			`bus.yaml:11:167: bus.topics[0].producer.key_skew: key_skew must be in (0, 10] with zipf keys, got 0`},
		{"idempotence with acks 1", "key_skew: 1}", "key_skew: 1, idempotence: true}",
			`bus.yaml:11:183: bus.topics[0].producer.idempotence: idempotence with acks 1; idempotence needs acks: all (KIP-679)`},
		{"buffer smaller than a message", "key_skew: 1}", "key_skew: 1, buffer_memory: 512}",
			`bus.yaml:11:185: bus.topics[0].producer.buffer_memory: buffer_memory must be >= message_bytes=1024, got 512`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, busYAML, tc.from)
			src := replaceOnce(busYAML, tc.from, tc.to)
			_, err := Parse("bus.yaml", []byte(src))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func replaceOnce(s, old, new string) string {
	i := len(s)
	for k := 0; k+len(old) <= len(s); k++ {
		if s[k:k+len(old)] == old {
			i = k
			break
		}
	}
	return s[:i] + new + s[i+len(old):]
}

// TestExplainBusGolden pins the resolved bus of a scenario, defaults and a
// variant's overrides included.
func TestExplainBusGolden(t *testing.T) {
	doc, err := Load("testdata/explain-bus.yaml")
	require.NoError(t, err)
	got, err := doc.Explain()
	require.NoError(t, err)
	golden := filepath.Join("testdata", "explain-bus.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestProducerErrorsReorderWithoutIdempotence(t *testing.T) {
	// The YAML route to the ordering semantics: 2% of produce requests
	// fail and are retried; only the producer without idempotence breaks
	// per-key order, and the ledger is conserved either way.
	const src = `version: 1
duration: 20s
workloads:
  - {name: orders, arrival: {rate: 2000/s}, publish: events}
bus:
  topics:
    - {name: events, partitions: 2, producer: {keys: uniform, key_space: 50, error_probability: 0.02,
       response_time: {dist: constant, value: 5ms}}}
  consumer_groups:
    - {name: g, topic: events, commit: after_processing, processing_time: {dist: constant, value: 0ms}}
variants:
  - {name: idempotent, set: {bus.topics.events.producer.idempotence: true}}
  - {name: not-idempotent, set: {bus.topics.events.producer.idempotence: false}}
`
	doc, err := Parse("errors.yaml", []byte(src))
	require.NoError(t, err)
	vs, err := doc.Expand()
	require.NoError(t, err)
	reordered := map[string]int64{}
	for _, v := range vs {
		w, err := build(v.Scenario, 1, 0)
		require.NoError(t, err)
		require.NoError(t, w.run(nil))
		rep, err := w.collect(0, "test")
		require.NoError(t, err)
		l := rep.Bus.Readers[0].Ledger
		assert.Equal(t, l.Published, l.Terminal())
		assert.Zero(t, l.Lost+l.Dropped+l.Duplicates, v.Name)
		assert.Positive(t, rep.Bus.Producers[0].RequestErrors, v.Name)
		reordered[v.Name] = l.Reordered
	}
	assert.Zero(t, reordered["idempotent"])
	assert.Greater(t, reordered["not-idempotent"], int64(50))
}

func TestProducerBufferMemoryBlocks(t *testing.T) {
	// 2000 publishes/s to a topic whose acks=all writes take 100 ms to
	// replicate hold some 200 messages in the producer. A buffer of 100
	// messages (102400 bytes of 1 KiB records) passes at most 100 per
	// 100 ms: the publishes behind it wait, up to max_block 50 ms, and at
	// least half of them are refused (block_timeout). The default 32 MiB
	// holds them all.
	const src = `version: 1
duration: 20s
workloads:
  - {name: orders, arrival: {rate: 2000/s}, publish: events}
bus:
  brokers: 3
  topics:
    - {name: events, partitions: 4, replication_factor: 3, replication_delay: {dist: constant, value: 100ms},
       producer: {max_block: 50ms}}
  consumer_groups:
    - {name: g, topic: events, commit: after_processing, processing_time: {dist: constant, value: 0ms}}
variants:
  - {name: small, set: {bus.topics.events.producer.buffer_memory: 102400}}
  - {name: default, set: {}}
`
	doc, err := Parse("buffer.yaml", []byte(src))
	require.NoError(t, err)
	vs, err := doc.Expand()
	require.NoError(t, err)
	blocked, consumed := map[string]int64{}, map[string]int64{}
	for _, v := range vs {
		w, err := build(v.Scenario, 1, 0)
		require.NoError(t, err)
		require.NoError(t, w.run(nil))
		rep, err := w.collect(0, "test")
		require.NoError(t, err)
		l := rep.Bus.Readers[0].Ledger
		assert.Equal(t, l.Published, l.Terminal(), v.Name)
		assert.Equal(t, l.Dropped, l.DroppedBy.BlockTimeout, v.Name)
		assert.Equal(t, rep.Bus.Producers[0].Refused, l.DroppedBy.BlockTimeout, v.Name)
		blocked[v.Name], consumed[v.Name] = l.DroppedBy.BlockTimeout, l.Consumed
	}
	assert.LessOrEqual(t, consumed["small"], int64(20*1000), "at most 100 messages per 100 ms")
	assert.Greater(t, blocked["small"], int64(20*2000/2))
	assert.Zero(t, blocked["default"])
	assert.Greater(t, consumed["default"], int64(39000))
}

func TestConsumersCallServicesThroughTheirSidecars(t *testing.T) {
	// A group's processing calls inventory (10% errors, retried once by
	// the sidecar), and a queue's consumers call it after 1 ms of their
	// own work. Each consumer has its own proxy, reported as the reader's
	// sidecar; failed calls fail processings, counted in the ledgers,
	// whose accounts hold.
	const src = `version: 1
duration: 20s
workloads:
  - {name: orders, arrival: {rate: 200/s}, publish: events}
  - {name: jobs, arrival: {rate: 100/s}, publish: tasks}
services:
  - {name: inventory, replicas: 2, service_time: {dist: exponential, mean: 2ms}, errors: {probability: 0.1},
     sidecar: {retries: {attempts: 1, retry_on: [5xx]}}}
bus:
  topics:
    - {name: events, partitions: 4}
  queues:
    - {name: tasks, max_deliveries: 3, dead_letter: true}
  consumer_groups:
    - {name: fulfilment, topic: events, consumers: 2, call: inventory, max_attempts: 3}
  queue_consumers:
    - {name: workers, queue: tasks, consumers: 2, prefetch: 1, processing_time: {dist: constant, value: 1ms}, call: inventory}
`
	doc, err := Parse("calls.yaml", []byte(src))
	require.NoError(t, err)
	w, err := build(doc.Scenario, 1, 0)
	require.NoError(t, err)
	require.NoError(t, w.run(nil))
	rep, err := w.collect(0, "test")
	require.NoError(t, err)
	var callers []string
	for _, sc := range rep.Sidecars {
		callers = append(callers, sc.Caller+"->"+sc.Service)
		assert.Positive(t, sc.Calls)
		assert.Positive(t, sc.Retries, "the target's sidecar policy applies")
	}
	assert.Equal(t, []string{"fulfilment->inventory", "fulfilment->inventory", "workers->inventory", "workers->inventory"}, callers)
	for _, r := range rep.Bus.Readers {
		l := r.Ledger
		assert.Equal(t, l.Published, l.Terminal(), r.Name)
		// About 1% of calls fail after the sidecar's retry.
		assert.InDelta(t, 0.01, float64(l.Failed)/float64(l.Processed), 0.006, r.Name)
		assert.Greater(t, l.Consumed, l.Published*98/100, r.Name)
	}
}

func TestTraceCrossesBothHalves(t *testing.T) {
	// A command to api publishes orders; billing's members process each
	// order by calling invoicing, which publishes invoices; the projector
	// makes them visible in the invoice view. The trace of each command
	// runs through all of it: its end-to-end latency covers the command
	// (5 ms and some queueing), the consumption of the order (2 ms + the
	// call of 3 ms) and of the invoice (4 ms): about 9 ms more than the
	// command; the view is stale for about 9 ms after the command's
	// acknowledgement.
	const src = `version: 1
duration: 20s
warmup: 2s
workloads:
  - {name: commands, arrival: {rate: 50/s}, target: api}
services:
  - {name: api, service_time: {dist: constant, value: 5ms}, calls: [{publish: orders}]}
  - {name: invoicing, service_time: {dist: constant, value: 3ms}, calls: [{publish: invoices}]}
bus:
  topics:
    - {name: orders, partitions: 2}
    - {name: invoices, partitions: 2}
  consumer_groups:
    - {name: billing, topic: orders, processing_time: {dist: constant, value: 2ms}, call: invoicing}
    - {name: projector, topic: invoices, processing_time: {dist: constant, value: 4ms}, read_model: invoice-view}
`
	doc, err := Parse("trace.yaml", []byte(src))
	require.NoError(t, err)
	w, err := build(doc.Scenario, 1, 0)
	require.NoError(t, err)
	require.NoError(t, w.run(nil))
	rep, err := w.collect(0, "test")
	require.NoError(t, err)
	wl := rep.Workloads[0]
	require.NotNil(t, wl.EndToEnd)
	assert.InDelta(t, float64(9*time.Millisecond), wl.EndToEnd.Mean()-wl.Latency.Mean(), float64(500*time.Microsecond))
	assert.Equal(t, wl.Latency.Count(), wl.EndToEnd.Count(), "every measured command's trace finished")
	pr := rep.Bus.Readers[1]
	assert.Equal(t, "invoice-view", pr.ReadModel)
	assert.InDelta(t, float64(9*time.Millisecond), pr.Staleness.Mean(), float64(500*time.Microsecond))
	assert.Equal(t, wl.Latency.Count(), pr.Staleness.Count())
	assert.LessOrEqual(t, rep.Bus.TracesOpen, int64(1))
}

func TestDeliveryShorthand(t *testing.T) {
	// The same crashes under each contract. A group member crashes, and
	// again while the group works off the backlog its session timeout let
	// build (max_poll_records 50, 4 ms per record: full batches); a queue
	// consumer
	// twice with 20 messages prefetched, and its visibility timeout (1s) is
	// shorter than some processings (exponential, mean 100 ms, 5 at once):
	// at most once loses what was committed or acked but not processed and
	// repeats nothing; at least once repeats and loses nothing;
	// effectively once absorbs the repeats: every message consumed once.
	const src = `version: 1
duration: 40s
workloads:
  - {name: orders, arrival: {rate: 200/s}, publish: events}
  - {name: jobs, arrival: {rate: 40/s}, publish: tasks}
bus:
  topics:
    - {name: events, partitions: 2}
  queues:
    - {name: tasks, visibility_timeout: 1s}
  consumer_groups:
    - {name: g, topic: events, consumers: 2, max_poll_records: 50, session_timeout: 6s, heartbeat_interval: 1s,
       processing_time: {dist: constant, value: 4ms}, delivery: at_least_once}
  queue_consumers:
    - {name: workers, queue: tasks, consumers: 2, prefetch: 20, concurrency: 5,
       processing_time: {dist: exponential, mean: 100ms}, delivery: at_least_once}
failures:
  - {at: 10s, for: 1s, kind: consumer_crash, target: "g[0]"}
  - {at: 17500ms, for: 1s, kind: consumer_crash, target: "g[0]"}
  - {at: 15s, for: 1s, every: 10s, kind: consumer_crash, target: "workers[0]"}
variants:
  - {name: at_most_once, set: {bus.consumer_groups.g.delivery: at_most_once, bus.queue_consumers.workers.delivery: at_most_once}}
  - {name: at_least_once}
  - {name: effectively_once, set: {bus.consumer_groups.g.delivery: effectively_once, bus.queue_consumers.workers.delivery: effectively_once}}
`
	doc, err := Parse("delivery.yaml", []byte(src))
	require.NoError(t, err)
	vs, err := doc.Expand()
	require.NoError(t, err)
	require.Len(t, vs, 3)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			w, err := build(v.Scenario, 1, 0)
			require.NoError(t, err)
			require.NoError(t, w.run(nil))
			rep, err := w.collect(0, "test") // checks every ledger against what the bus holds
			require.NoError(t, err)
			for _, r := range rep.Bus.Readers {
				l := r.Ledger
				assert.Equal(t, l.Published, l.Terminal(), r.Name)
				switch v.Name {
				case "at_most_once":
					assert.Positive(t, l.LostBy.Committed, r.Name)
					assert.Zero(t, l.Duplicated+l.Redeliveries, r.Name)
				case "at_least_once":
					assert.Zero(t, l.Lost, r.Name)
					assert.Positive(t, l.Duplicated, r.Name)
				case "effectively_once":
					assert.Zero(t, l.Lost+l.Duplicated, r.Name)
					assert.Positive(t, l.Absorbed, r.Name)
				}
			}
		})
	}
}

func TestDeliveryShorthandValidation(t *testing.T) {
	for _, tc := range []struct{ field, want string }{
		{"delivery: at_most_once, commit: auto", "commit and delivery together"},
		{"delivery: exactly_once", "unknown value"},
		{"delivery: at_least_once, dedup: {window: 1m}", "dedup with delivery: at_least_once"},
	} {
		src := "version: 1\nduration: 1s\nworkloads: [{name: w, arrival: {rate: 1/s}, publish: t}]\n" +
			"bus: {topics: [{name: t}], consumer_groups: [{name: g, topic: t, processing_time: {dist: constant, value: 1ms}, " + tc.field + "}]}\n"
		_, err := Parse("d.yaml", []byte(src))
		require.Error(t, err, tc.field)
		assert.Contains(t, err.Error(), tc.want, tc.field)
	}
	src := "version: 1\nduration: 1s\nworkloads: [{name: w, arrival: {rate: 1/s}, publish: q}]\n" +
		"bus: {queues: [{name: q}], queue_consumers: [{name: c, queue: q, processing_time: {dist: constant, value: 1ms}, delivery: at_most_once, on_failure: abandon}]}\n"
	_, err := Parse("d.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "on_failure with delivery: at_most_once")
}
