package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/report"
	"github.com/meshsim/meshsim/results"
)

// queueBuildUp is a single server with a queue of 300 started empty and
// overloaded: requests arrive at 120/s or 125/s (ARRIVAL), it serves
// 100/s (SERVICE: 10 ms each), so the queue fills, and only then does the
// latency settle, near 300 x 10 ms = 3 s.
const queueBuildUp = `version: 1
name: queue-build-up
seed: 11
duration: 2m
warmup: WARMUP
replications: 3
workloads: [{name: web, arrival: ARRIVAL, target: api}]
services:
  - {name: api, replicas: 1, concurrency: 1, queue: 300, service_time: SERVICE}
`

func runBuildUp(t *testing.T, warmup, arrival, service string) *results.Summary {
	t.Helper()
	src := strings.NewReplacer("WARMUP", warmup, "ARRIVAL", arrival, "SERVICE", service).Replace(queueBuildUp)
	doc, err := Parse("queue-build-up.yaml", []byte(src))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	return results.Summarize(exp)
}

// TestWarmupCheckExactTransient is the queue with constant arrivals
// (every 8 ms) and service: it grows by 25 requests/s and is full at
// 12 s; a request that arrives at t <= 12 s waits 0.25·t s, so it
// finishes at 1.25·t, and the latency of the requests finishing rises
// until 15 s, then stays at 3.007 s exactly. In windows of 1 s (120 of
// them, 24 batches) that is 3 batches of transient: MSER-5 deletes them.
func TestWarmupCheckExactTransient(t *testing.T) {
	tests := []struct {
		warmup string
		want   results.WarmupCheckSummary
		line   string
		warn   bool
	}{
		{"0s",
			// Batch means 0.507, 1.507, 2.507, then 3.007 (x21): the
			// warm-up of 0 leaves in (0.507 + 1.507 + 2.507 + 21 x 3.007)/24 - 3.007
			// = -0.1875 s.
			results.WarmupCheckSummary{DetectedS: 15, TooShort: true, BiasS: -0.1875, SearchedS: 120, Batches: 24, TruncatedBatches: 3},
			"warm-up looks too short: web's latency settles at ~15s in variant baseline (MSER-5 on the per-window means), " +
				"later than warmup 0s, which leaves its mean off by 187 ms (standard error 0 ms); consider warmup: 15s",
			true},
		{"15s",
			results.WarmupCheckSummary{DetectedS: 15, SearchedS: 120, Batches: 24, TruncatedBatches: 3},
			"warm-up check (MSER-5 on the per-window mean latency): no sign that warmup 15s is too short",
			false},
	}
	for _, tc := range tests {
		t.Run("warmup "+tc.warmup, func(t *testing.T) {
			s := runBuildUp(t, tc.warmup, "{dist: constant, value: 8ms}", "{dist: constant, value: 10ms}")
			c := s.Variants[0].Workloads[0].WarmupCheck
			require.NotNil(t, c)
			assert.InDelta(t, tc.want.BiasS, c.BiasS, 1e-4)
			got := *c
			got.BiasS = tc.want.BiasS
			assert.Equal(t, tc.want, got)
			line, warn := report.WarmupLine(s)
			assert.Equal(t, tc.line, line)
			assert.Equal(t, tc.warn, warn)
		})
	}
}

// TestWarmupCheckFindsAQueueBuildUp is the queue with Poisson arrivals at
// 120/s: full after about 15 s, settled when the requests that waited
// behind the full queue finish, about 18 s. MSER-5 deletes a little more,
// past the small slow wobbles of the plateau (over seeds 1 to 10 it says
// 20 s to 55 s); the warm-up of 0 leaves in a bias of about -0.25 s
// against a standard error near 1 ms.
func TestWarmupCheckFindsAQueueBuildUp(t *testing.T) {
	s := runBuildUp(t, "0s", "{rate: 120/s}", "{dist: constant, value: 10ms}")
	c := s.Variants[0].Workloads[0].WarmupCheck
	require.NotNil(t, c, "2 minutes in windows of 1s: 24 batches")
	assert.Equal(t, 24, c.Batches)
	assert.GreaterOrEqual(t, c.DetectedS, 15.0)
	assert.Less(t, c.DetectedS, 60.0, "inside the search, the first half of the run")
	assert.True(t, c.TooShort)
	assert.Less(t, c.BiasS, -0.1, "the start, before the queue fills, is faster")
	line, warn := report.WarmupLine(s)
	assert.True(t, warn)
	assert.Contains(t, line, "warm-up looks too short: web's latency settles at ~")
	assert.Contains(t, line, "in variant baseline (MSER-5 on the per-window means), later than warmup 0s")
}

// TestShippedWarmupsAreLongEnough runs library scenarios whose warm-up is
// long enough, slow-pod with a failure after it, which must not read as a
// transient.
func TestShippedWarmupsAreLongEnough(t *testing.T) {
	for _, name := range []string{"mm1", "quickstart", "slow-pod"} {
		t.Run(name, func(t *testing.T) {
			doc, err := Load(name)
			require.NoError(t, err)
			exp, err := Run(context.Background(), doc, Options{Workers: 2})
			require.NoError(t, err)
			s := results.Summarize(exp)
			for _, v := range s.Variants {
				for _, w := range v.Workloads {
					require.NotNil(t, w.WarmupCheck, "%s %s: checked", v.Name, w.Name)
					assert.False(t, w.WarmupCheck.TooShort, "%s %s: %+v", v.Name, w.Name, *w.WarmupCheck)
				}
			}
			line, warn := report.WarmupLine(s)
			assert.False(t, warn, line)
			assert.Contains(t, line, "no sign that warmup")
		})
	}
}
