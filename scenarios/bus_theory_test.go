package scenarios_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// The bus against queueing theory, end to end: a workload publishes
// (Poisson), the producer writes to the log or queue, consumers process
// (exponential), and the latency measured is the bus's own, from publish to
// the end of processing. Service times are 1 ms so that heartbeats (3 s)
// and auto-commits (5 s) are rare events beside the messages. Together the
// two tests take about 6 s on 2 cores; skipped with -short.

// busLatency runs yaml and returns its first bus reader's latency.
func busLatency(t *testing.T, yaml string) *results.Latency {
	t.Helper()
	doc, err := scenarios.Parse("bus-theory.yaml", []byte(yaml))
	require.NoError(t, err)
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 2})
	require.NoError(t, err)
	b := results.Summarize(exp).Variants[0].Bus
	require.NotNil(t, b)
	r := b.Readers[0]
	require.Zero(t, r.Ledger.Duplicated+r.Ledger.Lost+r.Ledger.Dropped+r.Ledger.DeadLettered, "nothing but consumed and pending")
	require.NotNil(t, r.LatencyS)
	require.NotNil(t, r.LatencyS.CI95)
	return r.LatencyS
}

func TestBusMM1MatchesTheory(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	// One partition, one consumer (a group of one member, auto-commit),
	// lambda 700/s, mu 1000/s: rho 0.7, and the time from publish to the
	// end of processing is exponential with rate mu - lambda = 300/s, mean
	// 3.333 ms, p99 ln(100)/300 s = 15.35 ms. A member fetches what is
	// visible and processes it in order, so the partition is one FIFO
	// server. 8 x 2000 s = 11.2M messages.
	l := busLatency(t, `version: 1
name: bus-mm1
seed: 20261204
duration: 2000s
warmup: 10s
replications: 8
workloads: [{name: publishers, arrival: {rate: 700/s}, publish: jobs}]
bus:
  topics: [{name: jobs, partitions: 1}]
  consumer_groups: [{name: workers, topic: jobs, consumers: 1, processing_time: {dist: exponential, mean: 1ms}}]
`)
	mean := 1.0 / 300
	within(t, "mean publish-to-processed", mean, l.Mean, l.CI95.Mean, 0.02)
	within(t, "p99 publish-to-processed", math.Log(100)*mean, l.P99, l.CI95.P99, 0.03)
}

func TestBusMMcMatchesErlangC(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	// A queue with c = 4 competing consumers, prefetch 1 (a consumer takes
	// a message only when idle: one shared FIFO), visibility timeout 12 h
	// (never expires), lambda 2800/s, mu 1000/s per consumer: rho 0.7,
	// Erlang C mean response 1/mu + C/(c mu - lambda) = 1.3572 ms.
	// 8 x 600 s = 13.4M messages.
	const c, lambda, mu = 4, 2800.0, 1000.0
	l := busLatency(t, fmt.Sprintf(`version: 1
name: bus-mmc
seed: 20261204
duration: 600s
warmup: 10s
replications: 8
workloads: [{name: publishers, arrival: {rate: %g/s}, publish: jobs}]
bus:
  queues: [{name: jobs, visibility_timeout: 12h}]
  queue_consumers: [{name: workers, queue: jobs, consumers: %d, prefetch: 1, processing_time: {dist: exponential, mean: 1ms}}]
`, lambda, c))
	within(t, "mean publish-to-processed", erlangCResponse(c, lambda, mu), l.Mean, l.CI95.Mean, 0.02)
}
