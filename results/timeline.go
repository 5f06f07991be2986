package results

import "github.com/meshsim/meshsim/sim/stats"

// TimelineSummary is a variant's time series: one value per window of
// the run, warm-up included, window k covering [k*WindowS, (k+1)*WindowS)
// seconds and the last ending at the run's duration. Series values are
// means over the variant's replications, except the percentiles, which
// come from the windows' histograms pooled over replications.
type TimelineSummary struct {
	WindowS   float64            `json:"window_s"`
	Workloads []WorkloadTimeline `json:"workloads"` // in order of first appearance
	// Sidecars are the proxies with outlier detection, by (caller,
	// service) in order of first appearance; [] when none has it.
	Sidecars []SidecarTimeline `json:"sidecars"`
	// Events are the failures as they happened in replication 0 (every
	// replication of a variant has the same failures), in start order,
	// then the deploys (kind "deploy").
	Events []FailureEvent `json:"events"`
	// Services are the pods of the services that scale or roll out, in
	// service order; omitted when there are none.
	Services []ServiceTimeline `json:"services,omitempty"`
}

// WorkloadTimeline is one workload's series. A nil entry (null in JSON)
// marks a window without data for that statistic.
type WorkloadTimeline struct {
	Name string `json:"name"`
	// ThroughputPerS is the ok completions per second of the window.
	ThroughputPerS []float64 `json:"throughput_per_s"`
	// ErrorRate is not-ok / finished in the window, averaged over the
	// replications that finished a request in it; nil where none did.
	ErrorRate []*float64 `json:"error_rate"`
	// P50S and P99S are percentiles of the ok latency, from the window's
	// histograms pooled over replications; nil where no request completed
	// ok.
	P50S []*float64 `json:"p50_s"`
	P99S []*float64 `json:"p99_s"`
}

// SidecarTimeline is the outlier ejections of one (caller, service)
// proxy over time.
type SidecarTimeline struct {
	Caller  string `json:"caller"`
	Service string `json:"service"`
	// EjectedHosts is the time-weighted mean number of ejected upstream
	// hosts in each window; when the caller is a service, whose every
	// instance has its own proxy and detector, it is averaged over those
	// proxies.
	EjectedHosts []float64 `json:"ejected_hosts"`
}

// FailureEvent is one failure on the timeline.
type FailureEvent struct {
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	FromS  float64 `json:"from_s"`
	ToS    float64 `json:"to_s"` // the end of the run if it lasted until then
}

// summarizeTimeline returns v's timeline, or nil when no replication
// recorded a series. The window count and width are those of the first
// series found; every replication of a run has the same.
func summarizeTimeline(v *Variant) *TimelineSummary {
	var first *Series
	for i := range v.Replications {
		for _, w := range v.Replications[i].Workloads {
			if first == nil && w.Series != nil {
				first = w.Series
			}
		}
	}
	if first == nil || first.Width <= 0 {
		return nil
	}
	t := &TimelineSummary{
		WindowS:   first.Width.Seconds(),
		Workloads: []WorkloadTimeline{},
		Sidecars:  []SidecarTimeline{},
		Events:    []FailureEvent{},
	}
	for _, name := range workloadNames(v) {
		t.Workloads = append(t.Workloads, workloadTimeline(v, name, first))
	}
	t.Sidecars = sidecarTimelines(v, first)
	t.Services = serviceTimelines(v)
	if len(v.Replications) > 0 {
		for _, f := range v.Replications[0].Failures {
			t.Events = append(t.Events, FailureEvent{Kind: f.Kind, Target: f.Target, FromS: f.From.Seconds(), ToS: f.To.Seconds()})
		}
	}
	return t
}

