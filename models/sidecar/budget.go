package sidecar

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// RatioBudget is Linkerd's and Finagle's retry budget: retries may add at
// most Ratio extra load over the last TTL, plus MinPerSecond retries per
// second regardless of load. It bounds retries by rate, where Envoy's
// RetryBudget bounds them by concurrency.
type RatioBudget struct {
	Ratio        float64       // default 0.2
	MinPerSecond int           // default 10
	TTL          time.Duration // default 10s
}

func (b *RatioBudget) validate() error {
	if b.Ratio == 0 {
		b.Ratio = 0.2
	}
	if b.MinPerSecond == 0 {
		b.MinPerSecond = 10
	}
	if b.TTL == 0 {
		b.TTL = 10 * time.Second
	}
	switch {
	case !(b.Ratio > 0 && b.Ratio <= 1000):
		return fmt.Errorf("%w: retry ratio must be in (0, 1000], got %g", ErrConfig, b.Ratio)
	case b.MinPerSecond < 0:
		return fmt.Errorf("%w: min_retries_per_second must be >= 0, got %d", ErrConfig, b.MinPerSecond)
	case b.TTL < time.Second || b.TTL > time.Hour:
		return fmt.Errorf("%w: retry budget ttl must be between 1s and 1h, got %v", ErrConfig, b.TTL)
	}
	return nil
}

// budgetSlices is the number of slices of a windowed budget, as Finagle's
// WindowedAdder.
const budgetSlices = 10

// tokenBudget is Finagle's TokenRetryBudget over a LeakyBucket: every
// request deposits 1000 tokens, every retry withdraws 1000/ratio, and the
// balance is what was put in the last TTL (in budgetSlices slices) plus a
// reserve of MinPerSecond x TTL retries (finagle-core
// service/RetryBudget.scala, util/TokenBucket.scala). linkerd2-proxy's
// TpsBudget follows the same design. All operations are O(budgetSlices).
type tokenBudget struct {
	slice    time.Duration
	sums     [budgetSlices]int64
	cur      int
	curStart sim.Time
	reserve  int64
	deposit  int64
	withdraw int64
}

func newTokenBudget(b RatioBudget) *tokenBudget {
	const scale = 1000
	withdraw := int64(scale / b.Ratio)
	return &tokenBudget{
		slice:    b.TTL / budgetSlices,
		reserve:  int64(b.MinPerSecond) * int64(b.TTL/time.Second) * withdraw,
		deposit:  scale,
		withdraw: withdraw,
	}
}

// advance expires the slices that ended more than a TTL before now.
func (t *tokenBudget) advance(now sim.Time) {
	for n := 0; now.Sub(t.curStart) >= t.slice && n < budgetSlices; n++ {
		t.cur = (t.cur + 1) % budgetSlices
		t.sums[t.cur] = 0
		t.curStart = t.curStart.Add(t.slice)
	}
	if now.Sub(t.curStart) >= t.slice { // idle for longer than the whole window
		t.curStart = now
	}
}

// Deposit credits one request.
func (t *tokenBudget) Deposit(now sim.Time) {
	t.advance(now)
	t.sums[t.cur] += t.deposit
}

// TryWithdraw takes the cost of one retry if the balance allows it.
func (t *tokenBudget) TryWithdraw(now sim.Time) bool {
	t.advance(now)
	total := t.reserve
	for _, s := range t.sums {
		total += s
	}
	if total < t.withdraw {
		return false
	}
	t.sums[t.cur] -= t.withdraw
	return true
}

// PercentileHedge is Finagle's backup requests (BackupRequestFilter): a
// call sends a second attempt when the first has not answered within the
// Percentile of the attempt latencies observed over the last Window, so
// that about 1 - Percentile/100 of the calls are hedged. Until MinSamples
// latencies have been seen, no call is hedged. A cluster keeps one window
// for all its routes and pushed policies: Window and Refresh are those of
// the first policy that hedged by percentile, Percentile and MinSamples
// each call's own.
type PercentileHedge struct {
	Percentile float64       // e.g. 95; in (0, 100)
	Window     time.Duration // default 30s (Finagle's history window)
	MinSamples int           // default 100
	// Refresh is how often the delay is recomputed from the window
	// (Finagle refreshes its cutoff every 3 s); default 3s.
	Refresh time.Duration
}

