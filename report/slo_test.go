package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

func TestSLOSection(t *testing.T) {
	e := testExperiment()
	e.SLO = &results.SLO{Workload: "web", Objectives: []results.Objective{{Metric: "p99", Max: 0.25}, {Metric: "error_rate", Max: 0.001}}}
	m := render(t, e)
	md := string(m[ReportMarkdown])
	assert.Contains(t, md, "## Service level objective: latency p99 ≤ 250 ms, error rate ≤ 0.1% (workload web)\n")
	assert.Contains(t, md, "| variant | workload | objective | value | verdict |\n")
	assert.Contains(t, md, "| round-robin | web | error rate ≤ 0.1% |")
	assert.NotContains(t, md, "| batch |", "the SLO judges web only")
	assert.Contains(t, string(m[ReportHTML]), "<h2>Service level objective: latency p99 ≤ 250 ms")
	assert.Contains(t, string(m["timeline-web.svg"]), ">SLO<", "the bound is drawn on web's timeline")
	assert.NotContains(t, string(m["timeline-batch.svg"]), ">SLO<")

	s := results.Summarize(e)
	// Round robin's web has errors (0, 1 and 2 of ~1000): its error rate
	// breaks 0.1% at least in part, so the fold is never "met".
	assert.NotEqual(t, results.VerdictMet, SLOVerdict(s.SLO, "round-robin", "web"))
	assert.Equal(t, "", SLOVerdict(s.SLO, "round-robin", "batch"))
	assert.Equal(t, "", SLOVerdict(nil, "p2c", "web"))

	e.SLO = nil
	assert.NotContains(t, string(render(t, e)[ReportMarkdown]), "Service level objective")
}

func TestSLOVerdictFolds(t *testing.T) {
	s := &results.SLOSummary{Results: []results.SLOResult{
		{Variant: "a", Workload: "web", Verdict: results.VerdictMet},
		{Variant: "a", Workload: "web", Verdict: results.VerdictUncertain},
		{Variant: "b", Workload: "web", Verdict: results.VerdictUncertain},
		{Variant: "b", Workload: "web", Verdict: results.VerdictViolated},
		{Variant: "b", Workload: "web", Verdict: results.VerdictMet},
		{Variant: "c", Workload: "web", Verdict: results.VerdictMet},
	}}
	require.Equal(t, results.VerdictUncertain, SLOVerdict(s, "a", "web"))
	assert.Equal(t, results.VerdictViolated, SLOVerdict(s, "b", "web"))
	assert.Equal(t, results.VerdictMet, SLOVerdict(s, "c", "web"))
}
