package results

import (
	"math"
	"time"
)

// Warm-up detection: a diagnostic that tells whether a scenario's fixed
// warm-up deletes the start-up transient, by the marginal standard error
// rule applied to batch means of 5 observations, MSER-5 (White 1997;
// White, Cobb & Spratt 2000), as Hoad, Robinson & Davies (2010,
// "Automating warm-up length estimation") define it.

// MSERBatch is the batch size of MSER-5: each batch mean averages this
// many consecutive observations.
const MSERBatch = 5

// MinWarmupBatches is the fewest batch means DetectWarmup runs the rule
// on (50 windows of the timeline). With fewer, half the series (the most
// the rule may delete) is a handful of points and the answer is noise, so
// the check is left out instead.
const MinWarmupBatches = 10

// MSER returns d*, the truncation point of the marginal standard error
// rule on the series z (batch means, in time order): the number of leading
// values to delete. For n = len(z) and d = 0, 1, ..., n-1,
//
//	Zbar(d)  = 1/(n-d) · Σ_{j=d+1..n} z_j
//	MSER(d)  = 1/(n-d)² · Σ_{j=d+1..n} (z_j - Zbar(d))²
//
// and d* is the smallest d with d < n/2 (d = 0 .. ceil(n/2)-1: the search
// is limited to the first half of the series, as in Hoad, Robinson &
// Davies 2010, because MSER(d) of the last few points is small by chance)
// at which MSER(d) is minimal. It returns 0 for n < 2.
//
// The sums run from the end of the series (Welford's update, adding z_n,
// then z_{n-1}, ...) on the values shifted by z_n, which leaves MSER(d)
// unchanged in exact arithmetic: a constant tail then gives exactly 0,
// so a constant series has d* = 0 and a transient of k values followed
// by a constant has d* = k (for k < n/2), without rounding noise
// deciding. Values must be finite. The complexity is O(n).
func MSER(z []float64) int {
	d, _ := mserSearch(z)
	return d
}

// mserSearch returns MSER's d* and MSER(d*) (0 for n < 2).
func mserSearch(z []float64) (d int, mser float64) {
	n := len(z)
	if n < 2 {
		return 0, 0
	}
	limit := (n+1)/2 - 1 // the largest d with d < n/2
	ref := z[n-1]
	var avg, m2 float64 // of the shifted values in the suffix
	best, bestD := 0.0, 0
	for d := n - 1; d >= 0; d-- {
		// d counts from 0: the suffix z[d:] is z_{d+1..n} of the formula.
		x := z[d] - ref
		k := float64(n - d)
		delta := x - avg
		avg += delta / k
		m2 += float64(delta * (x - avg)) // float64(): no fused multiply-add, the same bits on every architecture
		if d > limit {
			continue
		}
		if mser := m2 / float64(k*k); d == limit || mser <= best {
			best, bestD = mser, d // <= going backwards: the smallest d wins a tie
		}
	}
	return bestD, best
}

// MSER5 applies MSER to the batch means of y: batch j (from 0) averages
// y[5j .. 5j+4], for the n = len(y)/5 whole batches; the last len(y) mod
// 5 observations are not used. It returns d* in batches (5·d*
// observations are to be deleted) and n.
func MSER5(y []float64) (d, n int) {
	z := batchMeans(y)
	return MSER(z), len(z)
}

// batchMeans returns the means of the whole batches of MSERBatch
// consecutive values of y, in order.
func batchMeans(y []float64) []float64 {
	z := make([]float64, len(y)/MSERBatch)
	for j := range z {
		z[j] = mean(y[j*MSERBatch : (j+1)*MSERBatch])
	}
	return z
}

// mean returns the mean of xs, summed in order; 0 for none.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// WarmupCheck is what MSER-5 says of one workload of one variant.
type WarmupCheck struct {
	Workload string
	// Detected is the truncation point as a time: the end of the last
	// window MSER-5 deletes, 0 when it deletes nothing.
	Detected time.Duration
	// Searched is the span of the run the series covers: up to the first
	// failure, deploy or config push that starts at or after the warm-up,
	// or the whole run without one.
	Searched time.Duration
	// Batches is n, the batch means searched, and Truncated d*, the
	// batches deleted.
	Batches, Truncated int
	// AtLimit reports that d* is the last point searched (the first half
	// of the series): the latency may not have settled even there.
	AtLimit bool
	// Bias is what the fixed warm-up leaves in: the mean of the batch
	// means after the batches the warm-up covers whole, minus their mean
	// after d* (positive when the start is slower); 0 when the warm-up
	// covers the d* batches. StdErr is sqrt(MSER(d*)), the standard error
	// of the mean of the batch means MSER-5 keeps.
	Bias, StdErr time.Duration
	// TooShort reports that the warm-up does not delete the transient:
	// Detected is later than the warm-up and |Bias| > 2 StdErr.
	TooShort bool
}

