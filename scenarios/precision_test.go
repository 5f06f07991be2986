package scenarios

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

const precisionScenario = `version: 1
name: prec
seed: 5
duration: 10s
warmup: 1s
workloads:
  - {name: web, arrival: {rate: 400/s}, target: api}
services:
  - {name: api, replicas: 4, concurrency: 1, queue: 100, service_time: {dist: exponential, mean: 8ms}}
variants:
  - {name: rr, set: {services.api.sidecar.lb.policy: round_robin}}
  - {name: random, set: {services.api.sidecar.lb.policy: random}}
`

// TestPrecisionStopsWhenTheTargetIsMet runs rounds until p99's interval is
// within 10%, on one worker and on two, and checks that the result is
// what a run with that fixed count gives: stopping chooses how many
// replications, never what they are.
func TestPrecisionStopsWhenTheTargetIsMet(t *testing.T) {
	doc, err := Parse("p.yaml", []byte(precisionScenario+"precision: {metric: p99, workload: web, half_width: 10%}\n"))
	require.NoError(t, err)
	assert.Equal(t, 5, doc.Scenario.Replications, "precision starts with 5 replications by default")
	var first []byte
	var exp *results.Experiment
	for _, workers := range []int{1, 2} {
		exp, err = Run(context.Background(), doc, Options{Workers: workers})
		require.NoError(t, err)
		b, err := json.Marshal(results.Summarize(exp))
		require.NoError(t, err)
		if first == nil {
			first = b
		}
		assert.Equal(t, string(first), string(b), "workers %d", workers)
	}
	p := exp.Precision
	require.NotNil(t, p)
	assert.True(t, p.Reached)
	require.Greater(t, len(p.Rounds), 1, "5 replications of 10 s are not enough for ± 10%%: %v", p.Rounds)
	n := p.Rounds[len(p.Rounds)-1]
	assert.Equal(t, n, exp.Replications)
	assert.LessOrEqual(t, *p.Widest.Ratio, 1.0)
	for _, v := range exp.Variants {
		assert.Len(t, v.Replications, n)
	}
	// The last round met the target and the one before did not.
	widest, ok := exp.CheckPrecision("p99", "web", 0.1, 0)
	require.True(t, ok)
	assert.True(t, widest.Met())
	before := *exp
	before.Variants = nil
	for _, v := range exp.Variants {
		v.Replications = v.Replications[:p.Rounds[len(p.Rounds)-2]]
		before.Variants = append(before.Variants, v)
	}
	widest, _ = before.CheckPrecision("p99", "web", 0.1, 0)
	assert.False(t, widest.Met())

	fixed, err := Run(context.Background(), doc, Options{Workers: 2, Replications: n})
	require.NoError(t, err)
	assert.Nil(t, fixed.Precision, "an explicit replication count turns precision off")
	fixed.Precision = exp.Precision
	b, err := json.Marshal(results.Summarize(fixed))
	require.NoError(t, err)
	assert.Equal(t, string(first), string(b))
}

func TestPrecisionStopsAtMaxReplications(t *testing.T) {
	doc, err := Parse("p.yaml", []byte(precisionScenario+"replications: 2\nprecision: {metric: p999, half_width: 0.1%, max_replications: 7}\n"))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 2})
	require.NoError(t, err)
	p := exp.Precision
	assert.False(t, p.Reached)
	assert.Equal(t, []int{2, 4, 7}, p.Rounds, "doubling while far from the target, capped at the bound")
	assert.Equal(t, 7, exp.Replications)
	assert.Greater(t, *p.Widest.Ratio, 1.0)
	assert.Equal(t, "web", p.Widest.Workload)

	_, err = RunPart(context.Background(), doc, Options{Shard: 0, Shards: 2})
	assert.ErrorContains(t, err, "uses precision-based stopping, which decides after each round of replications how many more to run, so it cannot be sharded")
}

func TestPrecisionErrors(t *testing.T) {
	tests := []struct {
		name, tail, want string
	}{
		{"unknown metric", "precision: {metric: p95, half_width: 5%}\n",
			`p.yaml:13:21: precision.metric: unknown metric "p95"; did you mean "p90"?`},
		{"missing half-width", "precision: {metric: p99}\n",
			"p.yaml:13:12: precision.half_width: missing required field; write a percentage of the estimate, e.g. 5%, or a duration, e.g. 2ms"},
		{"a duration bounds no throughput", "precision: {metric: throughput, half_width: 2ms}\n",
			"p.yaml:13:45: precision.half_width: a duration cannot bound throughput; write a percentage of the estimate, e.g. 5%"},
		{"percentage out of range", "precision: {half_width: 150%}\n",
			`p.yaml:13:25: precision.half_width: half_width must be a percentage between 0 and 100, got "150%"; write a percentage of the estimate, e.g. 5%, or a duration, e.g. 2ms`},
		{"unknown workload", "precision: {workload: wbe, half_width: 5%}\n",
			`p.yaml:13:23: precision.workload: unknown workload "wbe"; did you mean "web"?`},
		{"one replication", "replications: 1\nprecision: {half_width: 5%}\n",
			"p.yaml:13:15: replications: must be at least 2 with precision, got 1; precision needs at least 2 replications to start with (default 5)"},
		{"bound below the start", "replications: 10\nprecision: {half_width: 5%, max_replications: 4}\n",
			"p.yaml:14:47: precision.max_replications: must be between replications (10) and 10000, got 4"},
		{"a variant cannot set it", "  - {name: x, set: {precision.half_width: 5%}}\n",
			"p.yaml:13:21: variants[2].set.precision.half_width: a variant cannot set precision; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(precisionScenario+tc.tail))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
