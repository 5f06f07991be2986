package results

import "errors"

// ComparisonSummary is the paired difference of one variant against the
// baseline (the scenario's first variant) for one workload. Replication i
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

// summarizeComparisons pairs every variant after the first with the first,
// for each workload of the first, in scenario order. It returns nil with
// fewer than two variants.
func summarizeComparisons(e *Experiment, s *Summary) []ComparisonSummary {
	if len(e.Variants) < 2 {
		return nil
	}
	base := e.Variants[0].Name
	var out []ComparisonSummary
	for _, v := range e.Variants[1:] {
		c, err := e.Compare(v.Name, base)
		if err != nil {
			continue // unpaired replications: no paired difference exists
		}
		for _, w := range s.Variants[0].Workloads {
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
