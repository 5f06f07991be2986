package results

import (
	"errors"
	"fmt"

	"github.com/meshsim/meshsim/sim/stats"
)

// Sentinel errors of Compare and of Comparison's methods; test with errors.Is.
var (
	// ErrUnknownVariant means a variant name is not in the Experiment.
	ErrUnknownVariant = errors.New("results: unknown variant")
	// ErrUnknownWorkload means a workload is missing from a replication.
	ErrUnknownWorkload = errors.New("results: unknown workload")
	// ErrUnpaired means the two variants' replications do not pair up one
	// to one (different counts or indices), so a paired difference is
	// meaningless.
	ErrUnpaired = errors.New("results: replications are not paired")
	// ErrTooFewReplications means there are fewer than two pairs, so a
	// confidence interval is undefined.
	ErrTooFewReplications = errors.New("results: too few replications for a confidence interval")
	// ErrNoData means a replication completed no request ok, so its latency
	// statistics are undefined.
	ErrNoData = errors.New("results: no completed requests")
)

// Comparison pairs the replications of two variants of one Experiment. Under
// common random numbers replication i of every variant sees the same
// arrivals and service times, so the per-replication differences cancel
// most of the noise and the paired interval is much tighter than the
// difference of two independent intervals.
type Comparison struct {
	A, B string // variant names: deltas are A minus B
	a, b *Variant
}

// Delta is a paired difference A - B in seconds: the mean of the
// per-replication differences and its 95% Student t interval [Lo, Hi].
// A negative Hi means A is lower (faster) than B with 95% confidence.
type Delta struct {
	Mean, Lo, Hi float64
}

// Compare pairs variant a with variant b, replication by replication. It
// returns an error wrapping ErrUnknownVariant if either name is missing,
// ErrUnpaired if their replications differ in count or index, and
// ErrTooFewReplications if they have none.
func (e *Experiment) Compare(a, b string) (*Comparison, error) {
	va, err := e.variant(a)
	if err != nil {
		return nil, err
	}
	vb, err := e.variant(b)
	if err != nil {
		return nil, err
	}
	if len(va.Replications) != len(vb.Replications) {
		return nil, fmt.Errorf("%w: variant %q has %d replications, %q has %d",
			ErrUnpaired, a, len(va.Replications), b, len(vb.Replications))
	}
	if len(va.Replications) == 0 {
		return nil, fmt.Errorf("%w: variants %q and %q have no replications", ErrTooFewReplications, a, b)
	}
	for i := range va.Replications {
		if ia, ib := va.Replications[i].Index, vb.Replications[i].Index; ia != ib {
			return nil, fmt.Errorf("%w: position %d holds replication %d of %q but %d of %q",
				ErrUnpaired, i, ia, a, ib, b)
		}
	}
	return &Comparison{A: a, B: b, a: va, b: vb}, nil
}

func (e *Experiment) variant(name string) (*Variant, error) {
	for i := range e.Variants {
		if e.Variants[i].Name == name {
			return &e.Variants[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownVariant, name)
}

// Quantile returns the paired difference A - B of the q-quantile of
// workload's ok latency, in seconds. Each replication's quantile comes from
// its own histogram. With a single replication it returns the point
// estimate with Lo = Hi = Mean and an error wrapping ErrTooFewReplications.
func (c *Comparison) Quantile(workload string, q float64) (Delta, error) {
	if !(q >= 0 && q <= 1) {
		return Delta{}, fmt.Errorf("results: quantile %v outside [0, 1]", q)
	}
	return c.paired(workload, func(h *stats.Histogram) float64 {
		return nsToSeconds(float64(h.Quantile(q)))
	})
}

// Mean returns the paired difference A - B of workload's mean ok latency,
// in seconds, as Quantile does for a quantile.
func (c *Comparison) Mean(workload string) (Delta, error) {
	return c.paired(workload, func(h *stats.Histogram) float64 {
		return nsToSeconds(h.Mean())
	})
}

// paired computes d_i = stat(A_i) - stat(B_i) for every replication i, in
// replication order, and the t interval of their mean.
func (c *Comparison) paired(workload string, stat func(*stats.Histogram) float64) (Delta, error) {
	d := make([]float64, len(c.a.Replications))
	for i := range c.a.Replications {
		ha, err := latencyOf(c.a, i, workload)
		if err != nil {
			return Delta{}, err
		}
		hb, err := latencyOf(c.b, i, workload)
		if err != nil {
			return Delta{}, err
		}
		d[i] = stat(ha) - stat(hb)
	}
	mean, ci, ok := stats.MeanCI(d)
	if !ok {
		return Delta{Mean: mean, Lo: mean, Hi: mean}, fmt.Errorf("%w: %d paired replication of %q and %q",
			ErrTooFewReplications, len(d), c.A, c.B)
	}
	return Delta{Mean: mean, Lo: ci.Lo, Hi: ci.Hi}, nil
}

func latencyOf(v *Variant, i int, workload string) (*stats.Histogram, error) {
	r := &v.Replications[i]
	w := findWorkload(r, workload)
	if w == nil {
		return nil, fmt.Errorf("%w %q in replication %d of variant %q", ErrUnknownWorkload, workload, r.Index, v.Name)
	}
	if w.Latency == nil || w.Latency.Count() == 0 {
		return nil, fmt.Errorf("%w: workload %q in replication %d of variant %q",
			ErrNoData, workload, r.Index, v.Name)
	}
	return w.Latency, nil
}
