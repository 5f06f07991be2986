package dist

import (
	"time"

	"github.com/meshsim/meshsim/sim"
)

// pareto is Pareto type I with scale xm and shape alpha.
type pareto struct {
	xm, shape float64
	mean      time.Duration
	str       string
}

// Pareto returns the Pareto type I distribution with minimum value scale
// (xm) and tail index shape (alpha): P(X > x) = (xm/x)^alpha for x >= xm.
// Its mean is alpha*xm/(alpha-1). shape must be > 1, because for shape <= 1
// the mean is infinite and no simulation statistic would converge; note
// that for shape <= 2 the variance is infinite, so sample means converge
// slowly. scale must be positive and the mean must fit in a time.Duration.
func Pareto(scale time.Duration, shape float64) (Dist, error) {
	if scale <= 0 {
		return nil, errParam("pareto", "scale must be > 0, got %v", scale)
	}
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	xm := float64(scale)
	mean := float64(shape*xm) / (shape - 1)
	if !(mean < 0x1p63) {
		return nil, errParam("pareto", "shape %v too close to 1: the mean overflows time.Duration", shape)
	}
	return &pareto{xm, shape, toDuration(mean),
		"pareto(scale=" + scale.String() + ", shape=" + fmtFloat(shape) + ")"}, nil
}

// ParetoMean returns the Pareto type I distribution with the given mean and
// shape, that is with scale mean*(shape-1)/shape. It needs mean > 0 and
// shape > 1 (shape <= 1 has an infinite mean).
func ParetoMean(mean time.Duration, shape float64) (Dist, error) {
	if mean <= 0 {
		return nil, errParam("pareto", "mean must be > 0, got %v", mean)
	}
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	xm := float64(float64(mean)*(shape-1)) / shape
	return &pareto{xm, shape, mean,
		"pareto(mean=" + mean.String() + ", shape=" + fmtFloat(shape) + ")"}, nil
}

func checkShape(shape float64) error {
	if !(shape > 1) || !validFloat(shape) {
		return errParam("pareto", "shape must be finite and > 1 (shape <= 1 has an infinite mean), got %v", shape)
	}
	return nil
}

func (d *pareto) Sample(r *sim.Rand) time.Duration { return d.quantile(r.Float64Open()) }

// quantile is xm*(1-p)^(-1/shape), computed as xm*exp(-ln(1-p)/shape).
func (d *pareto) quantile(p float64) time.Duration {
	return toDuration(float64(d.xm * fexp(-flog(1-p)/d.shape)))
}
func (d *pareto) Mean() time.Duration { return d.mean }
func (d *pareto) String() string      { return d.str }
func (d *pareto) Quantile(p float64) time.Duration {
	checkP(p)
	return d.quantile(p)
}
