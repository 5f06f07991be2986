package dist

import (
	"time"

	"github.com/meshsim/meshsim/sim"
)

// weibull is the Weibull distribution with scale lambda and shape k.
type weibull struct {
	lambda, shape float64
	mean          time.Duration
	str           string
}

// Weibull returns the Weibull distribution with scale lambda and shape k:
// P(X > x) = exp(-(x/lambda)^k). Reliability models use it for the time to
// failure: k = 1 is the exponential (a constant hazard), k < 1 a falling
// hazard (early failures), k > 1 a rising one (wear-out). Its mean is
// lambda*Gamma(1 + 1/k). scale must be positive, shape positive and
// finite, and the mean must fit in a time.Duration.
func Weibull(scale time.Duration, shape float64) (Dist, error) {
	if scale <= 0 {
		return nil, errParam("weibull", "scale must be > 0, got %v", scale)
	}
	if !(shape > 0) || !validFloat(shape) {
		return nil, errParam("weibull", "shape must be finite and > 0, got %v", shape)
	}
	mean := float64(float64(scale) * gamma(1+1/shape))
	if !(mean < 0x1p63) {
		return nil, errParam("weibull", "shape %v is so small that the mean overflows time.Duration", shape)
	}
	return &weibull{float64(scale), shape, toDuration(mean),
		"weibull(scale=" + scale.String() + ", shape=" + fmtFloat(shape) + ")"}, nil
}

func (d *weibull) Sample(r *sim.Rand) time.Duration { return d.quantile(r.Float64Open()) }

// quantile is lambda*(-ln(1-p))^(1/k), computed with the portable log and
// exp so that every machine draws the same values.
func (d *weibull) quantile(p float64) time.Duration {
	return toDuration(float64(d.lambda * fexp(flog(-flog(1-p))/d.shape)))
}

func (d *weibull) Mean() time.Duration { return d.mean }
func (d *weibull) String() string      { return d.str }
func (d *weibull) Quantile(p float64) time.Duration {
	checkP(p)
	return d.quantile(p)
}

// lanczos are the Lanczos coefficients for g = 7, n = 9.
var lanczos = [...]float64{
	0.99999999999980993, 676.5203681218851, -1259.1392167224028,
	771.32342877765313, -176.61502916214059, 12.507343278686905,
	-0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
}

// gamma is the Gamma function for x >= 1 by the Lanczos approximation
// (relative error about 1e-15), with explicit float64 conversions so that
// no multiply-add is fused and every machine computes the same value. It
// sets a distribution's mean, not its draws.
func gamma(x float64) float64 {
	const g = 7
	x--
	a := lanczos[0]
	t := x + g + 0.5
	for i := 1; i < len(lanczos); i++ {
		a += float64(lanczos[i] / (x + float64(i)))
	}
	// sqrt(2 pi) * t^(x+0.5) * e^-t * a
	return float64(float64(2.5066282746310002*fexp(float64(float64(x+0.5)*flog(t))-t)) * a)
}
