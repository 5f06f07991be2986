package autoscale

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Observation is the state of the scale target at a sync.
type Observation struct {
	// Replicas is the target's spec replicas: the count SetReplicas last
	// set, or the initial count. The HPA's "current replicas".
	Replicas int
	// Ready is the number of pods that have a metric: running and ready.
	Ready int
	// Unready is the number of pods the HPA ignores: created but not yet
	// ready (Kubernetes: Pending, or for cpu unready in the initialisation
	// period). Terminating pods count nowhere.
	Unready int
	// Usage is the metric summed over the Ready pods, in thousandths:
	// for Utilization each pod contributes its use of the resource in
	// thousandths of its request (1000 = using exactly its request), for
	// AverageValue its value in milli-units (1000 per request in flight).
	Usage int64
}

// Metrics reads the scale target. Observe is called once per sync, must not
// block and must not call back into the Autoscaler.
type Metrics interface {
	Observe() Observation
}

// Scaler sets the target's replicas. SetReplicas is called at most once per
// sync, only with a count different from Observation.Replicas, within
// [MinReplicas, MaxReplicas]. The integrator starts or drains pods; the
// next Observation must report n as Replicas.
type Scaler interface {
	SetReplicas(n int)
}

// Reason says why a sync decided what it did, after Kubernetes' condition
// reasons.
type Reason uint8

// The reasons.
const (
	ReasonWithinRange     Reason = iota // the stabilised proposal, unlimited (DesiredWithinRange)
	ReasonScalingDisabled               // current replicas 0 (ScalingDisabled)
	ReasonAboveMax                      // current replicas above max_replicas
	ReasonBelowMin                      // current replicas below min_replicas
	ReasonNoMetrics                     // no ready pod (FailedGetResourceMetric)
	ReasonScaleUpLimit                  // limited by the scale-up policies
	ReasonScaleDownLimit                // limited by the scale-down policies
	ReasonTooManyReplicas               // clamped to max_replicas
	ReasonTooFewReplicas                // clamped to min_replicas
	numReasons
)

