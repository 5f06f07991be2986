package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishingServiceUnderTheControlPlane(t *testing.T) {
	// api publishes to two destinations and calls nothing; the control
	// plane is on (api[1] crashes). A publish is not a service to watch:
	// api[0] subscribes to no service, and the run is conserved.
	const src = `version: 1
duration: 5s
workloads:
  - {name: commands, arrival: {rate: 100/s}, target: api}
services:
  - {name: api, replicas: 2, service_time: {dist: constant, value: 1ms}, calls: [{publish: orders}, {publish: events}]}
bus:
  topics: [{name: orders}]
  pubsub: [{name: events, subscriptions: [{name: s}]}]
  consumer_groups: [{name: g, topic: orders, processing_time: {dist: constant, value: 1ms}}]
  queue_consumers: [{name: c, queue: s, processing_time: {dist: constant, value: 1ms}}]
failures:
  - {at: 1s, for: 1s, kind: crash, target: "api[1]"}
`
	doc, err := Parse("publish-cp.yaml", []byte(src))
	require.NoError(t, err)
	w, err := build(doc.Scenario, 1, 0)
	require.NoError(t, err)
	require.NoError(t, w.run(nil))
	rep, err := w.collect(0, "test")
	require.NoError(t, err)
	for _, r := range rep.Bus.Readers {
		assert.Positive(t, r.Ledger.Consumed, r.Name)
	}
}

func TestMaxDeliveryAttemptsNeedsADeadLetterTopic(t *testing.T) {
	// Pub/Sub has no delivery limit without a dead-letter policy; a
	// max_delivery_attempts alone used to drop messages after that many
	// deliveries. It is refused instead.
	src := "version: 1\nduration: 1s\nworkloads: [{name: w, arrival: {rate: 1/s}, publish: e}]\n" +
		"bus: {pubsub: [{name: e, subscriptions: [{name: s, max_delivery_attempts: 5}]}], " +
		"queue_consumers: [{name: c, queue: s, processing_time: {dist: constant, value: 1ms}}]}\n"
	_, err := Parse("s.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_delivery_attempts")
}

func TestBackoffBoundsNeedARetryPolicy(t *testing.T) {
	// Without retry_policy Pub/Sub redelivers at once, so backoff bounds
	// alone would be silently ignored: they are refused instead.
	for _, field := range []string{"minimum_backoff", "maximum_backoff"} {
		src := "version: 1\nduration: 1s\nworkloads: [{name: w, arrival: {rate: 1/s}, publish: e}]\n" +
			"bus: {pubsub: [{name: e, subscriptions: [{name: s, " + field + ": 1s}]}], " +
			"queue_consumers: [{name: c, queue: s, processing_time: {dist: constant, value: 1ms}}]}\n"
		_, err := Parse("s.yaml", []byte(src))
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), "subscriptions[0]."+field+": "+field+" applies with retry_policy: true only, got 1s")
	}
}
