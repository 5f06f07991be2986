package dist

import (
	"strconv"
	"strings"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Point is one percentile of a distribution: a fraction P of the values are
// at most Value. {P: 0.99, Value: 100 * time.Millisecond} reads "p99 is
// 100ms".
type Point struct {
	P     float64
	Value time.Duration
}

// empirical is the piecewise inverse CDF described at Empirical. Values are
// float64 nanoseconds.
type empirical struct {
	p     []float64 // P of each point, strictly increasing in (0, 1)
	v     []float64 // Value of each point
	lv    []float64 // ln v; unused where v == 0
	k     []float64 // slope of segment i (points i, i+1): d(ln Q)/du, or dQ/du where v[i] == 0
	k0    float64   // d(ln Q)/du below the first point
	b     float64   // mean of the exponential tail beyond the last point
	tLast float64   // -ln(1 - P of the last point)
	mean  time.Duration
	str   string
}

// Empirical returns a distribution that passes exactly through percentiles
// as users read them from dashboards: {{0.5, 10ms}, {0.9, 30ms},
// {0.99, 100ms}} has p50 = 10ms, p90 = 30ms and p99 = 100ms. It needs 1 to
// MaxEmpiricalPoints points, strictly increasing in P with 0 < P < 1, and
// non-decreasing in Value with Value >= 0 and a positive last Value. The
// slice is copied.
//
// Its inverse CDF Q(u) is built piece by piece, with t(u) = -ln(1-u):
//
//   - Between two points, ln Q is linear in u: a lognormal-like piece, in
//     which values spread geometrically, as latencies do. Where the lower
//     value is 0, Q itself is linear in u.
//   - Below the first point, the first segment's line in (u, ln Q) is
//     continued down to u = 0, so Q(0) = V1*exp(-P1*slope) > 0 acts as a
//     floor, as real latencies have one. (A flat first segment gives V1 for
//     every u below P1; V1 = 0 gives 0.) Unlike a straight line from
//     (0, 0), it does not put a tenth of the values below a tenth of p50.
//   - Above the last point, Q(u) = Vn + b*(t(u) - t(Pn)): beyond Vn the
//     tail is exponential with mean b, where b = (Vn - Vn-1)/(t(Pn) -
//     t(Pn-1)) continues the last segment's slope in t. The tail is as
//     heavy as the last two points imply, and it does not invent a power
//     law that the data does not show. A flat last segment makes Vn the
//     maximum.
//   - With a single point, Q(u) = V1*t(u)/t(P1) for every u: the
//     exponential distribution with that percentile.
//
// Mean is computed in closed form, piece by piece, in a fixed order. Sample
// is O(log points).
func Empirical(points []Point) (Dist, error) {
	n := len(points)
	if n == 0 || n > MaxEmpiricalPoints {
		return nil, errParam("empirical", "needs 1 to %d points, got %d", MaxEmpiricalPoints, n)
	}
	for i, pt := range points {
		if !(pt.P > 0 && pt.P < 1) {
			return nil, errParam("empirical", "points[%d].P must be in (0, 1), got %v", i, pt.P)
		}
		if pt.Value < 0 {
			return nil, errParam("empirical", "points[%d].Value must be >= 0, got %v", i, pt.Value)
		}
		if i == 0 {
			continue
		}
		if prev := points[i-1]; pt.P <= prev.P {
			return nil, errParam("empirical", "points[%d].P (%v) must be greater than points[%d].P (%v)", i, pt.P, i-1, prev.P)
		} else if pt.Value < prev.Value {
			return nil, errParam("empirical", "points[%d].Value (%v) must be >= points[%d].Value (%v)", i, pt.Value, i-1, prev.Value)
		}
	}
	if points[n-1].Value == 0 {
		return nil, errParam("empirical", "the last value must be > 0, got 0 (use Constant(0))")
	}

	d := &empirical{
		p:  make([]float64, n),
		v:  make([]float64, n),
		lv: make([]float64, n),
		k:  make([]float64, n-1),
	}
	var sb strings.Builder
	sb.WriteString("empirical(")
	for i, pt := range points {
		d.p[i], d.v[i] = pt.P, float64(pt.Value)
		if pt.Value > 0 {
			d.lv[i] = flog(d.v[i])
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("p" + strconv.FormatFloat(float64(100*pt.P), 'g', 10, 64) + "=" + pt.Value.String())
	}
	sb.WriteString(")")
	d.str = sb.String()

	for i := 0; i < n-1; i++ {
		dp := d.p[i+1] - d.p[i]
		if d.v[i] == 0 {
			d.k[i] = d.v[i+1] / dp
		} else {
			d.k[i] = (d.lv[i+1] - d.lv[i]) / dp
		}
	}
	d.tLast = -flog(1 - d.p[n-1])
	if n == 1 {
		d.b = d.v[0] / d.tLast
	} else {
		d.k0 = d.k[0]
		d.b = (d.v[n-1] - d.v[n-2]) / (d.tLast + flog(1-d.p[n-2]))
	}
	d.mean = toDuration(d.meanNs())
	return d, nil
}

// quantile returns Q(u) in ns for u in [0, 1].
func (d *empirical) quantile(u float64) float64 {
	n := len(d.p)
	if n == 1 {
		return float64(d.b * -flog(1-u))
	}
	if u >= d.p[n-1] {
		if d.b == 0 { // flat last segment: Vn is the maximum (and 0*Inf is NaN)
			return d.v[n-1]
		}
		return float64(d.b*(-flog(1-u)-d.tLast)) + d.v[n-1]
	}
	if u < d.p[0] {
		if d.v[0] == 0 {
			return 0
		}
		return fexp(d.lv[0] + float64((u-d.p[0])*d.k0))
	}
	// Binary search for the segment: p[lo] <= u < p[hi].
	lo, hi := 0, n-1
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if d.p[mid] <= u {
			lo = mid
		} else {
			hi = mid
		}
	}
	if d.v[lo] == 0 {
		return float64((u - d.p[lo]) * d.k[lo])
	}
	return fexp(d.lv[lo] + float64((u-d.p[lo])*d.k[lo]))
}

// meanNs integrates Q over [0, 1] in closed form, piece by piece, always in
// the same order: below the first point, each segment, the tail.
func (d *empirical) meanNs() float64 {
	n := len(d.p)
	if n == 1 {
		return d.b // exponential
	}
	var sum float64
	// Below: integral of V1*exp((u-P1)*k0) over [0, P1]
	//      = V1*P1*(1-exp(-x))/x with x = k0*P1.
	if d.v[0] > 0 {
		x := float64(d.k0 * d.p[0])
		sum += float64(float64(d.v[0]*d.p[0]) * oneMinusExpNegOver(x))
	}
	for i := 0; i < n-1; i++ {
		dp := d.p[i+1] - d.p[i]
		if d.v[i] == 0 {
			sum += float64(float64(dp*d.v[i+1]) / 2) // linear from 0
			continue
		}
		// Integral of exp(ln Vi + (u-Pi)*k) over the segment
		//      = dp*(V(i+1)-Vi)/ln(V(i+1)/Vi), the logarithmic mean.
		sum += float64(dp * logMean(d.v[i], d.v[i+1], d.lv[i+1]-d.lv[i]))
	}
	// Tail: integral of Vn + b*(t(u)-t(Pn)) over [Pn, 1] = (1-Pn)*(Vn+b).
	sum += float64((1 - d.p[n-1]) * (d.v[n-1] + d.b))
	return sum
}

// oneMinusExpNegOver returns (1-exp(-x))/x for x >= 0, and 1 at 0, without
// cancellation for small x.
func oneMinusExpNegOver(x float64) float64 {
	if x < 1e-5 {
		return 1 - float64(x/2) + float64(float64(x*x)/6) // Taylor; the next term is below 1e-20
	}
	return (1 - fexp(-x)) / x
}

// logMean returns (y-x)/ln(y/x) for 0 < x <= y, given d = ln y - ln x, and
// x when they are equal, without cancellation when they are close.
func logMean(x, y, d float64) float64 {
	if d < 1e-5 {
		return float64(x * (1 + float64(d/2) + float64(float64(d*d)/6))) // x*(e^d-1)/d by Taylor
	}
	return (y - x) / d
}

func (d *empirical) Sample(r *sim.Rand) time.Duration {
	return toDuration(d.quantile(r.Float64Open()))
}
func (d *empirical) Mean() time.Duration { return d.mean }
func (d *empirical) String() string      { return d.str }
func (d *empirical) Quantile(p float64) time.Duration {
	checkP(p)
	return toDuration(d.quantile(p))
}
