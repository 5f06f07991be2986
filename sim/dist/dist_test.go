package dist

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func must(d Dist, err error) Dist {
	if err != nil {
		panic(err)
	}
	return d
}

// lognormalSigma is sigma of LognormalMeanP99(mean, p99), for reference
// values computed independently with package math.
func lognormalSigma(mean, p99 time.Duration) float64 {
	return z99 - math.Sqrt(z99*z99-2*math.Log(float64(p99)/float64(mean)))
}

// paretoSD is the standard deviation of Pareto(xm, a), a > 2.
func paretoSD(xm, a float64) float64 { return xm * math.Sqrt(a/((a-1)*(a-1)*(a-2))) }

// cases lists one distribution of each kind with its theoretical mean and
// standard deviation (ns); sd < 0 means "estimate it from the sample".
var cases = []struct {
	name string
	d    Dist
	mean float64 // theoretical mean, ns
	sd   float64
}{
	{"constant", must(Constant(5 * time.Millisecond)), 5e6, 0},
	{"constant-zero", must(Constant(0)), 0, 0},
	{"uniform", must(Uniform(time.Millisecond, 3*time.Millisecond)), 2e6, 2e6 / math.Sqrt(12)},
	{"exponential", must(Exponential(20 * time.Millisecond)), 2e7, 2e7},
	{"erlang-1", must(Erlang(1, 20*time.Millisecond)), 2e7, 2e7},
	{"erlang-4", must(Erlang(4, 20*time.Millisecond)), 2e7, 1e7},
	{"hyperexponential-1", must(Hyperexponential(20*time.Millisecond, 1)), 2e7, 2e7},
	{"hyperexponential-4", must(Hyperexponential(20*time.Millisecond, 4)), 2e7, 4e7},
	{"hyperexponential-25", must(Hyperexponential(20*time.Millisecond, 25)), 2e7, 1e8},
	{"lognormal-mean-p99", must(LognormalMeanP99(20*time.Millisecond, 120*time.Millisecond)), 2e7,
		2e7 * math.Sqrt(math.Expm1(math.Pow(lognormalSigma(20*time.Millisecond, 120*time.Millisecond), 2)))},
	{"lognormal-median-sigma", must(LognormalMedianSigma(10*time.Millisecond, 0.5)), 1e7 * math.Exp(0.125),
		1e7 * math.Exp(0.125) * math.Sqrt(math.Expm1(0.25))},
	{"pareto", must(Pareto(time.Millisecond, 3)), 1.5e6, paretoSD(1e6, 3)},
	{"pareto-mean", must(ParetoMean(10*time.Millisecond, 2.5)), 1e7, paretoSD(6e6, 2.5)},
	{"empirical", must(Empirical([]Point{{0.5, 10 * time.Millisecond}, {0.9, 30 * time.Millisecond}, {0.99, 100 * time.Millisecond}})), -1, -1},
}

// TestSampleMean checks that the sample mean of n = 1e6 draws is within
// 5 standard errors (sd/sqrt(n)) of Mean, plus 1ns for rounding, and that
// Mean is the theoretical mean. The seeds are fixed, so the test is
// deterministic; 5 standard errors means that a correct implementation
// would fail for fewer than one seed in a million.
func TestSampleMean(t *testing.T) {
	const n = 1_000_000
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.mean >= 0 {
				require.InDelta(t, c.mean, float64(c.d.Mean()), 1, "Mean")
			}
			r := sim.NewRand(uint64(i), 42)
			var sum, sumSq float64
			for range n {
				x := float64(c.d.Sample(r))
				sum += x
				sumSq += x * x
			}
			mean := sum / n
			sd := c.sd
			if sd < 0 {
				sd = math.Sqrt(sumSq/n - mean*mean)
			}
			tol := 5*sd/math.Sqrt(n) + 1
			assert.InDelta(t, float64(c.d.Mean()), mean, tol, "sample mean; sd %.4g", sd)
		})
	}
}