// workloadTimeline summarises one workload's series over v's
// replications, in replication order, on the windows of shape.
func workloadTimeline(v *Variant, name string, shape *Series) WorkloadTimeline {
	n := shape.Windows()
	wt := WorkloadTimeline{
		Name:           name,
		ThroughputPerS: make([]float64, n),
		ErrorRate:      make([]*float64, n),
		P50S:           make([]*float64, n),
		P99S:           make([]*float64, n),
	}
	throughput := make([]float64, n)
	errSum := make([]float64, n)
	errN := make([]int, n)
	pooled := make([]*stats.Histogram, n)
	reps := 0
	for i := range v.Replications {
		w := findWorkload(&v.Replications[i], name)
		if w == nil || w.Series == nil {
			continue
		}
		s := w.Series
		reps++
		for k := 0; k < min(n, s.Windows()); k++ {
			if width := s.WindowWidth(k); width > 0 {
				throughput[k] += float64(s.OK[k]) / width.Seconds()
			}
			if finished := s.OK[k] + s.NotOK[k]; finished > 0 {
				errSum[k] += float64(s.NotOK[k]) / float64(finished)
				errN[k]++
			}
			// An invalid encoding, which Run never produces, counts as a
			// window without ok requests: Summarize has no error to return.
			if h, err := s.LatencyHistogram(k); err == nil && h.Count() > 0 {
				if pooled[k] == nil {
					pooled[k] = h
				} else {
					pooled[k].Merge(h)
				}
			}
		}
	}
	for k := range n {
		if reps > 0 {
			wt.ThroughputPerS[k] = throughput[k] / float64(reps)
		}
		if errN[k] > 0 {
			wt.ErrorRate[k] = ptr(errSum[k] / float64(errN[k]))
		}
		if h := pooled[k]; h != nil {
			wt.P50S[k] = ptr(nsToSeconds(float64(h.Quantile(0.50))))
			wt.P99S[k] = ptr(nsToSeconds(float64(h.Quantile(0.99))))
		}
	}
	return wt
}

// sidecarTimelines returns the ejected-hosts series of every (caller,
// service) with outlier detection, in order of first appearance.
func sidecarTimelines(v *Variant, shape *Series) []SidecarTimeline {
	out := []SidecarTimeline{}
	index := map[[2]string]int{} // only looked up, never iterated
	for _, r := range v.Replications {
		for _, sc := range r.Sidecars {
			key := [2]string{sc.Caller, sc.Service}
			if _, ok := index[key]; sc.Outlier && !ok {
				index[key] = len(out)
				out = append(out, SidecarTimeline{Caller: sc.Caller, Service: sc.Service, EjectedHosts: make([]float64, shape.Windows())})
			}
		}
	}
	reps := make([]int, len(out))
	for _, r := range v.Replications {
		perRep := make([]*ejectedHosts, len(out))
		for _, sc := range r.Sidecars {
			i, ok := index[[2]string{sc.Caller, sc.Service}]
			if !ok || !sc.Outlier {
				continue
			}
			if perRep[i] == nil {
				perRep[i] = newEjectedHosts(shape)
			}
			perRep[i].add(sc.Ejected)
		}
		for i, e := range perRep {
			if e == nil {
				continue
			}
			reps[i]++
			for k, x := range e.mean() {
				out[i].EjectedHosts[k] += x
			}
		}
	}
	for i := range out {
		for k := range out[i].EjectedHosts {
			out[i].EjectedHosts[k] /= float64(max(reps[i], 1))
		}
	}
	return out
}

// ejectedHosts accumulates, per window, the host-nanoseconds of ejection
// of the proxies of one (caller, service) in one replication. Sums are
// integers, so they do not depend on the order of the ejections.
type ejectedHosts struct {
	shape   *Series
	hostNs  []int64 // ejection time inside each window, summed over hosts and proxies
	full    []int64 // difference array of ejections spanning whole windows
	proxies int
}

func newEjectedHosts(shape *Series) *ejectedHosts {
	n := shape.Windows()
	return &ejectedHosts{shape: shape, hostNs: make([]int64, n), full: make([]int64, n+1)}
}

// add counts one proxy's ejections. Each costs O(1): the windows an
// ejection covers whole are counted in a difference array, resolved in
// mean.
func (e *ejectedHosts) add(ejections []Ejection) {
	e.proxies++
	width, end, n := int64(e.shape.Width), int64(e.shape.End), int64(e.shape.Windows())
	for _, ej := range ejections {
		from, to := max(int64(ej.From), 0), min(int64(ej.To), end)
		if to <= from {
			continue
		}
		k0, k1 := min(from/width, n-1), min((to-1)/width, n-1)
		if k0 == k1 {
			e.hostNs[k0] += to - from
			continue
		}
		e.hostNs[k0] += (k0+1)*width - from
		e.hostNs[k1] += to - k1*width
		e.full[k0+1]++ // windows k0+1 .. k1-1 are covered whole; none is the short last one
		e.full[k1]--
	}
}

// mean returns the time-weighted mean number of ejected hosts per proxy
// in each window.
func (e *ejectedHosts) mean() []float64 {
	out := make([]float64, len(e.hostNs))
	var whole int64
	for k := range out {
		whole += e.full[k]
		ns := e.hostNs[k] + whole*int64(e.shape.Width)
		if width := e.shape.WindowWidth(k); width > 0 {
			out[k] = float64(ns) / float64(float64(width)*float64(e.proxies))
		}
	}
	return out
}

func ptr(x float64) *float64 { return &x }