var reasonNames = [numReasons]string{"DesiredWithinRange", "ScalingDisabled", "AboveMaxReplicas", "BelowMinReplicas",
	"NoMetrics", "ScaleUpLimit", "ScaleDownLimit", "TooManyReplicas", "TooFewReplicas"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Decision records one sync.
type Decision struct {
	At      sim.Time
	Current int // spec replicas at the sync
	Ready   int
	Unready int
	// Metric is the average over the ready pods as the HPA computed it
	// (whole percent or milli-units); -1 if not computed.
	Metric int64
	// Proposal is the metric's replica count before stabilisation
	// (-1 if not computed), Stabilized after it, Desired the result.
	Proposal, Stabilized, Desired int
	Reason                        Reason
}

// Scaled reports whether the sync changed the replica count.
func (d Decision) Scaled() bool { return d.Desired != d.Current }

// String formats d for logs and goldens.
func (d Decision) String() string {
	return fmt.Sprintf("%v current=%d ready=%d unready=%d metric=%d proposal=%d stabilized=%d desired=%d %v",
		d.At, d.Current, d.Ready, d.Unready, d.Metric, d.Proposal, d.Stabilized, d.Desired, d.Reason)
}

// MaxDecisions bounds the decision log: the first MaxDecisions syncs are
// kept, later ones only counted. At the default 15 s that is 41 hours.
const MaxDecisions = 10000

// timestamped is a proposal or a scale event.
type timestamped struct {
	at sim.Time
	n  int // proposed replicas, or replicas added or removed
}

const evSync int32 = 1

// Autoscaler is one HorizontalPodAutoscaler. It implements sim.Handler for
// its sync timer. A sync is O(window/period) and allocates nothing once
// its history and the decision log have stopped growing. An Autoscaler is
// not safe for concurrent use.
type Autoscaler struct {
	s       *sim.Scheduler
	cfg     Config
	metrics Metrics
	scaler  Scaler
	recs    []timestamped // proposals, for stabilisation
	ups     []timestamped // replicas added, for the rate limits
	downs   []timestamped // replicas removed
	oldest  time.Duration // history older than this is reusable
	timer   sim.Timer
	log     []Decision
	logMax  int
	dropped int64
	syncs   int64
}

// New returns an autoscaler under cfg reading metrics and scaling through
// scaler. Zero fields of cfg take Kubernetes' defaults
// (Config.WithDefaults); an invalid cfg returns an error wrapping
// ErrConfig. Call Start to begin syncing.
func New(s *sim.Scheduler, cfg Config, metrics Metrics, scaler Scaler) (*Autoscaler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil || metrics == nil || scaler == nil {
		return nil, fmt.Errorf("%w: nil scheduler, metrics or scaler", ErrConfig)
	}
	cfg = cfg.WithDefaults()
	a := &Autoscaler{s: s, cfg: cfg, metrics: metrics, scaler: scaler, logMax: MaxDecisions}
	a.oldest = max(cfg.ScaleUp.StabilizationWindow.Or(0), cfg.ScaleDown.StabilizationWindow.Or(0))
	for _, p := range cfg.ScaleUp.Policies {
		a.oldest = max(a.oldest, p.Period)
	}
	for _, p := range cfg.ScaleDown.Policies {
		a.oldest = max(a.oldest, p.Period)
	}
	return a, nil
}

// Config returns the configuration the autoscaler runs, defaults filled.
func (a *Autoscaler) Config() Config { return a.cfg }

// Start schedules the first sync one sync period from now; each sync
// schedules the next. Starting a started autoscaler does nothing.
func (a *Autoscaler) Start() {
	if a.s.Scheduled(a.timer) {
		return
	}
	a.timer = a.s.After(a.cfg.SyncPeriod, a, sim.Event{Kind: evSync})
}

// Stop cancels the pending sync.
func (a *Autoscaler) Stop() {
	a.s.Cancel(a.timer)
	a.timer = sim.Timer{}
}

// Decisions returns the log of syncs in order, at most MaxDecisions. The
// slice is the autoscaler's; do not modify it.
func (a *Autoscaler) Decisions() []Decision { return a.log }

// Syncs returns the number of syncs run, and how many of them were left
// out of the decision log.
func (a *Autoscaler) Syncs() (total, dropped int64) { return a.syncs, a.dropped }

// Handle runs a sync. It implements sim.Handler.
func (a *Autoscaler) Handle(ev sim.Event) {
	if ev.Kind != evSync {
		panic(fmt.Sprintf("autoscale: unknown event kind %d at %v", ev.Kind, a.s.Now()))
	}
	a.timer = a.s.After(a.cfg.SyncPeriod, a, sim.Event{Kind: evSync})
	a.Sync()
}

// Sync runs one reconciliation now. The timer calls it every sync period;
// tests and integrators may call it directly (it does not reschedule).
func (a *Autoscaler) Sync() {
	obs := a.metrics.Observe()
	now := a.s.Now()
	cur := obs.Replicas
	d := Decision{At: now, Current: cur, Ready: obs.Ready, Unready: obs.Unready, Metric: -1, Proposal: -1, Stabilized: -1, Desired: cur}
	if len(a.recs) == 0 {
		// recordInitialRecommendation
		a.recs = append(a.recs, timestamped{now, cur})
	}
	switch {
	case cur == 0:
		d.Reason = ReasonScalingDisabled
	case cur > a.cfg.MaxReplicas:
		d.Desired, d.Reason = a.cfg.MaxReplicas, ReasonAboveMax
	case cur < a.cfg.MinReplicas:
		d.Desired, d.Reason = a.cfg.MinReplicas, ReasonBelowMin
	case obs.Ready <= 0:
		d.Reason = ReasonNoMetrics
	default:
		d.Metric, d.Proposal = a.propose(obs)
		if a.cfg.Legacy {
			d.Stabilized = a.stabilizeLegacy(now, d.Proposal)
			d.Desired, d.Reason = a.limitLegacy(cur, d.Stabilized)
		} else {
			d.Stabilized = a.stabilize(now, cur, d.Proposal)
			d.Desired, d.Reason = a.limit(now, cur, d.Stabilized)
		}
	}
	if d.Desired != cur {
		a.scaler.SetReplicas(d.Desired)
		a.storeEvent(now, cur, d.Desired)
	}
	a.syncs++
	if len(a.log) < a.logMax {
		a.log = append(a.log, d)
	} else {
		a.dropped++
	}
}

// propose is the replica calculator: it returns the metric as the HPA
// computes it and the proposed replicas.
func (a *Autoscaler) propose(obs Observation) (metric int64, proposal int) {
	cur, ready, unready := obs.Replicas, int64(obs.Ready), int64(obs.Unready)
	avg := func(pods int64) int64 {
		if a.cfg.Metric == Utilization {
			// GetResourceUtilizationRatio: int32(usage*100/requests),
			// requests = pods * 1000 thousandths.
			return obs.Usage * 100 / (pods * 1000)
		}
		return obs.Usage / pods // GetMetricUtilizationRatio
	}
	tol := a.cfg.Tolerance.Or(DefaultTolerance)
	target := float64(a.cfg.Target)
	metric = avg(ready)
	ratio := float64(metric) / target
	if unready == 0 || ratio <= 1 {
		if math.Abs(1-ratio) <= tol {
			return metric, cur
		}
		return metric, ceil(float64(ratio * float64(ready)))
	}
	// Scale-up with unready pods: count them at 0 and recompute.
	newRatio := float64(avg(ready+unready)) / target
	if math.Abs(1-newRatio) <= tol || newRatio < 1 {
		return metric, cur
	}
	n := ceil(float64(newRatio * float64(ready+unready)))
	if n < cur {
		return metric, cur // the change of pod count would reverse the direction
	}
	return metric, n
}

func ceil(x float64) int {
	if x >= MaxReplicasLimit*4 {
		return MaxReplicasLimit * 4 // clamped to max_replicas later
	}
	return int(math.Ceil(x))
}

// stabilize is stabilizeRecommendationWithBehaviors.
func (a *Autoscaler) stabilize(now sim.Time, cur, proposal int) int {
	upCut := now.Add(-a.cfg.ScaleUp.StabilizationWindow.Or(0))
	downCut := now.Add(-a.cfg.ScaleDown.StabilizationWindow.Or(0))
	up, down := proposal, proposal
	for _, r := range a.recs {
		if r.at > upCut {
			up = min(up, r.n)
		}
		if r.at > downCut {
			down = max(down, r.n)
		}
	}
	rec := max(cur, up)
	rec = min(rec, down)
	a.record(now, proposal)
	return rec
}

// stabilizeLegacy is stabilizeRecommendation: the maximum over the
// scale-down window, its start included.
func (a *Autoscaler) stabilizeLegacy(now sim.Time, proposal int) int {
	cut := now.Add(-a.cfg.ScaleDown.StabilizationWindow.Or(0))
	rec := proposal
	for _, r := range a.recs {
		if r.at >= cut {
			rec = max(rec, r.n)
		}
	}
	a.record(now, proposal)
	return rec
}

// record stores a proposal, reusing one older than every window
// (Kubernetes reuses the last such slot it finds; any will do, since the
// order of a.recs never matters).
func (a *Autoscaler) record(now sim.Time, proposal int) {
	cut := now.Add(-a.oldest)
	for i := range a.recs {
		if a.recs[i].at < cut {
			a.recs[i] = timestamped{now, proposal}
			return
		}
	}
	a.recs = append(a.recs, timestamped{now, proposal})
}

// limit is convertDesiredReplicasWithBehaviorRate.
func (a *Autoscaler) limit(now sim.Time, cur, desired int) (int, Reason) {
	switch {
	case desired > cur:
		upLimit := max(a.scaleUpLimit(now, cur), cur)
		maxAllowed, reason := a.cfg.MaxReplicas, ReasonTooManyReplicas
		if maxAllowed > upLimit {
			maxAllowed, reason = upLimit, ReasonScaleUpLimit
		}
		if desired > maxAllowed {
			return maxAllowed, reason
		}
	case desired < cur:
		downLimit := min(a.scaleDownLimit(now, cur), cur)
		minAllowed, reason := a.cfg.MinReplicas, ReasonTooFewReplicas
		if minAllowed < downLimit {
			minAllowed, reason = downLimit, ReasonScaleDownLimit
		}
		if desired < minAllowed {
			return minAllowed, reason
		}
	}
	return desired, ReasonWithinRange
}

// limitLegacy is convertDesiredReplicasWithRules.
func (a *Autoscaler) limitLegacy(cur, desired int) (int, Reason) {
	upLimit := max(2*cur, 4) // scaleUpLimitFactor 2, scaleUpLimitMinimum 4
	maxAllowed, reason := a.cfg.MaxReplicas, ReasonTooManyReplicas
	if maxAllowed > upLimit {
		maxAllowed, reason = upLimit, ReasonScaleUpLimit
	}
	switch {
	case desired < a.cfg.MinReplicas:
		return a.cfg.MinReplicas, ReasonTooFewReplicas
	case desired > maxAllowed:
		return maxAllowed, reason
	}
	return desired, ReasonWithinRange
}

// changed returns the replicas added and removed after now-period.
func (a *Autoscaler) changed(now sim.Time, period time.Duration) (added, removed int) {
	cut := now.Add(-period)
	for _, e := range a.ups {
		if e.at > cut {
			added += e.n
		}
	}
	for _, e := range a.downs {
		if e.at > cut {
			removed += e.n
		}
	}
	return added, removed
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules.
func (a *Autoscaler) scaleUpLimit(now sim.Time, cur int) int {
	r := a.cfg.ScaleUp
	if r.Select == SelectDisabled {
		return cur
	}
	result := math.MinInt
	if r.Select == SelectMin {
		result = math.MaxInt
	}
	for _, p := range r.Policies {
		added, removed := a.changed(now, p.Period)
		start := cur - added + removed
		var proposed int
		if p.Type == Pods {
			proposed = start + p.Value
		} else {
			// Rounded up, with Kubernetes' float arithmetic.
			proposed = int(math.Ceil(float64(float64(start) * (1 + float64(p.Value)/100))))
		}
		if r.Select == SelectMin {
			result = min(result, proposed)
		} else {
			result = max(result, proposed)
		}
	}
	return result
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors.
func (a *Autoscaler) scaleDownLimit(now sim.Time, cur int) int {
	r := a.cfg.ScaleDown
	if r.Select == SelectDisabled {
		return cur
	}
	result := math.MaxInt
	if r.Select == SelectMin {
		result = math.MinInt
	}
	for _, p := range r.Policies {
		added, removed := a.changed(now, p.Period)
		start := cur - added + removed
		var proposed int
		if p.Type == Pods {
			proposed = start - p.Value
		} else {
			// Truncated, with Kubernetes' float arithmetic.
			proposed = int(float64(float64(start) * (1 - float64(p.Value)/100)))
		}
		if r.Select == SelectMin {
			result = max(result, proposed)
		} else {
			result = min(result, proposed)
		}
	}
	return result
}

// storeEvent is storeScaleEvent: it records the change, reusing an event
// older than the direction's longest policy period.
func (a *Autoscaler) storeEvent(now sim.Time, from, to int) {
	events, rules, n := &a.ups, a.cfg.ScaleUp, to-from
	if to < from {
		events, rules, n = &a.downs, a.cfg.ScaleDown, from-to
	}
	var longest time.Duration
	for _, p := range rules.Policies {
		longest = max(longest, p.Period)
	}
	cut := now.Add(-longest)
	for i := range *events {
		if (*events)[i].at < cut {
			(*events)[i] = timestamped{now, n}
			return
		}
	}
	*events = append(*events, timestamped{now, n})
}
