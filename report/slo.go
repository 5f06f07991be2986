package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/meshsim/meshsim/results"
)

// sloNote explains the SLO table.
const sloNote = "Each variant's estimate against each bound: met when its whole 95% interval is within the " +
	"bound, violated when the whole interval is beyond it, uncertain when the interval straddles it " +
	"(more replications or a longer run would tell). With one replication there is no interval and " +
	"the estimate alone decides."

// sloMetricNames are the objectives as the report writes them.
var sloMetricNames = map[string]string{
	"mean": "latency mean", "p50": "latency p50", "p90": "latency p90", "p99": "latency p99",
	"p999": "latency p99.9", "error_rate": "error rate", "throughput": "throughput",
}

// sloFormat formats a value of metric (seconds or a fraction) with its
// interval in the report's unit.
func sloFormat(metric string, v float64, ci *results.Interval) string {
	switch metric {
	case "error_rate":
		return withCI(v, ci, 100, "%")
	case "throughput":
		return withCI(v, ci, 1, "/s")
	}
	return ms(v, ci)
}

// sloObjective is one bound as a phrase, e.g. "latency p99 ≤ 250 ms", the
// bound written as briefly as it is exact.
func sloObjective(o results.Objective) string {
	scale, unit := 1000.0, " ms"
	switch o.Metric {
	case "error_rate":
		scale, unit = 100, "%"
	case "throughput":
		scale, unit = 1, "/s"
	}
	v := math.Round(o.Max*scale*1e9) / 1e9
	return sloMetricNames[o.Metric] + " ≤ " + strconv.FormatFloat(v, 'f', -1, 64) + unit
}

// sloTitle names the SLO in a heading: its bounds and, when it judges
// one workload, which.
func sloTitle(s *results.SLOSummary) string {
	parts := make([]string, len(s.Objectives))
	for i, o := range s.Objectives {
		parts[i] = sloObjective(o)
	}
	t := "Service level objective: " + strings.Join(parts, ", ")
	if s.Workload != "" {
		t += " (workload " + s.Workload + ")"
	}
	return t
}

// sloTable is one row per variant, workload and bound. Its Rows are empty
// without an SLO.
func sloTable(s *results.SLOSummary) table {
	t := table{Header: []string{"variant", "workload", "objective", "value", "verdict"}}
	if s == nil {
		return t
	}
	for _, r := range s.Results {
		value := noData
		if r.Value != nil {
			value = sloFormat(r.Metric, *r.Value, r.CI95)
		}
		v := r.Verdict
		switch v {
		case results.VerdictViolated:
			v = "VIOLATED"
		case results.VerdictNoData:
			v = "no data"
		}
		t.Rows = append(t.Rows, []string{r.Variant, r.Workload, sloObjective(results.Objective{Metric: r.Metric, Max: r.Max}), value, v})
	}
	return t
}

// SLOVerdict folds the verdicts of one variant's workload into one word:
// violated if any bound is, else no_data or uncertain if any is, else
// met; "" when the SLO does not judge the workload or there is none.
func SLOVerdict(s *results.SLOSummary, variant, workload string) string {
	if s == nil {
		return ""
	}
	rank := map[string]int{results.VerdictMet: 1, results.VerdictUncertain: 2, results.VerdictNoData: 3, results.VerdictViolated: 4}
	out := ""
	for _, r := range s.Results {
		if r.Variant == variant && r.Workload == workload && rank[r.Verdict] > rank[out] {
			out = r.Verdict
		}
	}
	return out
}
