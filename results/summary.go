package results

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/meshsim/meshsim/sim/stats"
)

// SummarySchema names the version of the summary.json contract that
// Summarize produces. Adding fields keeps v1; removing or renaming a field,
// or changing its unit or meaning, bumps it to v2 (docs/summary.md).
const SummarySchema = "meshsim/summary/v1"

// Summary is the summary.json document: every number the report shows,
// derived from an Experiment by Summarize. Times are float64 seconds, which
// is the unit JSON readers expect; inside the engine they stay integer
// nanoseconds. No field ever holds NaN or an infinity: a statistic without
// data is omitted instead.
type Summary struct {
	Schema       string  `json:"schema"`
	Scenario     string  `json:"scenario"`
	Seed         uint64  `json:"seed"`
	Version      string  `json:"version"`
	DurationS    float64 `json:"duration_s"`
	WarmupS      float64 `json:"warmup_s"`
	Replications int     `json:"replications"`
	// Precision is how precision-based stopping went: omitted for a run
	// with a fixed replication count.
	Precision *Precision `json:"precision,omitempty"`
	// SLO is the service level objective and every variant's verdict:
	// omitted without one.
	SLO      *SLOSummary      `json:"slo,omitempty"`
	Variants []VariantSummary `json:"variants"` // in scenario order
	// Comparisons are the paired differences of each variant against the
	// first, per workload. Omitted with a single variant.
	Comparisons []ComparisonSummary `json:"comparisons,omitempty"`
}

// VariantSummary is one variant, aggregated over its replications.
type VariantSummary struct {
	Name string `json:"name"`
	// Base is the variant's name without the sweep point; omitted
	// without a sweep.
	Base string `json:"base,omitempty"`
	// Sweep is the sweep point, one value per sweep path in sweep order;
	// omitted without a sweep.
	Sweep []PointSummary `json:"sweep,omitempty"`
	// Events is the number of kernel events, summed over replications.
	Events    uint64            `json:"events"`
	Workloads []WorkloadSummary `json:"workloads"` // in order of first appearance
	Services  []ServiceSummary  `json:"services"`  // in order of first appearance
	Sidecars  []SidecarSummary  `json:"sidecars"`  // in order of first appearance
	// Timeline holds the series per window of the run. Nil when the
	// replications recorded no series.
	Timeline *TimelineSummary `json:"timeline,omitempty"`
	// Bus is the event bus: omitted when the scenario has none.
	Bus *BusSummary `json:"bus,omitempty"`
	// Autoscalers are the services' autoscalers, in service order;
	// omitted when there are none.
	Autoscalers []AutoscalerSummary `json:"autoscalers,omitempty"`
	// Deploys are the rolling updates, by service then in scenario order;
	// omitted when there are none.
	Deploys []DeploySummary `json:"deploys,omitempty"`
}

// PointSummary is the value one sweep path takes at a variant's point.
type PointSummary struct {
	Path  string `json:"path"`
	Label string `json:"label"`
	Value string `json:"value"` // as written in the scenario
	// X is the value as a number in Unit (rates per second, durations in
	// seconds); omitted when the value is not a number.
	X    *float64 `json:"x,omitempty"`
	Unit string   `json:"unit,omitempty"`
}

// WorkloadSummary is one workload of a variant.
type WorkloadSummary struct {
	Name string `json:"name"`
	// Requests is the number of requests that arrived in the measured
	// window, summed over replications. It is counted apart from the
	// outcomes, and equals Outcomes.Total() when the accounting is
	// conserved.
	Requests int64 `json:"requests"`
	// Outcomes are the terminal states, summed over replications.
	Outcomes Outcomes `json:"outcomes"`
	// ThroughputPerS is the rate of ok completions per second of the
	// measured window. Nil when the window is empty.
	ThroughputPerS *Estimate `json:"throughput_per_s,omitempty"`
	// ErrorRate is the share of finished requests that were not ok:
	// (requests - ok - in_flight) / (requests - in_flight). Nil when no
	// replication finished a request.
	ErrorRate *Estimate `json:"error_rate,omitempty"`
	// LatencyS is the end-to-end latency of ok requests. Nil when no
	// replication completed a request ok.
	LatencyS *Latency `json:"latency_s,omitempty"`
	// EndToEndS is the latency of a request's whole trace, from the
	// request to its last effect across the bus. Nil when the scenario
	// has no bus or no trace finished.
	EndToEndS *Latency `json:"end_to_end_s,omitempty"`
	// WarmupCheck is MSER-5's check of the warm-up on the per-window mean
	// latency (DetectWarmup). Nil when the series has too few windows.
	WarmupCheck *WarmupCheckSummary `json:"warmup_check,omitempty"`

	// Pooled is the merge of the replications' latency histograms (in
	// nanoseconds), in replication order, kept for plots. It is not part of
	// the JSON contract and is nil in a Summary decoded from JSON.
	Pooled *stats.Histogram `json:"-"`
}