// TestSampleVariability checks the squared coefficient of variation that
// Erlang and Hyperexponential are defined by.
func TestSampleVariability(t *testing.T) {
	tests := []struct {
		d   Dist
		scv float64
	}{
		{must(Erlang(4, 20*time.Millisecond)), 0.25},
		{must(Erlang(50, 20*time.Millisecond)), 0.02},
		{must(Hyperexponential(20*time.Millisecond, 1)), 1},
		{must(Hyperexponential(20*time.Millisecond, 4)), 4},
	}
	for i, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			r := sim.NewRand(uint64(i), 7)
			const n = 1_000_000
			var sum, sumSq float64
			for range n {
				x := float64(tt.d.Sample(r))
				sum += x
				sumSq += x * x
			}
			mean := sum / n
			scv := (sumSq/n - mean*mean) / (mean * mean)
			assert.InEpsilon(t, tt.scv, scv, 0.03)
		})
	}
}

func TestQuantile(t *testing.T) {
	ms := float64(time.Millisecond)
	tests := []struct {
		name string
		d    Dist
		p    float64
		want float64 // ns
	}{
		{"constant", must(Constant(5 * time.Millisecond)), 0.3, 5 * ms},
		{"uniform", must(Uniform(time.Millisecond, 3*time.Millisecond)), 0.25, 1.5 * ms},
		{"uniform-0", must(Uniform(time.Millisecond, 3*time.Millisecond)), 0, ms},
		{"uniform-1", must(Uniform(time.Millisecond, 3*time.Millisecond)), 1, 3 * ms},
		{"exponential-median", must(Exponential(20 * time.Millisecond)), 0.5, 20 * ms * math.Ln2},
		{"exponential-0", must(Exponential(20 * time.Millisecond)), 0, 0},
		{"lognormal-p99", must(LognormalMeanP99(20*time.Millisecond, 120*time.Millisecond)), 0.99, 120 * ms},
		{"lognormal-p99-wide", must(LognormalMeanP99(time.Millisecond, 14*time.Millisecond)), 0.99, 14 * ms},
		{"lognormal-p99-narrow", must(LognormalMeanP99(100*time.Millisecond, 101*time.Millisecond)), 0.99, 101 * ms},
		{"lognormal-median", must(LognormalMedianSigma(10*time.Millisecond, 0.5)), 0.5, 10 * ms},
		{"lognormal-p99-median-sigma", must(LognormalMedianSigma(10*time.Millisecond, 0.5)), 0.99, 10 * ms * math.Exp(0.5*z99)},
		{"pareto-0", must(Pareto(time.Millisecond, 3)), 0, ms},
		{"pareto-7/8", must(Pareto(time.Millisecond, 3)), 0.875, 2 * ms},
		{"pareto-mean-scale", must(ParetoMean(10*time.Millisecond, 2.5)), 0, 6 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, ok := tt.d.(Quantiler)
			require.True(t, ok)
			assert.InDelta(t, tt.want, float64(q.Quantile(tt.p)), 1) // within 1ns
		})
	}
}

func TestQuantileEnds(t *testing.T) {
	unbounded := []Dist{
		must(Exponential(time.Millisecond)),
		must(LognormalMedianSigma(time.Millisecond, 1)),
		must(Pareto(time.Millisecond, 1.5)),
		must(Empirical([]Point{{0.5, time.Millisecond}})),
	}
	for _, d := range unbounded {
		q := d.(Quantiler)
		assert.Equal(t, maxDuration, q.Quantile(1), d.String())
		assert.GreaterOrEqual(t, q.Quantile(0), time.Duration(0), d.String())
		for _, p := range []float64{math.NaN(), -0.5, 1.5} {
			assert.Panics(t, func() { q.Quantile(p) }, "%s at %v", d, p)
		}
	}
	// A very heavy tail saturates instead of overflowing.
	heavy := must(Pareto(time.Second, 1.0001)).(Quantiler)
	assert.Equal(t, maxDuration, heavy.Quantile(1-0x1p-53))
}

