package results

// SLO is a service level objective the variants are judged against: upper
// bounds on a workload's statistics (scenario field report.slo).
type SLO struct {
	// Workload is the workload judged; "" judges every workload.
	Workload   string      `json:"workload,omitempty"`
	Objectives []Objective `json:"objectives"`
}

// Objective is one bound of an SLO.
type Objective struct {
	// Metric is mean, p50, p90, p99 or p999 (latency of ok requests, in
	// seconds) or error_rate (a fraction).
	Metric string  `json:"metric"`
	Max    float64 `json:"max"`
}

// Verdicts of an SLO judgement.
const (
	// VerdictMet: the whole 95% interval is within the bound (without an
	// interval, the estimate is).
	VerdictMet = "met"
	// VerdictViolated: the whole interval is beyond the bound.
	VerdictViolated = "violated"
	// VerdictUncertain: the interval straddles the bound; more
	// replications would tell.
	VerdictUncertain = "uncertain"
	// VerdictNoData: the statistic is undefined (no ok request).
	VerdictNoData = "no_data"
)

// SLOSummary is the SLO and how every variant fared against it.
type SLOSummary struct {
	SLO
	// Results are in variant order, then workload, then objective order.
	Results []SLOResult `json:"results"`
}

// SLOResult is one variant's workload against one objective.
type SLOResult struct {
	Variant  string  `json:"variant"`
	Workload string  `json:"workload"`
	Metric   string  `json:"metric"`
	Max      float64 `json:"max"`
	// Value is the estimate (omitted with no data) and CI95 its interval
	// (omitted with fewer than two replications).
	Value   *float64  `json:"value,omitempty"`
	CI95    *Interval `json:"ci95,omitempty"`
	Verdict string    `json:"verdict"`
}

// judgeSLO judges every variant's workloads of s against e's SLO; nil
// without one. O(variants x workloads x objectives).
func judgeSLO(e *Experiment, s *Summary) *SLOSummary {
	if e.SLO == nil {
		return nil
	}
	out := &SLOSummary{SLO: *e.SLO, Results: []SLOResult{}}
	for _, v := range s.Variants {
		for k := range v.Workloads {
			w := &v.Workloads[k]
			if e.SLO.Workload != "" && w.Name != e.SLO.Workload {
				continue
			}
			for _, o := range e.SLO.Objectives {
				r := SLOResult{Variant: v.Name, Workload: w.Name, Metric: o.Metric, Max: o.Max, Verdict: VerdictNoData}
				if est := workloadMetric(w, o.Metric); est != nil {
					r.Value, r.CI95 = &est.Mean, est.CI95
					r.Verdict = verdict(est, o.Max)
				}
				out.Results = append(out.Results, r)
			}
		}
	}
	return out
}

// verdict judges an estimate against an upper bound.
func verdict(e *Estimate, limit float64) string {
	lo, hi := e.Mean, e.Mean
	if e.CI95 != nil {
		lo, hi = e.CI95.Lo, e.CI95.Hi
	}
	switch {
	case hi <= limit:
		return VerdictMet
	case lo > limit:
		return VerdictViolated
	default:
		return VerdictUncertain
	}
}

// workloadMetric reads one statistic of a summarised workload as an
// Estimate; nil when it is undefined or the metric unknown.
func workloadMetric(w *WorkloadSummary, metric string) *Estimate {
	if metric == "error_rate" {
		return w.ErrorRate
	}
	if metric == "throughput" {
		return w.ThroughputPerS
	}
	l := w.LatencyS
	if l == nil {
		return nil
	}
	pick := map[string]func(*Latency) float64{
		"mean": func(l *Latency) float64 { return l.Mean },
		"p50":  func(l *Latency) float64 { return l.P50 },
		"p90":  func(l *Latency) float64 { return l.P90 },
		"p99":  func(l *Latency) float64 { return l.P99 },
		"p999": func(l *Latency) float64 { return l.P999 },
	}
	ci := map[string]func(*LatencyCI) Interval{
		"mean": func(c *LatencyCI) Interval { return c.Mean },
		"p50":  func(c *LatencyCI) Interval { return c.P50 },
		"p90":  func(c *LatencyCI) Interval { return c.P90 },
		"p99":  func(c *LatencyCI) Interval { return c.P99 },
		"p999": func(c *LatencyCI) Interval { return c.P999 },
	}
	f, ok := pick[metric]
	if !ok {
		return nil
	}
	e := &Estimate{Mean: f(l)}
	if l.CI95 != nil {
		iv := ci[metric](l.CI95)
		e.CI95 = &iv
	}
	return e
}
