package results

import "math"

// Precision is how a run with precision-based stopping went: the target,
// the replication count after each round, and whether every variant met
// the target. Times are in seconds.
type Precision struct {
	Metric string `json:"metric"` // mean, p50, p90, p99, p999, throughput or error_rate
	// Workload is the workload whose metric counted; omitted when every
	// workload's did.
	Workload string `json:"workload,omitempty"`
	// Relative is the target half-width as a fraction of the estimate;
	// omitted when the target is absolute.
	Relative float64 `json:"relative_half_width,omitempty"`
	// Absolute is the target half-width in the metric's unit (seconds);
	// omitted when the target is relative.
	Absolute        float64 `json:"absolute_half_width,omitempty"`
	MaxReplications int     `json:"max_replications"`
	// Rounds are the replications run after each round, increasing; the
	// last is the run's count.
	Rounds []int `json:"rounds"`
	// Reached reports whether the widest interval met the target.
	Reached bool `json:"reached"`
	// Widest is the (variant, workload) whose interval was farthest from
	// the target after the last round.
	Widest PrecisionCheck `json:"widest"`
}

// PrecisionCheck is one (variant, workload)'s estimate of the metric.
type PrecisionCheck struct {
	Variant  string  `json:"variant"`
	Workload string  `json:"workload"`
	Mean     float64 `json:"mean"`
	// HalfWidth is that of the 95% interval; omitted when fewer than two
	// replications had data.
	HalfWidth *float64 `json:"half_width,omitempty"`
	// Ratio is HalfWidth over the target half-width: at most 1 when met.
	// Omitted when undefined (no interval, or a relative target around an
	// estimate of zero with a non-zero half-width).
	Ratio *float64 `json:"ratio,omitempty"`
}

// ratio is c.Ratio, +Inf when undefined.
func (c PrecisionCheck) ratio() float64 {
	if c.Ratio == nil {
		return math.Inf(1)
	}
	return *c.Ratio
}

// MetricEstimate returns the estimate of metric over v's replications of
// workload: latency metrics (mean, p50, p90, p99, p999) of ok requests in
// seconds, throughput in ok requests per second of the measured window
// measuredS, error_rate as a fraction. It returns nil when there is no
// data, or for an unknown metric. O(replications x histogram buckets).
func MetricEstimate(v *Variant, workload, metric string, measuredS float64) *Estimate {
	ws := summarizeWorkload(v, workload, measuredS)
	return workloadMetric(&ws, metric)
}

// CheckPrecision estimates the metric of workload ("" for every workload
// of each variant, in order of first appearance) in every variant and
// returns the check farthest from the target: relative, a fraction of the
// estimate, or, when relative is 0, absolute in the metric's unit. A
// (variant, workload) without data is skipped; ok is false when none had
// any. Fewer than two replications give an infinite ratio. Ties keep the
// first in variant order. O(variants x workloads x replications).
func (e *Experiment) CheckPrecision(metric, workload string, relative, absolute float64) (widest PrecisionCheck, ok bool) {
	measuredS := e.Measured().Seconds()
	for i := range e.Variants {
		v := &e.Variants[i]
		names := []string{workload}
		if workload == "" {
			names = workloadNames(v)
		}
		for _, name := range names {
			est := MetricEstimate(v, name, metric, measuredS)
			if est == nil {
				continue
			}
			c := PrecisionCheck{Variant: v.Name, Workload: name, Mean: est.Mean}
			if est.CI95 != nil {
				hw := est.CI95.HalfWidth()
				c.HalfWidth = &hw
				target := absolute
				if relative > 0 {
					target = relative * math.Abs(est.Mean)
				}
				switch {
				case hw == 0:
					c.Ratio = new(float64)
				case target > 0:
					r := hw / target
					c.Ratio = &r
				}
			}
			if !ok || c.ratio() > widest.ratio() {
				widest, ok = c, true
			}
		}
	}
	return widest, ok
}

// NextReplications is the replication count of the next round of
// precision-based stopping, from n replications whose widest interval is
// ratio times the target: the count the usual 1/sqrt(n) shrinking of the
// interval calls for, n x ratio^2 rounded up, but at least n+1, at most
// 2n (a noisy early estimate must not commit the run to a huge round) and
// at most max.
func NextReplications(n int, ratio float64, limit int) int {
	next := 2 * n
	if want := float64(n) * ratio * ratio; want < float64(next) {
		next = int(math.Ceil(want))
	}
	return min(max(next, n+1), limit)
}

// Met reports whether the check meets the target.
func (c PrecisionCheck) Met() bool { return c.ratio() <= 1 }