// ServiceSummary is one service of a variant.
type ServiceSummary struct {
	Name        string `json:"name"`
	Instances   int    `json:"instances"`
	Concurrency int    `json:"concurrency"` // slots per instance
	// Completed is the number of requests the service finished in the
	// window, summed over replications.
	Completed int64 `json:"completed"`
	// Lost is the number of requests of the window that crashes took from
	// the service's instances, summed over replications; omitted when
	// none was lost.
	Lost int64 `json:"lost,omitempty"`
	// Utilisation is the time-weighted share of busy slots, 0..1.
	Utilisation Estimate `json:"utilisation"`
	// QueueLengthMean is the time-weighted mean number of waiting requests,
	// summed over instances.
	QueueLengthMean Estimate `json:"queue_length_mean"`
	// RunningInstances is the time-weighted mean number of instances up
	// over the measured window; omitted when every instance was up all
	// along (it is then instances).
	RunningInstances *Estimate `json:"running_instances,omitempty"`
	// LatencyS is arrival at an instance to end of service. Nil when the
	// service completed nothing.
	LatencyS *Latency `json:"latency_s,omitempty"`
	// InstanceShare is each instance's share of the completions, pooled
	// over replications, in instance order. Omitted when there were none.
	InstanceShare []float64 `json:"instance_share,omitempty"`
	// LittlesLaw checks the service's books against L = λW; omitted when
	// the service completed nothing.
	LittlesLaw *LittleCheck `json:"littles_law,omitempty"`
}

// LittleCheck compares the two sides of Little's law for a service over
// the measured window, each the mean across replications: L, the
// time-weighted mean number of requests at its instances (waiting plus in
// service: queue length plus busy slots), and λW, its completion rate
// times the mean time a request spends at an instance. They agree up to
// the requests that straddle the window's edges, so a gap of more than a
// few percent in a long run means the books are wrong.
type LittleCheck struct {
	L       float64 `json:"l"`
	LambdaW float64 `json:"lambda_w"`
}

// Estimate is a mean across replications with its 95% confidence interval.
type Estimate struct {
	Mean float64 `json:"mean"`
	// CI95 is Student's t interval across replications; nil with fewer
	// than two replications.
	CI95 *Interval `json:"ci95,omitempty"`
}

// Latency summarises a latency distribution in seconds. Each statistic is
// computed per replication, from that replication's histogram, and the
// field holds the mean across the replications that had data.
type Latency struct {
	Mean float64    `json:"mean"`
	P50  float64    `json:"p50"`
	P90  float64    `json:"p90"`
	P99  float64    `json:"p99"`
	P999 float64    `json:"p999"`
	CI95 *LatencyCI `json:"ci95,omitempty"` // nil with fewer than two replications with data
}

// LatencyCI holds the 95% confidence interval of each Latency statistic.
type LatencyCI struct {
	Mean Interval `json:"mean"`
	P50  Interval `json:"p50"`
	P90  Interval `json:"p90"`
	P99  Interval `json:"p99"`
	P999 Interval `json:"p999"`
}

// Interval is a two-sided confidence interval. It is written to JSON as the
// array [lo, hi].
type Interval struct {
	Lo, Hi float64
}

// HalfWidth returns (Hi - Lo) / 2, the "±" of the interval.
func (iv Interval) HalfWidth() float64 { return (iv.Hi - iv.Lo) / 2 }

// MarshalJSON writes the interval as [lo, hi].
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{iv.Lo, iv.Hi})
}

// UnmarshalJSON reads an interval written as [lo, hi].
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var a [2]float64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("results: interval: %w", err)
	}
	iv.Lo, iv.Hi = a[0], a[1]
	return nil
}

// latencyQuantiles are the quantiles in Latency, in field order.
var latencyQuantiles = [...]float64{0.50, 0.90, 0.99, 0.999}

