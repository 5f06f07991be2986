// Package concurrency models Envoy's adaptive concurrency filter: an
// inbound limit on the requests outstanding at one instance, adjusted from
// the latencies it observes by the gradient controller.
package concurrency

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("concurrency: invalid configuration")

// Config is Envoy's GradientControllerConfig. Zero fields take Envoy's
// defaults (adaptive_concurrency.proto and gradient_controller.cc); the
// two intervals, which Envoy requires, default to the values of Envoy's
// example configuration.
type Config struct {
	SamplePercentile float64       // the sampleRTT summary of a window, default 50
	UpdateInterval   time.Duration // concurrency_update_interval, default 100ms
	MaxLimit         int           // max_concurrency_limit, default 1000
	MinRTTInterval   time.Duration // min_rtt_calc_params.interval, default 60s
	MinRTTRequests   int           // request_count, default 50
	MinConcurrency   int           // pinned while measuring minRTT, and the floor; default 3
	BufferPercent    float64       // added to minRTT, default 25
	JitterPercent    float64       // delays each minRTT window, default 15
	// JitterSet tells an explicit jitter of 0 from "not set".
	JitterSet bool
}

// WithDefaults returns c with Envoy's defaults in place of zero fields.
func (c Config) WithDefaults() Config {
	if c.SamplePercentile == 0 {
		c.SamplePercentile = 50
	}
	if c.UpdateInterval == 0 {
		c.UpdateInterval = 100 * time.Millisecond
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = 1000
	}
	if c.MinRTTInterval == 0 {
		c.MinRTTInterval = time.Minute
	}
	if c.MinRTTRequests == 0 {
		c.MinRTTRequests = 50
	}
	if c.MinConcurrency == 0 {
		c.MinConcurrency = 3
	}
	if c.BufferPercent == 0 {
		c.BufferPercent = 25
	}
	if !c.JitterSet && c.JitterPercent == 0 {
		c.JitterPercent = 15
	}
	return c
}

// Validate reports a setting outside its range, naming the field.
func (c Config) Validate() error {
	switch {
	case !(c.SamplePercentile > 0 && c.SamplePercentile <= 100):
		return fmt.Errorf("%w: sample_percentile must be in (0, 100], got %g", ErrConfig, c.SamplePercentile)
	case c.UpdateInterval < time.Millisecond:
		return fmt.Errorf("%w: update_interval must be at least 1ms, got %v", ErrConfig, c.UpdateInterval)
	case c.MinRTTInterval < time.Millisecond:
		return fmt.Errorf("%w: min_rtt_interval must be at least 1ms, got %v", ErrConfig, c.MinRTTInterval)
	case c.MinConcurrency < 1 || c.MaxLimit < c.MinConcurrency:
		return fmt.Errorf("%w: need 1 <= min_concurrency <= max_limit, got %d and %d", ErrConfig, c.MinConcurrency, c.MaxLimit)
	case c.MinRTTRequests < 1:
		return fmt.Errorf("%w: min_rtt_requests must be >= 1, got %d", ErrConfig, c.MinRTTRequests)
	case !(c.BufferPercent >= 0 && c.BufferPercent <= 1000):
		return fmt.Errorf("%w: buffer must be in [0, 1000] percent, got %g", ErrConfig, c.BufferPercent)
	case !(c.JitterPercent >= 0 && c.JitterPercent <= 100):
		return fmt.Errorf("%w: jitter must be in [0, 100] percent, got %g", ErrConfig, c.JitterPercent)
	}
	return nil
}

// Event kinds of a Gradient.
const (
	evSampleReset int32 = iota + 1 // end of a sampling window
	evMinRTT                       // start of a minRTT window
)

// Gradient is Envoy's gradient controller (gradient_controller.cc, before
// min_concurrency_limit was split from min_concurrency): requests beyond
// the limit are blocked; every UpdateInterval the limit becomes
// gradient x limit + sqrt(gradient x limit), with gradient =
// clamp((minRTT x (1 + buffer)) / sampleRTT, 0.5, 2); every MinRTTInterval
// (plus jitter), and after 5 windows in a row at the minimum, the limit is
// pinned to MinConcurrency until MinRTTRequests latencies give a new
// minRTT. It implements sim.Handler for its two timers.
//
// Forward and Record are O(1), apart from the window summaries, O(buckets
// of the histogram) once per window.
type Gradient struct {
	cfg   Config
	s     *sim.Scheduler
	rnd   *sim.Rand
	limit int
	// outstanding requests forwarded and not yet recorded
	outstanding int
	minRTT      time.Duration
	sampleRTT   time.Duration
	hist        *stats.Histogram
	// In a minRTT window: the limit to restore, and the window's start
	// (requests sent before it are not sampled).
	inMinRTT     bool
	deferred     int
	minRTTEpoch  sim.Time
	consecMin    int
	minRTTTimer  sim.Timer
	sampleTimer  sim.Timer
	blocked      int64
	limitSamples int64 // windows summarised, for tests and reports
}

