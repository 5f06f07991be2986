package dist

import (
	"math"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// z99 is the 0.99 quantile of the standard normal distribution.
const z99 = 2.3263478740408408

// lognormal is exp(N(mu, sigma^2)), in ns.
type lognormal struct {
	mu, sigma float64
	mean      time.Duration
	str       string
}

// LognormalMeanP99 returns the lognormal distribution with the given mean
// and 0.99 quantile, the two numbers a dashboard usually shows. With
// r = p99/mean and z = 2.3263478740408408 (the normal 0.99 quantile), sigma
// solves sigma^2/2 - z*sigma + ln r = 0; of the two roots it takes the
// smaller one, sigma = z - sqrt(z^2 - 2 ln r) (the larger root fits the same
// two numbers with a lower median and a much heavier tail beyond p99), and
// mu = ln(mean) - sigma^2/2.
// A solution exists only for mean < p99 <= exp(z^2/2)*mean (about
// 14.97*mean); outside that range the error gives the allowed interval.
func LognormalMeanP99(mean, p99 time.Duration) (Dist, error) {
	if mean <= 0 {
		return nil, errParam("lognormal", "mean must be > 0, got %v", mean)
	}
	// The largest p99 for this mean, rounded to ns as the error shows it;
	// at that bound disc is 0 up to rounding, so clamp it there.
	maxRatio := fexp(z99 * z99 / 2)
	maxP99 := toDuration(float64(maxRatio * float64(mean)))
	if p99 <= mean || p99 > maxP99 {
		return nil, errParam("lognormal", "p99 must be in (mean, %.4g*mean] = (%v, %v], got %v",
			maxRatio, mean, maxP99, p99)
	}
	disc := max(z99*z99-float64(2*flog(float64(p99)/float64(mean))), 0)
	sigma := z99 - math.Sqrt(disc)
	mu := flog(float64(mean)) - float64(float64(sigma*sigma)/2)
	return &lognormal{
		mu:    mu,
		sigma: sigma,
		mean:  mean,
		str:   "lognormal(mean=" + mean.String() + ", p99=" + p99.String() + ")",
	}, nil
}

// LognormalMedianSigma returns exp(N(ln median, sigma^2)): median is its
// 0.5 quantile and sigma the standard deviation of its logarithm. It needs
// median > 0 and sigma > 0 (sigma == 0 is Constant(median)), and a mean,
// median*exp(sigma^2/2), that fits in a time.Duration.
func LognormalMedianSigma(median time.Duration, sigma float64) (Dist, error) {
	if median <= 0 {
		return nil, errParam("lognormal", "median must be > 0, got %v", median)
	}
	if !(sigma > 0) || !validFloat(sigma) {
		return nil, errParam("lognormal", "sigma must be finite and > 0, got %v", sigma)
	}
	mu := flog(float64(median))
	mean := fexp(mu + float64(float64(sigma*sigma)/2))
	if !(mean < 0x1p63) {
		return nil, errParam("lognormal", "sigma %v too large: the mean overflows time.Duration", sigma)
	}
	return &lognormal{
		mu:    mu,
		sigma: sigma,
		mean:  toDuration(mean),
		str:   "lognormal(median=" + median.String() + ", sigma=" + fmtFloat(sigma) + ")",
	}, nil
}

func (d *lognormal) Sample(r *sim.Rand) time.Duration { return d.quantile(r.Float64Open()) }
func (d *lognormal) quantile(p float64) time.Duration {
	return toDuration(fexp(d.mu + float64(d.sigma*probit(p))))
}
func (d *lognormal) Mean() time.Duration { return d.mean }
func (d *lognormal) String() string      { return d.str }
func (d *lognormal) Quantile(p float64) time.Duration {
	checkP(p)
	return d.quantile(p)
}
