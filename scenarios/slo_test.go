package scenarios

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

func TestSLOReachesTheResults(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(sweepHead+"report: {slo: {workload: web, error_rate: 0.5%, p99: 250ms, mean: 20ms}}\n"))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	assert.Equal(t, &results.SLO{Workload: "web", Objectives: []results.Objective{
		{Metric: "mean", Max: 0.020}, {Metric: "p99", Max: 0.25}, {Metric: "error_rate", Max: 0.005},
	}}, exp.SLO, "objectives in a fixed order, whatever the file's")
	s := results.Summarize(exp)
	require.Len(t, s.SLO.Results, 3)
	for _, r := range s.SLO.Results {
		assert.Equal(t, results.VerdictMet, r.Verdict, "%s: constant 1 ms service, light load", r.Metric)
	}
}

func TestSLOErrors(t *testing.T) {
	tests := []struct {
		name, tail, want string
	}{
		{"no bound", "report: {slo: {workload: web}}\n",
			"s.yaml:7:10: report.slo: an SLO needs at least one bound: mean, p50, p90, p99, p999 or error_rate; e.g. slo: {p99: 250ms, error_rate: 0.1%}"},
		{"unknown workload", "report: {slo: {workload: wbe, p99: 1s}}\n",
			`s.yaml:7:26: report.slo.workload: unknown workload "wbe"; did you mean "web"?`},
		{"error rate without a percent sign", "report: {slo: {error_rate: 0.01}}\n",
			`s.yaml:7:28: report.slo.error_rate: error_rate must be a percentage between 0 and 100, got "0.01"; write a percentage, e.g. 0.1%`},
		{"a zero bound", "report: {slo: {p99: 0}}\n",
			"s.yaml:7:21: report.slo.p99: must be positive, got 0s"},
		{"a misspelt bound", "report: {slo: {p95: 1s}}\n",
			`s.yaml:7:16: report.slo.p95: unknown field "p95"; did you mean "p90"?`},
		{"a variant cannot set it", "variants: [{name: v, set: {report.slo.p99: 1s}}]\n",
			"s.yaml:7:28: variants[0].set.report.slo.p99: a variant cannot set report; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(sweepHead+tc.tail))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