// NewGradient returns a controller on s that starts measuring the minRTT at
// once, as Envoy's does when it is created; rnd draws the jitter.
func NewGradient(s *sim.Scheduler, rnd *sim.Rand, cfg Config) (*Gradient, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gradient{cfg: cfg, s: s, rnd: rnd, limit: cfg.MinConcurrency, hist: stats.NewHistogram()}
	g.enterMinRTT()
	g.sampleTimer = s.After(cfg.UpdateInterval, g, sim.Event{Kind: evSampleReset})
	return g, nil
}

// Limit returns the current concurrency limit.
func (g *Gradient) Limit() int { return g.limit }

// MinRTT returns the last measured minRTT (0 before the first).
func (g *Gradient) MinRTT() time.Duration { return g.minRTT }

// Blocked returns the requests blocked so far.
func (g *Gradient) Blocked() int64 { return g.blocked }

// Forward reports whether a request may go on, and counts it outstanding
// if so (Envoy's forwardingDecision).
func (g *Gradient) Forward() bool {
	if g.outstanding < g.limit {
		g.outstanding++
		return true
	}
	g.blocked++
	return false
}

// Record ends a forwarded request sent at sent, sampling its latency
// (recordLatencySample).
func (g *Gradient) Record(sent sim.Time) {
	g.outstanding--
	if sent < g.minRTTEpoch {
		return // from before the minRTT window: not a sample of it
	}
	g.hist.Record(int64(g.s.Now().Sub(sent)))
	if g.inMinRTT && g.hist.Count() >= int64(g.cfg.MinRTTRequests) {
		g.updateMinRTT()
	}
}

// Cancel ends a forwarded request without a latency sample
// (cancelLatencySample).
func (g *Gradient) Cancel() { g.outstanding-- }

// Handle implements sim.Handler.
func (g *Gradient) Handle(ev sim.Event) {
	switch ev.Kind {
	case evSampleReset:
		g.sampleTimer = sim.Timer{}
		if g.inMinRTT {
			return // re-armed when the minRTT window ends
		}
		g.resetSampleWindow()
		g.sampleTimer = g.s.After(g.cfg.UpdateInterval, g, sim.Event{Kind: evSampleReset})
	case evMinRTT:
		g.minRTTTimer = sim.Timer{}
		g.enterMinRTT()
	default:
		panic(fmt.Sprintf("concurrency: gradient got event kind %d", ev.Kind))
	}
}

func (g *Gradient) enterMinRTT() {
	if g.inMinRTT {
		return
	}
	g.inMinRTT = true
	g.deferred = g.limit
	g.setLimit(g.cfg.MinConcurrency)
	g.hist.Reset()
	g.minRTTEpoch = g.s.Now()
}

func (g *Gradient) updateMinRTT() {
	if g.hist.Count() > 0 {
		g.minRTT = g.summary()
	}
	g.inMinRTT = false // before setLimit, so that restoring is not counted as at the minimum
	g.setLimit(g.deferred)
	g.deferred = 0
	g.s.Cancel(g.minRTTTimer)
	g.minRTTTimer = g.s.After(g.jitter(g.cfg.MinRTTInterval), g, sim.Event{Kind: evMinRTT})
	g.s.Cancel(g.sampleTimer)
	g.sampleTimer = g.s.After(g.cfg.UpdateInterval, g, sim.Event{Kind: evSampleReset})
}

// jitter adds U[0, ceil(interval x jitter)) ms, as applyJitter.
func (g *Gradient) jitter(interval time.Duration) time.Duration {
	if g.cfg.JitterPercent == 0 {
		return interval
	}
	ms := interval.Milliseconds()
	span := uint64(math.Ceil(float64(ms) * g.cfg.JitterPercent / 100))
	if span == 0 {
		return interval
	}
	return time.Duration(ms+int64(g.rnd.Uint64()%span)) * time.Millisecond
}

func (g *Gradient) resetSampleWindow() {
	if g.hist.Count() == 0 {
		return
	}
	g.sampleRTT = g.summary()
	g.limitSamples++
	g.setLimit(g.newLimit())
}

// summary is the configured percentile of the samples, which it clears.
func (g *Gradient) summary() time.Duration {
	v := time.Duration(g.hist.Quantile(g.cfg.SamplePercentile / 100))
	g.hist.Reset()
	return v
}

// newLimit is calculateNewLimit.
func (g *Gradient) newLimit() int {
	buffered := float64(g.minRTT) * (1 + g.cfg.BufferPercent/100)
	gradient := max(0.5, min(2.0, buffered/float64(max(g.sampleRTT, 1))))
	limit := float64(g.limit) * gradient
	n := int(limit + math.Sqrt(limit)) // truncated, as the uint32 conversion
	return max(g.cfg.MinConcurrency, min(g.cfg.MaxLimit, n))
}

// setLimit is updateConcurrencyLimit: five windows in a row at the minimum
// (outside a minRTT window) start a new minRTT measurement at once.
func (g *Gradient) setLimit(n int) {
	old := g.limit
	g.limit = n
	if !g.inMinRTT && old == g.cfg.MinConcurrency && n == g.cfg.MinConcurrency {
		g.consecMin++
	} else {
		g.consecMin = 0
	}
	if g.consecMin >= 5 {
		g.s.Cancel(g.minRTTTimer)
		g.minRTTTimer = g.s.After(0, g, sim.Event{Kind: evMinRTT})
	}
}
