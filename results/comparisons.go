package results

import "errors"

// ComparisonSummary is the paired difference of one variant against the
// baseline (the scenario's first variant, at the same sweep point) for one
// workload. Replication i
// of both saw the same arrivals and service times, so the interval is that
// of the policy's effect alone.
type ComparisonSummary struct {
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	Workload string `json:"workload"`
	// LatencyMeanS and LatencyP99S are variant minus baseline, in seconds:
	// negative means the variant is faster. A statistic is omitted when a
	// replication of either variant completed no request.
	LatencyMeanS *Estimate `json:"latency_mean_s,omitempty"`
	LatencyP99S  *Estimate `json:"latency_p99_s,omitempty"`
}

// summarizeComparisons pairs every variant with the first variant at the
// same sweep point (the first variant, without a sweep), for each workload
// of that baseline, in scenario order. It returns nil when no variant has
// a baseline other than itself. O(variants^2) to find the baselines.
func summarizeComparisons(e *Experiment, s *Summary) []ComparisonSummary {
	var out []ComparisonSummary
	for i, v := range e.Variants {
		b := 0
		for b < i && !SamePoint(e.Variants[b].Point, v.Point) {
			b++
		}
		if b == i {
			continue // v is the first variant at its point: the baseline
		}
		base := e.Variants[b].Name
		c, err := e.Compare(v.Name, base)
		if err != nil {
			continue // unpaired replications: no paired difference exists
		}
		for _, w := range s.Variants[b].Workloads {
			cs := ComparisonSummary{Variant: v.Name, Baseline: base, Workload: w.Name}
			cs.LatencyMeanS = deltaEstimate(c.Mean(w.Name))
			cs.LatencyP99S = deltaEstimate(c.Quantile(w.Name, 0.99))
			if cs.LatencyMeanS != nil || cs.LatencyP99S != nil {
				out = append(out, cs)
			}
		}
	}
	return out
}

// deltaEstimate turns a paired Delta into an Estimate: with an interval when
// there were enough replications, the point estimate alone with one, and
// nil when the difference is undefined.
func deltaEstimate(d Delta, err error) *Estimate {
	switch {
	case err == nil:
		return &Estimate{Mean: d.Mean, CI95: &Interval{Lo: d.Lo, Hi: d.Hi}}
	case errors.Is(err, ErrTooFewReplications):
		return &Estimate{Mean: d.Mean}
	default:
		return nil
	}
}
