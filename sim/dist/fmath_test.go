package dist

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

// ulps returns the distance between a and b in units in the last place.
func ulps(a, b float64) uint64 {
	if a == b {
		return 0
	}
	ia, ib := int64(math.Float64bits(a)), int64(math.Float64bits(b))
	if (ia < 0) != (ib < 0) {
		return math.MaxUint64
	}
	if ia > ib {
		return uint64(ia - ib)
	}
	return uint64(ib - ia)
}

func TestFexpMatchesMathExp(t *testing.T) {
	r := sim.NewRand(1, 1)
	// math.Exp on amd64 (assembly) overflows to +Inf slightly below the
	// true limit 709.78 and loses precision for subnormal results, so the
	// comparison stays within [-708, 709]; the ends are checked by value.
	xs := []float64{0, 1, -1, 1e-30, -1e-30, 0.5, 700, -700, 709, -708, 1e-9, math.Ln2}
	for range 200000 {
		xs = append(xs, float64(r.Float64()*1417)-708, float64(r.Float64()*40)-20)
	}
	worst := 0.0
	for i, x := range xs {
		// Two implementations each within 1 ulp of the truth can be 2 apart.
		require.LessOrEqual(t, ulps(fexp(x), math.Exp(x)), uint64(2), "exp(%v)", x)
		if i%50 == 0 { // against a 256-bit reference: below 1 ulp
			e := ulpError(fexp(x), bigExp(x))
			require.Less(t, e, 1.0, "exp(%v)", x)
			worst = max(worst, e)
		}
	}
	t.Logf("worst error against the reference: %.3f ulp", worst)
	assert.InEpsilon(t, 1.6549840276802644e+308, fexp(709.7), 1e-15) // math.Exp gives +Inf on amd64
	assert.InEpsilon(t, 4.9406564584124654e-324, fexp(-744.44007192138126), 1e-15)
	assert.Equal(t, math.Inf(1), fexp(710))
	assert.Equal(t, 0.0, fexp(-746))
	assert.Equal(t, math.Inf(1), fexp(math.Inf(1)))
	assert.Equal(t, 0.0, fexp(math.Inf(-1)))
	assert.True(t, math.IsNaN(fexp(math.NaN())))
}

func TestFlogMatchesMathLog(t *testing.T) {
	r := sim.NewRand(2, 2)
	// math.Log on amd64 (assembly) is wrong for subnormal inputs (it gives
	// -709.09 for 5e-324), so the comparison uses normal numbers and the
	// subnormal case is checked by value.
	xs := []float64{1, 2, 0.5, math.E, 1e-300, 0x1p-1022, math.MaxFloat64, 0x1p-53, 1 - 0x1p-53}
	for range 200000 {
		xs = append(xs, r.Float64Open(), math.Ldexp(r.Float64Open(), r.IntN(2000)-1000))
	}
	for _, x := range xs {
		require.LessOrEqual(t, ulps(flog(x), math.Log(x)), uint64(1), "log(%v)", x)
	}
	assert.InEpsilon(t, -744.44007192138126, flog(5e-324), 1e-15)
	assert.Equal(t, math.Inf(-1), flog(0))
	assert.Equal(t, math.Inf(1), flog(math.Inf(1)))
	assert.True(t, math.IsNaN(flog(-1)))
	assert.True(t, math.IsNaN(flog(math.NaN())))
}

func TestProbit(t *testing.T) {
	known := []struct{ p, z float64 }{
		{0.5, 0},
		{0.99, z99},
		{0.975, 1.959963984540054},
		{0.841344746068543, 1}, // Phi(1)
		{1e-10, -6.361340902404056},
		{0x1p-53, -8.209536151601386}, // sqrt(2)*math.Erfinv(-1+2^-52), exact argument
	}
	for _, k := range known {
		assert.InDelta(t, k.z, probit(k.p), 1e-13, "probit(%v)", k.p)
	}
	r := sim.NewRand(3, 3)
	for range 100000 {
		p := r.Float64Open()
		z := probit(p)
		require.Equal(t, -z, probit(1-p), "symmetric at %v", p) // 1-p is exact for these p
		if p > 1e-6 && p < 1-1e-6 {
			require.InDelta(t, math.Sqrt2*math.Erfinv(2*p-1), z, 1e-13*max(1, math.Abs(z)), "p=%v", p)
		}
	}
	assert.Equal(t, math.Inf(-1), probit(0))
	assert.Equal(t, math.Inf(1), probit(1))
	assert.True(t, math.IsNaN(probit(math.NaN())))
}

// bigExp returns e**x to 256 bits: x = k*ln2 + r with |r| <= ln2/2, then
// the Taylor series of exp(r).
func bigExp(x float64) *big.Float {
	const prec = 256
	f := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	// ln2 = 2*atanh(1/3) = 2*sum (1/3)^(2n+1)/(2n+1).
	ln2 := f(0)
	third := new(big.Float).SetPrec(prec).Quo(f(1), f(3))
	pow := new(big.Float).SetPrec(prec).Set(third)
	ninth := new(big.Float).SetPrec(prec).Mul(third, third)
	for n := 0; n < 120; n++ {
		ln2.Add(ln2, new(big.Float).SetPrec(prec).Quo(pow, f(float64(2*n+1))))
		pow.Mul(pow, ninth)
	}
	ln2.Mul(ln2, f(2))
	k := math.Round(x / math.Ln2)
	r := new(big.Float).SetPrec(prec).Sub(f(x), new(big.Float).SetPrec(prec).Mul(f(k), ln2))
	sum, term := f(1), f(1)
	for n := 1; n < 80; n++ {
		term.Mul(term, r)
		term.Quo(term, f(float64(n)))
		sum.Add(sum, term)
	}
	return sum.SetMantExp(sum, int(k))
}

// ulpError returns |got - want| in units of the last place of got.
func ulpError(got float64, want *big.Float) float64 {
	ulp := math.Nextafter(got, math.Inf(1)) - got
	diff := new(big.Float).SetPrec(256).Sub(new(big.Float).SetPrec(256).SetFloat64(got), want)
	d, _ := diff.Quo(diff, new(big.Float).SetFloat64(ulp)).Float64() // in big: diff may be subnormal
	return math.Abs(d)
}

func TestExportedPortableFunctions(t *testing.T) {
	for _, x := range []float64{-3.5, -0.1, 0, 1e-9, 0.7, 2, 50} {
		assert.InEpsilon(t, math.Exp(x), Exp(x), 1e-15, "Exp(%g)", x)
	}
	for _, x := range []float64{1e-300, 0.25, 1, 3, 1e300} {
		if x != 1 {
			assert.InEpsilon(t, math.Log(x), Log(x), 1e-15, "Log(%g)", x)
		}
	}
	assert.Equal(t, 1.0, Pow(7, 0))
	assert.Equal(t, 7.0, Pow(7, 1))
	assert.InEpsilon(t, math.Pow(3, 0.5), Pow(3, 0.5), 1e-14)
	assert.InEpsilon(t, math.Pow(11, 2.5), Pow(11, 2.5), 1e-14)
}