// TestSampledQuantiles checks the quantiles of a million samples against
// the requested ones.
func TestSampledQuantiles(t *testing.T) {
	tests := []struct {
		name string
		d    Dist
		p    float64
		want time.Duration
	}{
		{"lognormal-p99", must(LognormalMeanP99(20*time.Millisecond, 120*time.Millisecond)), 0.99, 120 * time.Millisecond},
		{"lognormal-median", must(LognormalMedianSigma(10*time.Millisecond, 0.5)), 0.5, 10 * time.Millisecond},
		{"exponential-p90", must(Exponential(10 * time.Millisecond)), 0.9, 23025851 * time.Nanosecond},
		{"pareto-p99", must(Pareto(time.Millisecond, 2)), 0.99, 10 * time.Millisecond},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := sample(tt.d, sim.NewRand(uint64(i), 99), 1_000_000)
			got := quantileOf(xs, tt.p)
			assert.InEpsilon(t, float64(tt.want), float64(got), 0.01)
		})
	}
}

func sample(d Dist, r *sim.Rand, n int) []time.Duration {
	xs := make([]time.Duration, n)
	for i := range xs {
		xs[i] = d.Sample(r)
	}
	slices.Sort(xs)
	return xs
}

// quantileOf returns the nearest-rank p-quantile of sorted xs.
func quantileOf(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(k, 1), len(sorted))-1]
}

// TestSampleIsQuantileOfOneUniform checks the stream contract of the
// package doc: Sample draws exactly one Float64Open (Erlang k), and for a
// Quantiler returns the quantile at it.
func TestSampleIsQuantileOfOneUniform(t *testing.T) {
	for _, c := range cases {
		if e, ok := c.d.(*erlang); ok && e.k > 1 {
			continue // draws k uniforms: checked below
		}
		t.Run(c.name, func(t *testing.T) {
			a, b := sim.NewRand(5, 6), sim.NewRand(5, 6)
			for range 1000 {
				got := c.d.Sample(a)
				u := b.Float64Open()
				if q, ok := c.d.(Quantiler); ok {
					require.Equal(t, q.Quantile(u), got, "u=%v", u)
				}
				require.Equal(t, b.Uint64(), a.Uint64(), "streams in step")
			}
		})
	}
	t.Run("erlang-1-is-exponential", func(t *testing.T) {
		e, x := must(Erlang(1, time.Millisecond)), must(Exponential(time.Millisecond))
		a, b := sim.NewRand(5, 6), sim.NewRand(5, 6)
		for range 1000 {
			require.Equal(t, x.Sample(b), e.Sample(a))
		}
	})
	t.Run("erlang-draws-k", func(t *testing.T) {
		d := must(Erlang(7, time.Millisecond))
		a, b := sim.NewRand(5, 6), sim.NewRand(5, 6)
		d.Sample(a)
		for range 7 {
			b.Float64Open()
		}
		assert.Equal(t, b.Uint64(), a.Uint64())
	})
}

func TestSampleDoesNotAllocate(t *testing.T) {
	all := append([]Dist{must(Erlang(3, time.Millisecond))}, dists()...)
	for _, d := range all {
		r := sim.NewRand(1, 1)
		assert.Zero(t, testing.AllocsPerRun(1000, func() { d.Sample(r) }), d.String())
	}
}

func TestSampleNeverNegative(t *testing.T) {
	extra := []Dist{
		must(Pareto(time.Second, 1.0001)), // saturates often
		must(Erlang(MaxErlangK, time.Nanosecond)),
		must(Hyperexponential(time.Millisecond, MaxSCV)),
		must(LognormalMedianSigma(time.Nanosecond, 5)),
		must(Uniform(0, 0)),
	}
	for _, d := range append(extra, dists()...) {
		r := sim.NewRand(8, 8)
		for range 20000 {
			require.GreaterOrEqual(t, d.Sample(r), time.Duration(0), d.String())
		}
	}
}

func dists() []Dist {
	out := make([]Dist, len(cases))
	for i, c := range cases {
		out[i] = c.d
	}
	return out
}