// Summarize derives the summary.json document from e. It does not modify e.
// All sums run in replication order, so the same Experiment always gives
// the same bits. The complexity is linear in the number of replications
// times the size of their histograms.
func Summarize(e *Experiment) *Summary {
	s := &Summary{
		Schema:       SummarySchema,
		Scenario:     e.Scenario,
		Seed:         e.Seed,
		Version:      e.Version,
		DurationS:    e.Duration.Seconds(),
		WarmupS:      e.Warmup.Seconds(),
		Replications: e.Replications,
		Variants:     make([]VariantSummary, 0, len(e.Variants)),
		Precision:    e.Precision,
	}
	for i := range e.Variants {
		s.Variants = append(s.Variants, summarizeVariant(&e.Variants[i], e.Measured().Seconds(), e.Warmup))
	}
	s.Comparisons = summarizeComparisons(e, s)
	s.SLO = judgeSLO(e, s)
	return s
}

func summarizeVariant(v *Variant, measuredS float64, warmup time.Duration) VariantSummary {
	vs := VariantSummary{
		Name:      v.Name,
		Sidecars:  summarizeSidecars(v),
		Bus:       summarizeBus(v),
		Workloads: []WorkloadSummary{},
		Services:  []ServiceSummary{},
	}
	if v.Point != nil {
		vs.Base = v.Base
		for _, pv := range v.Point {
			ps := PointSummary{Path: pv.Path, Label: pv.Label, Value: pv.Value, Unit: pv.Unit}
			if pv.Numeric {
				ps.X = &pv.X
			}
			vs.Sweep = append(vs.Sweep, ps)
		}
	}
	for _, r := range v.Replications {
		vs.Events += r.Events
	}
	for _, name := range workloadNames(v) {
		vs.Workloads = append(vs.Workloads, summarizeWorkload(v, name, measuredS))
	}
	for _, name := range serviceNames(v) {
		vs.Services = append(vs.Services, summarizeService(v, name, measuredS))
	}
	vs.Timeline = summarizeTimeline(v)
	summarizeWarmup(v, &vs, warmup)
	vs.Autoscalers, vs.Deploys = summarizeFleets(v)
	return vs
}

func summarizeWorkload(v *Variant, name string, measuredS float64) WorkloadSummary {
	ws := WorkloadSummary{Name: name, Pooled: PooledLatency(v, name)}
	var throughput, errorRate []float64
	var hists, e2e []*stats.Histogram
	for i := range v.Replications {
		w := findWorkload(&v.Replications[i], name)
		if w == nil {
			continue
		}
		e2e = append(e2e, w.EndToEnd)
		o := w.Outcomes
		ws.Outcomes = ws.Outcomes.Add(o)
		ws.Requests += w.Arrived
		if measuredS > 0 {
			throughput = append(throughput, float64(o.OK)/measuredS)
		}
		if finished := o.Total() - o.InFlight; finished > 0 {
			errorRate = append(errorRate, float64(finished-o.OK)/float64(finished))
		}
		hists = append(hists, w.Latency)
	}
	ws.ThroughputPerS = estimate(throughput)
	ws.ErrorRate = estimate(errorRate)
	ws.LatencyS = summarizeLatency(hists)
	ws.EndToEndS = summarizeLatency(e2e)
	return ws
}

func summarizeService(v *Variant, name string, measuredS float64) ServiceSummary {
	ss := ServiceSummary{Name: name}
	var util, queue, running, little, lambdaW []float64
	varies := false
	var hists []*stats.Histogram
	var perInstance []int64
	found := false
	for i := range v.Replications {
		svc := findService(&v.Replications[i], name)
		if svc == nil {
			continue
		}
		if !found {
			ss.Instances, ss.Concurrency, found = svc.Instances, svc.Concurrency, true
		}
		ss.Completed += svc.Completed
		ss.Lost += svc.Lost
		util = append(util, svc.Utilisation)
		running = append(running, svc.Running)
		varies = varies || (svc.Running != 0 && svc.Running != float64(svc.Instances)) // 0: not recorded (a Replication made in Go)
		queue = append(queue, svc.QueueLengthMean)
		hists = append(hists, svc.Latency)
		if svc.Latency != nil && svc.Latency.Count() > 0 && measuredS > 0 {
			up := svc.Running
			if up == 0 {
				up = float64(svc.Instances) // not recorded: every instance up
			}
			little = append(little, svc.QueueLengthMean+svc.Utilisation*up*float64(svc.Concurrency))
			lambdaW = append(lambdaW, float64(svc.Completed)/measuredS*nsToSeconds(svc.Latency.Mean()))
		}
		for j, n := range svc.InstanceCompleted {
			if j == len(perInstance) {
				perInstance = append(perInstance, 0)
			}
			perInstance[j] += n
		}
	}
	if e := estimate(util); e != nil {
		ss.Utilisation = *e
	}
	if e := estimate(queue); e != nil {
		ss.QueueLengthMean = *e
	}
	if varies {
		ss.RunningInstances = estimate(running)
	}
	ss.LatencyS = summarizeLatency(hists)
	if l, lw := estimate(little), estimate(lambdaW); l != nil && lw != nil {
		ss.LittlesLaw = &LittleCheck{L: l.Mean, LambdaW: lw.Mean}
	}
	var total int64
	for _, n := range perInstance {
		total += n
	}
	if total > 0 {
		ss.InstanceShare = make([]float64, len(perInstance))
		for j, n := range perInstance {
			ss.InstanceShare[j] = float64(n) / float64(total)
		}
	}
	return ss
}

