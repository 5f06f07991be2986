package results

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerdict(t *testing.T) {
	tests := []struct {
		name string
		e    Estimate
		want string
	}{
		{"interval within", Estimate{Mean: 0.1, CI95: &Interval{Lo: 0.09, Hi: 0.11}}, VerdictMet},
		{"interval touching the bound", Estimate{Mean: 0.1, CI95: &Interval{Lo: 0.09, Hi: 0.12}}, VerdictMet},
		{"interval beyond", Estimate{Mean: 0.2, CI95: &Interval{Lo: 0.15, Hi: 0.25}}, VerdictViolated},
		{"interval straddling", Estimate{Mean: 0.11, CI95: &Interval{Lo: 0.09, Hi: 0.13}}, VerdictUncertain},
		{"estimate alone, within", Estimate{Mean: 0.1}, VerdictMet},
		{"estimate alone, beyond", Estimate{Mean: 0.13}, VerdictViolated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, verdict(&tc.e, 0.12))
		})
	}
}

func TestJudgeSLO(t *testing.T) {
	fast := []Replication{latencyRep(0, 10), latencyRep(1, 11), latencyRep(2, 12)}
	slow := []Replication{latencyRep(0, 40), latencyRep(1, 41), latencyRep(2, 42)}
	e := &Experiment{Duration: 10 * time.Second, Replications: 3,
		Variants: []Variant{{Name: "fast", Replications: fast}, {Name: "slow", Replications: slow}},
		SLO:      &SLO{Objectives: []Objective{{Metric: "p99", Max: 0.025}, {Metric: "error_rate", Max: 0.001}}}}
	s := Summarize(e)
	require.NotNil(t, s.SLO)
	var got [][3]string
	for _, r := range s.SLO.Results {
		got = append(got, [3]string{r.Variant, r.Metric, r.Verdict})
	}
	assert.Equal(t, [][3]string{
		{"fast", "p99", VerdictMet}, {"fast", "error_rate", VerdictMet},
		{"slow", "p99", VerdictViolated}, {"slow", "error_rate", VerdictMet},
	}, got)
	assert.InDelta(t, 0.041, *s.SLO.Results[2].Value, 0.001)

	// A workload the SLO does not name is not judged; one without ok
	// requests has no data.
	e.SLO.Workload = "other"
	assert.Empty(t, Summarize(e).SLO.Results)
	e.SLO.Workload = ""
	e.Variants[1].Replications = []Replication{{Workloads: []Workload{{Name: "web", Arrived: 5, Outcomes: Outcomes{Error: 5}}}}}
	s = Summarize(e)
	assert.Equal(t, VerdictNoData, s.SLO.Results[2].Verdict)
	assert.Nil(t, s.SLO.Results[2].Value)
	assert.Equal(t, VerdictViolated, s.SLO.Results[3].Verdict, "every request failed")

	e.SLO = nil
	assert.Nil(t, Summarize(e).SLO)
}
