package scenarios

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExplainGolden pins the resolved configuration of a scenario that uses
// presets, overrides and variants. Review a diff of the golden like code:
// it is a change in what runs.
func TestExplainGolden(t *testing.T) {
	doc, err := Load("testdata/explain.yaml")
	require.NoError(t, err)
	got, err := doc.Explain()
	require.NoError(t, err)
	golden := filepath.Join("testdata", "explain.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestExplainExperimentSettings(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(sweepHead+`precision: {metric: p99, workload: web, half_width: 5%}
report: {slo: {p99: 250ms, error_rate: 0.1%}}
sweep: {workloads.web.arrival.rate: [100/s, 200/s]}
`))
	require.NoError(t, err)
	text, err := doc.Explain()
	require.NoError(t, err)
	assert.Contains(t, text, "precision: {p99 of web, half_width: 5%, max_replications: 100} (replications run in rounds from 5 until every variant's 95% interval is that narrow)\n")
	assert.Contains(t, text, "slo: p99 <= 250ms, error_rate <= 0.1%, for every workload\n")
	assert.Contains(t, text, "sweep: {workloads.web.arrival.rate: [100/s, 200/s]} (2 points per variant, the last path varying fastest)\n")
	assert.Contains(t, text, "variant rate=200/s:\n  workload web: exponential(mean=5ms) inter-arrival times (200/s), to api\n")
}
