package dist

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Dist is a distribution of non-negative durations.
type Dist interface {
	// Sample draws one value using only r. It allocates nothing, never
	// returns a negative duration, rounds to the nearest ns and saturates
	// at the largest time.Duration. It is O(1), except Erlang (O(k)) and
	// Empirical (O(log points)).
	Sample(r *sim.Rand) time.Duration
	// Mean returns the expected value, rounded to the nearest ns.
	Mean() time.Duration
	// String describes the distribution by the parameters it was built
	// from, for example "lognormal(mean=20ms, p99=120ms)".
	String() string
}

// Quantiler is implemented by distributions with a closed-form inverse CDF.
// Quantile returns the p-quantile, rounded to the nearest ns and saturating
// at the largest time.Duration. Sample(r) equals Quantile(u) for the uniform
// u it draws. Quantile panics if p is NaN or outside [0, 1].
type Quantiler interface {
	Quantile(p float64) time.Duration
}

// ErrParam is wrapped by every error the constructors return, so that
// callers can test errors.Is(err, dist.ErrParam).
var ErrParam = errors.New("dist: invalid parameter")

// Limits on parameters (TIGER_STYLE: limits on everything).
const (
	// MaxErlangK bounds the number of phases of Erlang: Sample is O(k), and
	// beyond this the distribution is a constant for every practical use
	// (its coefficient of variation is below 3%).
	MaxErlangK = 1024
	// MaxSCV bounds the squared coefficient of variation of
	// Hyperexponential; beyond it the slow phase is so rare (probability
	// about 1/(2*scv)) and so long that no run of practical length
	// estimates the mean.
	MaxSCV = 1e6
	// MaxEmpiricalPoints bounds the number of points of Empirical.
	MaxEmpiricalPoints = 256
)

// errParam returns an error wrapping ErrParam; its message reads
// "dist: invalid parameter: <family>: <msg>".
func errParam(family, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrParam, family, fmt.Sprintf(format, args...))
}

// maxDuration is the largest time.Duration, where samples saturate.
const maxDuration = time.Duration(math.MaxInt64)

// toDuration rounds ns to the nearest nanosecond, maps NaN and values below
// 0 to 0, and saturates at maxDuration.
func toDuration(ns float64) time.Duration {
	if !(ns > 0) {
		return 0
	}
	if ns >= 0x1p63 {
		return maxDuration
	}
	return time.Duration(math.Round(ns))
}

// checkP panics unless p is in [0, 1]: a quantile outside it is a bug in
// the caller, as rand.IntN(0) is.
func checkP(p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("dist: Quantile(%v) outside [0, 1]", p))
	}
}