// TestSampleRegression pins the first samples of every distribution for
// one seed. The functions of fmath.go make them the same on every
// platform; if this fails, published results change: update the values
// only for a deliberate change of a distribution.
func TestSampleRegression(t *testing.T) {
	var b strings.Builder
	for _, c := range cases {
		r := sim.NewRand(1, 2)
		fmt.Fprintf(&b, "%s:", c.name)
		for range 5 {
			fmt.Fprintf(&b, " %d", int64(c.d.Sample(r)))
		}
		b.WriteString("\n")
	}
	want := `constant: 5000000 5000000 5000000 5000000 5000000
constant-zero: 0 0 0 0 0
uniform: 2352911 1922772 2017095 1859585 2595605
exponential: 22568382 12375130 14207796 11235108 31970192
erlang-1: 22568382 12375130 14207796 11235108 31970192
erlang-4: 15096604 21068374 37504373 20575005 29887067
hyperexponential-1: 8705439 1607452 344852 3026100 18107248
hyperexponential-4: 3057758 7370078 6273232 8169498 1198248
hyperexponential-25: 3785024 7687895 6695194 8411411 2102072
lognormal-mean-p99: 19437652 11322443 12706309 10473960 28035971
lognormal-median-sigma: 12572228 9526850 10107710 9153480 15172486
pareto: 1456651 1229063 1267183 1205931 1703758
pareto-mean: 9422751 7684936 7971840 7511699 11372104
empirical: 16235919 8993761 10237534 8246251 22657896
`
	assert.Equal(t, want, b.String())
}