// DetectWarmup runs MSER-5 on each workload of v, in order of first
// appearance over the replications, and returns the workloads that have
// at least MinWarmupBatches batches. warmup is the scenario's fixed
// warm-up.
//
// The series is, per window of the timeline (Series), the mean latency of
// the requests that finished ok in the window, computed per replication
// and averaged, in replication order, over the replications that have
// one. A window in which no replication finished a request ok is skipped
// (the series goes on with the next window), not carried over: an outage
// must not be read as a stable stretch. Windows are those that end before
// the first failure, deploy or config push (autoscaler decisions, the
// system's own reaction, do not count) of any replication of v that
// starts at or after warmup: those perturb the run on purpose and would
// read as a transient. Events that start inside the warm-up stay in the
// series: they are part of what the warm-up is meant to delete.
//
// TooShort asks more than Detected > warmup: that the bias the warm-up
// leaves in exceeds twice the standard error of the truncated mean. On a
// stationary series MSER-5 often deletes a batch or a few, past a slow
// batch that is only noise: without the test, 13 of the 55 series of the
// shipped scenarios that are checked ended past their warm-up, one of
// them (zone-aware-routing, locality-failover) for a real transient. The
// warm-up is too short only when what it leaves in matters at the
// precision of the run.
//
// It decodes each window's histogram once: O(replications x windows x
// histogram size).
func DetectWarmup(v *Variant, warmup time.Duration) []WarmupCheck {
	var shape *Series
	for i := range v.Replications {
		for _, w := range v.Replications[i].Workloads {
			if shape == nil && w.Series != nil {
				shape = w.Series
			}
		}
	}
	if shape == nil || shape.Width <= 0 {
		return nil
	}
	searched := shape.End
	for _, r := range v.Replications {
		for _, f := range r.Failures {
			if f.Kind != "scale" && f.From >= warmup && f.From < searched {
				searched = f.From
			}
		}
	}
	windows := shape.Windows()
	if searched < shape.End {
		windows = min(windows, int(searched/shape.Width)) // whole windows before the event
	}
	// end returns the end of the window of observation i.
	var at []int
	end := func(i int) time.Duration { return min(time.Duration(at[i]+1)*shape.Width, shape.End) }
	var out []WarmupCheck
	for _, name := range workloadNames(v) {
		var y []float64
		y, at = windowMeans(v, name, windows)
		z := batchMeans(y)
		n := len(z)
		if n < MinWarmupBatches {
			continue
		}
		d, mser := mserSearch(z)
		c := WarmupCheck{Workload: name, Searched: searched, Batches: n, Truncated: d, AtLimit: d == (n+1)/2-1,
			StdErr: time.Duration(math.Round(math.Sqrt(mser)))}
		if d > 0 {
			c.Detected = end(d*MSERBatch - 1)
		}
		covered := 0 // batches that end inside the warm-up
		for covered < n && end((covered+1)*MSERBatch-1) <= warmup {
			covered++
		}
		if d > covered {
			c.Bias = time.Duration(math.Round(mean(z[covered:]) - mean(z[d:])))
			c.TooShort = c.Bias.Abs() > 2*c.StdErr
		}
		out = append(out, c)
	}
	return out
}

// windowMeans returns the mean ok latency (ns) of each of the first
// windows windows of workload name that has data, averaged over v's
// replications in replication order, and the index of each window kept.
// A window whose histogram does not decode, which Run never produces,
// counts as one without ok requests.
func windowMeans(v *Variant, name string, windows int) (means []float64, at []int) {
	sum := make([]float64, windows)
	reps := make([]int, windows)
	for i := range v.Replications {
		w := findWorkload(&v.Replications[i], name)
		if w == nil || w.Series == nil {
			continue
		}
		for k := range min(windows, w.Series.Windows()) {
			if h, err := w.Series.LatencyHistogram(k); err == nil && h.Count() > 0 {
				sum[k] += h.Mean()
				reps[k]++
			}
		}
	}
	for k := range windows {
		if reps[k] > 0 {
			means = append(means, sum[k]/float64(reps[k]))
			at = append(at, k)
		}
	}
	return means, at
}

// WarmupCheckSummary is a WarmupCheck in summary.json (docs/summary.md).
type WarmupCheckSummary struct {
	// DetectedS is the truncation point in seconds from the start of the
	// run; 0 when MSER-5 deletes nothing.
	DetectedS float64 `json:"detected_s"`
	// TooShort reports that the warm-up is too short (WarmupCheck).
	TooShort bool `json:"too_short"`
	// AtLimit reports that the truncation point is the last one searched.
	AtLimit bool `json:"at_limit"`
	// BiasS is the bias the warm-up leaves in the mean of the per-window
	// means, and StdErrS the standard error it is judged against.
	BiasS   float64 `json:"bias_s"`
	StdErrS float64 `json:"standard_error_s"`
	// SearchedS is the span of the run searched, in seconds.
	SearchedS        float64 `json:"searched_s"`
	Batches          int     `json:"batches"`
	TruncatedBatches int     `json:"truncated_batches"`
}

// summarizeWarmup attaches v's warm-up checks to the workloads of vs.
func summarizeWarmup(v *Variant, vs *VariantSummary, warmup time.Duration) {
	for _, c := range DetectWarmup(v, warmup) {
		for k := range vs.Workloads {
			if w := &vs.Workloads[k]; w.Name == c.Workload {
				w.WarmupCheck = &WarmupCheckSummary{
					DetectedS: c.Detected.Seconds(), TooShort: c.TooShort, AtLimit: c.AtLimit,
					BiasS: c.Bias.Seconds(), StdErrS: c.StdErr.Seconds(),
					SearchedS: c.Searched.Seconds(), Batches: c.Batches, TruncatedBatches: c.Truncated,
				}
			}
		}
	}
}