// validFloat reports whether x is finite.
func validFloat(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// fmtFloat formats a parameter with the shortest exact representation.
func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// constant is a point mass.
type constant struct{ v time.Duration }

// Constant returns the distribution that is always v. Its Sample still
// draws one uniform, so that replacing it by a random distribution in a
// variant does not shift the stream. v must not be negative.
func Constant(v time.Duration) (Dist, error) {
	if v < 0 {
		return nil, errParam("constant", "value must be >= 0, got %v", v)
	}
	return &constant{v}, nil
}

func (d *constant) Sample(r *sim.Rand) time.Duration {
	r.Float64Open() // keep the stream in step (see the package doc)
	return d.v
}
func (d *constant) Mean() time.Duration { return d.v }
func (d *constant) String() string      { return "constant(" + d.v.String() + ")" }
func (d *constant) Quantile(p float64) time.Duration {
	checkP(p)
	return d.v
}

// uniform is continuous uniform on [min, max].
type uniform struct {
	min, max time.Duration
	span     float64 // max-min in ns
}

// Uniform returns the continuous uniform distribution on [min, max].
// It needs 0 <= min <= max (min == max is a constant).
func Uniform(min, max time.Duration) (Dist, error) {
	if min < 0 {
		return nil, errParam("uniform", "min must be >= 0, got %v", min)
	}
	if max < min {
		return nil, errParam("uniform", "max (%v) must be >= min (%v)", max, min)
	}
	return &uniform{min, max, float64(max - min)}, nil
}

func (d *uniform) Sample(r *sim.Rand) time.Duration { return d.quantile(r.Float64Open()) }
func (d *uniform) quantile(p float64) time.Duration {
	return d.min + toDuration(float64(p*d.span))
}
func (d *uniform) Mean() time.Duration { return d.min + (d.max-d.min)/2 }
func (d *uniform) String() string {
	return "uniform(min=" + d.min.String() + ", max=" + d.max.String() + ")"
}
func (d *uniform) Quantile(p float64) time.Duration {
	checkP(p)
	return d.quantile(p)
}

// exponential has rate 1/mean.
type exponential struct {
	mean time.Duration
	m    float64 // mean in ns
}

// Exponential returns the exponential distribution with the given mean
// (memoryless; the inter-arrival time of a Poisson process). mean must be
// positive.
func Exponential(mean time.Duration) (Dist, error) {
	if mean <= 0 {
		return nil, errParam("exponential", "mean must be > 0, got %v (use Constant(0) for no delay)", mean)
	}
	return &exponential{mean, float64(mean)}, nil
}

// Sample is quantile(r.Float64Open()), written out so that a draw costs one
// call less.
func (d *exponential) Sample(r *sim.Rand) time.Duration {
	return toDuration(float64(-d.m * flog(1-r.Float64Open())))
}

// quantile is -mean*ln(1-p); 1-p is exact for the uniforms Float64Open
// returns (multiples of 2^-53).
func (d *exponential) quantile(p float64) time.Duration {
	return toDuration(float64(-d.m * flog(1-p)))
}
func (d *exponential) Mean() time.Duration { return d.mean }
func (d *exponential) String() string      { return "exponential(mean=" + d.mean.String() + ")" }
func (d *exponential) Quantile(p float64) time.Duration {
	checkP(p)
	return d.quantile(p)
}

// erlang is the sum of k exponentials of mean mean/k.
type erlang struct {
	k     int
	mean  time.Duration
	phase float64 // mean of one phase, ns
}

// Erlang returns the sum of k independent exponentials of mean mean/k: a
// distribution with the given mean and squared coefficient of variation
// 1/k, less variable than the exponential. It needs 1 <= k <= MaxErlangK
// and mean > 0. Sample draws k uniforms and is O(k).
func Erlang(k int, mean time.Duration) (Dist, error) {
	if k < 1 || k > MaxErlangK {
		return nil, errParam("erlang", "k must be in [1, %d], got %d", MaxErlangK, k)
	}
	if mean <= 0 {
		return nil, errParam("erlang", "mean must be > 0, got %v", mean)
	}
	return &erlang{k, mean, float64(mean) / float64(k)}, nil
}

// Sample returns -phase*ln((1-u1)*...*(1-uk)), so that Erlang(1, m) draws
// exactly what Exponential(m) draws. The product is renormalised through a
// logarithm before it can underflow: each factor is at least 2^-53, so it
// stays above 2^-953.
func (d *erlang) Sample(r *sim.Rand) time.Duration {
	prod, logs := 1.0, 0.0
	for range d.k {
		prod *= 1 - r.Float64Open()
		if prod < 0x1p-900 {
			logs += flog(prod)
			prod = 1
		}
	}
	return toDuration(float64(-d.phase * (logs + flog(prod))))
}
func (d *erlang) Mean() time.Duration { return d.mean }
func (d *erlang) String() string {
	return "erlang(k=" + strconv.Itoa(d.k) + ", mean=" + d.mean.String() + ")"
}

// hyperexponential is a two-phase mixture of exponentials.
type hyperexponential struct {
	mean   time.Duration
	scv    float64
	p1, p2 float64 // phase probabilities, p1 + p2 = 1
	m1, m2 float64 // phase means, ns
}

// Hyperexponential returns the two-phase hyperexponential distribution
// with the given mean and squared coefficient of variation scv (variance
// over mean squared), with balanced means (p1*m1 = p2*m2, the usual
// two-moment fit): with s = sqrt((scv-1)/(scv+1)), phase i has probability
// p1 = (1+s)/2, p2 = (1-s)/2 and mean mean/(2*pi). It is more variable than
// the exponential: scv must be in [1, MaxSCV], and scv == 1 is the
// exponential. mean must be positive.
//
// Sample draws one uniform u: u < p1 selects phase 1 and u/p1 is then a
// fresh uniform for its exponential; otherwise phase 2 uses (1-u)/p2.
func Hyperexponential(mean time.Duration, scv float64) (Dist, error) {
	if mean <= 0 {
		return nil, errParam("hyperexponential", "mean must be > 0, got %v", mean)
	}
	if !(scv >= 1 && scv <= MaxSCV) {
		return nil, errParam("hyperexponential", "scv must be in [1, %g] (use Erlang for scv < 1), got %v", MaxSCV, scv)
	}
	s := math.Sqrt((scv - 1) / (scv + 1))
	// p2 = (1-s)/2 = 1/((scv+1)(1+s)), written so that it keeps its
	// precision when s is close to 1.
	p2 := 1 / float64((scv+1)*(1+s))
	p1 := 1 - p2
	m := float64(mean)
	return &hyperexponential{mean, scv, p1, p2, m / (2 * p1), m / (2 * p2)}, nil
}

func (d *hyperexponential) Sample(r *sim.Rand) time.Duration {
	u := r.Float64Open()
	if u < d.p1 {
		return toDuration(float64(-d.m1 * flog(u/d.p1)))
	}
	return toDuration(float64(-d.m2 * flog((1-u)/d.p2)))
}
func (d *hyperexponential) Mean() time.Duration { return d.mean }
func (d *hyperexponential) String() string {
	return "hyperexponential(mean=" + d.mean.String() + ", scv=" + fmtFloat(d.scv) + ")"
}