func TestString(t *testing.T) {
	tests := []struct {
		d    Dist
		want string
	}{
		{must(Constant(5 * time.Millisecond)), "constant(5ms)"},
		{must(Uniform(time.Millisecond, 1500*time.Microsecond)), "uniform(min=1ms, max=1.5ms)"},
		{must(Exponential(20 * time.Millisecond)), "exponential(mean=20ms)"},
		{must(Erlang(3, 20*time.Millisecond)), "erlang(k=3, mean=20ms)"},
		{must(Hyperexponential(20*time.Millisecond, 4)), "hyperexponential(mean=20ms, scv=4)"},
		{must(LognormalMeanP99(20*time.Millisecond, 120*time.Millisecond)), "lognormal(mean=20ms, p99=120ms)"},
		{must(LognormalMedianSigma(10*time.Millisecond, 0.5)), "lognormal(median=10ms, sigma=0.5)"},
		{must(Pareto(time.Millisecond, 2.5)), "pareto(scale=1ms, shape=2.5)"},
		{must(ParetoMean(10*time.Millisecond, 2.5)), "pareto(mean=10ms, shape=2.5)"},
		{must(Empirical([]Point{{0.5, 10 * time.Millisecond}, {0.999, time.Second}})), "empirical(p50=10ms, p99.9=1s)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.d.String())
	}
}

func TestConstructorErrors(t *testing.T) {
	ms := time.Millisecond
	nan, inf := math.NaN(), math.Inf(1)
	maxP99 := toDuration(fexp(z99*z99/2) * 20e6)
	tests := []struct {
		name string
		err  error
		want string // a substring naming the parameter
	}{
		{"exponential-zero", second(Exponential(0)), "mean must be > 0"},
		{"exponential-negative", second(Exponential(-ms)), "mean"},
		{"constant-negative", second(Constant(-1)), "value must be >= 0"},
		{"uniform-negative-min", second(Uniform(-1, ms)), "min must be >= 0"},
		{"uniform-max-below-min", second(Uniform(2*ms, ms)), "max (1ms) must be >= min (2ms)"},
		{"erlang-k0", second(Erlang(0, ms)), "k must be in [1, 1024], got 0"},
		{"erlang-k-too-large", second(Erlang(MaxErlangK+1, ms)), "k must be in"},
		{"erlang-mean", second(Erlang(2, 0)), "mean must be > 0"},
		{"hyper-mean", second(Hyperexponential(0, 2)), "mean must be > 0"},
		{"hyper-scv-below-1", second(Hyperexponential(ms, 0.5)), "scv must be in [1, 1e+06] (use Erlang for scv < 1), got 0.5"},
		{"hyper-scv-nan", second(Hyperexponential(ms, nan)), "scv"},
		{"hyper-scv-inf", second(Hyperexponential(ms, inf)), "scv"},
		{"hyper-scv-huge", second(Hyperexponential(ms, 2*MaxSCV)), "scv"},
		{"lognormal-mean", second(LognormalMeanP99(0, ms)), "mean must be > 0"},
		{"lognormal-p99-equal", second(LognormalMeanP99(20*ms, 20*ms)), "p99 must be in (mean, 14.97*mean] = (20ms, 299.369767ms], got 20ms"},
		{"lognormal-p99-below", second(LognormalMeanP99(20*ms, 10*ms)), "got 10ms"},
		{"lognormal-p99-above", second(LognormalMeanP99(20*ms, maxP99+1)), "p99 must be in"},
		{"lognormal-median", second(LognormalMedianSigma(0, 1)), "median must be > 0"},
		{"lognormal-sigma-zero", second(LognormalMedianSigma(ms, 0)), "sigma must be finite and > 0"},
		{"lognormal-sigma-nan", second(LognormalMedianSigma(ms, nan)), "sigma"},
		{"lognormal-sigma-inf", second(LognormalMedianSigma(ms, inf)), "sigma"},
		{"lognormal-sigma-overflow", second(LognormalMedianSigma(time.Second, 10)), "mean overflows"},
		{"pareto-scale", second(Pareto(0, 2)), "scale must be > 0"},
		{"pareto-shape-1", second(Pareto(ms, 1)), "shape must be finite and > 1 (shape <= 1 has an infinite mean), got 1"},
		{"pareto-shape-half", second(Pareto(ms, 0.5)), "infinite mean"},
		{"pareto-shape-nan", second(Pareto(ms, nan)), "shape"},
		{"pareto-shape-inf", second(Pareto(ms, inf)), "shape"},
		{"pareto-mean-overflow", second(Pareto(time.Second, 1+1e-12)), "mean overflows"},
		{"pareto-mean-zero", second(ParetoMean(0, 2)), "mean must be > 0"},
		{"pareto-mean-shape", second(ParetoMean(ms, 1)), "infinite mean"},
		{"empirical-none", second(Empirical(nil)), "needs 1 to 256 points, got 0"},
		{"empirical-too-many", second(Empirical(make([]Point, MaxEmpiricalPoints+1))), "got 257"},
		{"empirical-p0", second(Empirical([]Point{{0, ms}})), "points[0].P must be in (0, 1), got 0"},
		{"empirical-p1", second(Empirical([]Point{{0.5, ms}, {1, 2 * ms}})), "points[1].P must be in (0, 1), got 1"},
		{"empirical-p-nan", second(Empirical([]Point{{nan, ms}})), "points[0].P"},
		{"empirical-negative", second(Empirical([]Point{{0.5, -1}})), "points[0].Value must be >= 0"},
		{"empirical-p-equal", second(Empirical([]Point{{0.5, ms}, {0.5, 2 * ms}})), "points[1].P (0.5) must be greater than points[0].P (0.5)"},
		{"empirical-p-decreasing", second(Empirical([]Point{{0.9, ms}, {0.5, 2 * ms}})), "points[1].P"},
		{"empirical-value-decreasing", second(Empirical([]Point{{0.5, 2 * ms}, {0.9, ms}})), "points[1].Value (1ms) must be >= points[0].Value (2ms)"},
		{"empirical-all-zero", second(Empirical([]Point{{0.5, 0}, {0.9, 0}})), "last value must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.err)
			assert.True(t, errors.Is(tt.err, ErrParam))
			assert.True(t, strings.HasPrefix(tt.err.Error(), "dist: "), tt.err.Error())
			assert.Contains(t, tt.err.Error(), tt.want)
		})
	}
}

func second(_ Dist, err error) error { return err }

func TestLognormalP99Bounds(t *testing.T) {
	mean := 20 * time.Millisecond
	maxP99 := toDuration(fexp(z99*z99/2) * 20e6)
	// The upper bound itself is allowed: sigma is then z99, the double root
	// (up to sqrt of the rounding of maxP99 to ns, about 6e-5).
	d, err := LognormalMeanP99(mean, maxP99)
	require.NoError(t, err)
	assert.InDelta(t, z99, d.(*lognormal).sigma, 1e-4)
	assert.InEpsilon(t, float64(maxP99), float64(d.(Quantiler).Quantile(0.99)), 1e-9)
	// Just above the mean: nearly constant.
	d, err = LognormalMeanP99(mean, mean+1)
	require.NoError(t, err)
	assert.InEpsilon(t, float64(mean+1), float64(d.(Quantiler).Quantile(0.99)), 1e-6)
}

func BenchmarkSample(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := sim.NewRand(1, 1)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.d.Sample(r)
			}
		})
	}
}
