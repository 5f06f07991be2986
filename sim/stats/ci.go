package stats

import "math"

// Interval is a two-sided confidence interval.
type Interval struct {
	Lo, Hi float64
}

// MeanCI returns the sample mean of xs and its two-sided 95% confidence
// interval from Student's t distribution with len(xs)-1 degrees of freedom.
// xs are summed in the order given, so the same slice always gives the same
// bits. With fewer than two samples the interval is (mean, mean) and ok is
// false. The complexity is O(len(xs)).
func MeanCI(xs []float64) (mean float64, ci Interval, ok bool) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), Interval{math.NaN(), math.NaN()}, false
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean = sum / float64(n)
	if n < 2 {
		return mean, Interval{mean, mean}, false
	}
	var ss float64
	for _, x := range xs {
		d := x - mean
		ss += float64(d * d)
	}
	sd := math.Sqrt(ss / float64(n-1))
	half := float64(T975(n-1) * sd / math.Sqrt(float64(n)))
	return mean, Interval{mean - half, mean + half}, true
}

// T975 returns the 0.975 quantile of Student's t distribution with df degrees
// of freedom (the multiplier of a two-sided 95% interval). Values for df up
// to 30 are tabulated; above that the Cornish-Fisher expansion around the
// normal quantile is used, accurate to better than 1e-4. It panics if df < 1.
func T975(df int) float64 {
	if df < 1 {
		panic("stats: T975 needs df >= 1")
	}
	if df <= len(t975) {
		return t975[df-1]
	}
	const z = 1.959963984540054
	v := float64(df)
	z3, z5 := z*z*z, z*z*z*z*z
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v)
}

// t975 holds t_{0.975, df} for df = 1..30 (standard tables).
var t975 = [...]float64{
	12.7062047, 4.30265273, 3.18244631, 2.77644511, 2.57058184,
	2.44691185, 2.36462425, 2.30600414, 2.26215716, 2.22813885,
	2.20098516, 2.17881283, 2.16036866, 2.14478669, 2.13144955,
	2.11990530, 2.10981558, 2.10092204, 2.09302405, 2.08596345,
	2.07961384, 2.07387307, 2.06865761, 2.06389856, 2.05953855,
	2.05552944, 2.05183052, 2.04840714, 2.04522964, 2.04227246,
}