func (h *PercentileHedge) validate() error {
	if h.Window == 0 {
		h.Window = 30 * time.Second
	}
	if h.MinSamples == 0 {
		h.MinSamples = 100
	}
	if h.Refresh == 0 {
		h.Refresh = 3 * time.Second
	}
	switch {
	case !(h.Percentile > 0 && h.Percentile < 100):
		return fmt.Errorf("%w: hedging percentile must be in (0, 100), got %g", ErrConfig, h.Percentile)
	case h.Window < time.Millisecond || h.Refresh <= 0 || h.MinSamples < 1:
		return fmt.Errorf("%w: hedging window, refresh and min_samples must be positive", ErrConfig)
	}
	return nil
}

// hedgeBuckets is the number of histograms a windowed latency keeps, as
// Finagle's WindowedPercentileHistogram (three buckets over the window).
const hedgeBuckets = 3

// latencyWindow keeps the attempt latencies of the last window in
// hedgeBuckets rotating histograms, merged at most every Refresh, and the
// delays computed from them. A cluster has one window, whose length and
// refresh are those of the first policy that hedged by percentile; the
// percentile and min_samples are each call's (a route's, or a pushed
// policy's), so the window keeps the delays of a few at once.
type latencyWindow struct {
	cfg      PercentileHedge
	buckets  [hedgeBuckets]*stats.Histogram
	merged   *stats.Histogram
	cur      int
	curStart sim.Time
	cuts     [maxHedgeCuts]hedgeCut // delays computed from merged
	ncuts    int
	computed sim.Time
	fresh    bool
}

// maxHedgeCuts bounds the delays a window remembers between refreshes;
// a call whose percentile is not among them computes its own.
const maxHedgeCuts = 4

// hedgeCut is one delay computed from a window: 0 when fewer than
// minSamples latencies are known (no hedging).
type hedgeCut struct {
	percentile float64
	minSamples int
	delay      time.Duration
}

func newLatencyWindow(cfg PercentileHedge) *latencyWindow {
	w := &latencyWindow{cfg: cfg, merged: stats.NewHistogram()}
	for i := range w.buckets {
		w.buckets[i] = stats.NewHistogram()
	}
	return w
}

func (w *latencyWindow) advance(now sim.Time) {
	span := w.cfg.Window / hedgeBuckets
	for n := 0; now.Sub(w.curStart) >= span && n < hedgeBuckets; n++ {
		w.cur = (w.cur + 1) % hedgeBuckets
		w.buckets[w.cur].Reset()
		w.curStart = w.curStart.Add(span)
	}
	if now.Sub(w.curStart) >= span {
		w.curStart = now
	}
}

// Observe records one attempt's latency.
func (w *latencyWindow) Observe(d time.Duration, now sim.Time) {
	w.advance(now)
	w.buckets[w.cur].Record(int64(d))
}

// Delay returns the hedge delay at now for h's percentile, merging the
// window again at most every Refresh: O(buckets of the histograms) then,
// or for a percentile not among the last few computed; O(1) otherwise.
// 0 means do not hedge.
func (w *latencyWindow) Delay(now sim.Time, h *PercentileHedge) time.Duration {
	if !w.fresh || now.Sub(w.computed) >= w.cfg.Refresh {
		w.advance(now)
		w.merged.Reset()
		for _, b := range w.buckets {
			w.merged.Merge(b)
		}
		w.computed, w.fresh, w.ncuts = now, true, 0
	}
	for _, c := range w.cuts[:w.ncuts] {
		if c.percentile == h.Percentile && c.minSamples == h.MinSamples {
			return c.delay
		}
	}
	var d time.Duration
	if w.merged.Count() >= int64(h.MinSamples) {
		d = max(time.Duration(w.merged.Quantile(h.Percentile/100)), 1)
	}
	if w.ncuts < len(w.cuts) {
		w.cuts[w.ncuts] = hedgeCut{percentile: h.Percentile, minSamples: h.MinSamples, delay: d}
		w.ncuts++
	}
	return d
}