// summarizeLatency computes each statistic per histogram (one per
// replication, nanoseconds) and then its mean and interval across the
// histograms that hold data. It returns nil when none does.
func summarizeLatency(hists []*stats.Histogram) *Latency {
	var mean []float64
	var q [len(latencyQuantiles)][]float64
	for _, h := range hists {
		if h == nil || h.Count() == 0 {
			continue
		}
		mean = append(mean, nsToSeconds(h.Mean()))
		for k, p := range latencyQuantiles {
			q[k] = append(q[k], nsToSeconds(float64(h.Quantile(p))))
		}
	}
	em := estimate(mean)
	if em == nil {
		return nil
	}
	var eq [len(latencyQuantiles)]*Estimate
	for k := range q {
		if eq[k] = estimate(q[k]); eq[k] == nil {
			return nil // unreachable: q[k] has as many finite values as mean
		}
	}
	l := &Latency{Mean: em.Mean, P50: eq[0].Mean, P90: eq[1].Mean, P99: eq[2].Mean, P999: eq[3].Mean}
	if em.CI95 != nil && eq[0].CI95 != nil && eq[1].CI95 != nil && eq[2].CI95 != nil && eq[3].CI95 != nil {
		l.CI95 = &LatencyCI{Mean: *em.CI95, P50: *eq[0].CI95, P90: *eq[1].CI95, P99: *eq[2].CI95, P999: *eq[3].CI95}
	}
	return l
}

// estimate returns the mean of xs with its 95% interval (nil with fewer than
// two values). Values that are not finite, which a correct run never
// produces, are skipped so that the JSON stays valid. It returns nil when no
// value is left.
func estimate(xs []float64) *Estimate {
	finite := xs[:0:0]
	for _, x := range xs {
		if isFinite(x) {
			finite = append(finite, x)
		}
	}
	if len(finite) == 0 {
		return nil
	}
	mean, ci, ok := stats.MeanCI(finite)
	if !isFinite(mean) {
		return nil
	}
	e := &Estimate{Mean: mean}
	if ok && isFinite(ci.Lo) && isFinite(ci.Hi) {
		e.CI95 = &Interval{Lo: ci.Lo, Hi: ci.Hi}
	}
	return e
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func nsToSeconds(ns float64) float64 { return ns / 1e9 }

// PooledLatency returns the merge of the latency histograms (nanoseconds)
// of workload over v's replications, in replication order. The result is a
// new histogram, empty when the workload completed nothing ok or does not
// exist; v is not modified.
func PooledLatency(v *Variant, workload string) *stats.Histogram {
	h := stats.NewHistogram()
	for i := range v.Replications {
		if w := findWorkload(&v.Replications[i], workload); w != nil && w.Latency != nil {
			h.Merge(w.Latency)
		}
	}
	return h
}

func findWorkload(r *Replication, name string) *Workload {
	for i := range r.Workloads {
		if r.Workloads[i].Name == name {
			return &r.Workloads[i]
		}
	}
	return nil
}

func findService(r *Replication, name string) *Service {
	for i := range r.Services {
		if r.Services[i].Name == name {
			return &r.Services[i]
		}
	}
	return nil
}

// workloadNames returns the workload names of v in order of first
// appearance over its replications.
func workloadNames(v *Variant) []string {
	var names []string
	for _, r := range v.Replications {
		for _, w := range r.Workloads {
			names = appendNew(names, w.Name)
		}
	}
	return names
}

// serviceNames returns the service names of v in order of first appearance
// over its replications.
func serviceNames(v *Variant) []string {
	var names []string
	for _, r := range v.Replications {
		for _, s := range r.Services {
			names = appendNew(names, s.Name)
		}
	}
	return names
}

func appendNew(names []string, name string) []string {
	for _, n := range names {
		if n == name {
			return names
		}
	}
	return append(names, name)
}
