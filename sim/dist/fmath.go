package dist

import "math"

// Portable elementary functions.
//
// Samples must be bit-identical on every machine (DESIGN §6: shards of one
// experiment may run on different hosts and are merged exactly). The
// standard library does not promise that for transcendental functions:
// math.Exp on amd64 is assembly that takes a different path when the CPU
// has FMA (exp_amd64.go: useFMA), math.Log is assembly on amd64 and Go code
// elsewhere, and the Go compiler may fuse x*y+z into one FMA instruction
// on arm64, ppc64le, s390x and (GOAMD64=v3) amd64, which changes the last
// bit. The functions below are the standard library's pure-Go algorithms
// (FreeBSD msun e_exp.c and e_log.c, and AS241 as used by math.Erfinv),
// rewritten so that every product feeding an addition is rounded with an
// explicit float64 conversion, which the spec says prevents fusion. They use
// only +, -, *, /, math.Sqrt (correctly rounded on every platform) and exact
// bit operations (Frexp, Ldexp), so they give the same bits everywhere.
// fmath_test.go checks fexp against a 256-bit reference (error below 1 ulp)
// and flog against math.Log (within 1 ulp); on the way it found that the
// amd64 assembly of math.Exp overflows early (+Inf at 709.7) and that of
// math.Log is wrong for subnormal inputs, two more reasons not to use them.

// fexp returns e**x. See math.Exp for the method and special cases.
func fexp(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		log2e = 1.44269504088896338700e+00

		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28) // 2**-28

		p1 = 1.66666666666666657415e-01  /* 0x3FC55555; 0x55555555 */
		p2 = -2.77777777770155933842e-03 /* 0xBF66C16C; 0x16BEBD93 */
		p3 = 6.61375632143793436117e-05  /* 0x3F11566A; 0xAF25DE2C */
		p4 = -1.65339022054652515390e-06 /* 0xBEBBBD41; 0xC5D26BF1 */
		p5 = 4.13813679705723846039e-08  /* 0x3E663769; 0x72BEA4D0 */
	)
	switch {
	case x != x: // NaN
		return x
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	// Reduce: x = k*ln2 + r, |r| <= ln2/2, with r = hi - lo.
	var k int
	switch {
	case x < 0:
		k = int(float64(log2e*x) - 0.5)
	case x > 0:
		k = int(float64(log2e*x) + 0.5)
	}
	hi := x - float64(float64(k)*ln2Hi)
	lo := float64(float64(k) * ln2Lo)
	r := hi - lo
	t := float64(r * r)
	c := float64(t*p5) + p4
	c = float64(t*c) + p3
	c = float64(t*c) + p2
	c = float64(t*c) + p1
	c = r - float64(t*c)
	y := 1 - ((lo - float64(r*c)/(2-c)) - hi)
	return math.Ldexp(y, k)
}

// flog returns the natural logarithm of x. See math.Log for the method and
// special cases.
func flog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 /* 3fe62e42 fee00000 */
		ln2Lo = 1.90821492927058770002e-10 /* 3dea39ef 35793c76 */
		l1    = 6.666666666666735130e-01   /* 3FE55555 55555593 */
		l2    = 3.999999999940941908e-01   /* 3FD99999 9997FA04 */
		l3    = 2.857142874366239149e-01   /* 3FD24924 94229359 */
		l4    = 2.222219843214978396e-01   /* 3FCC71C5 1D8E78AF */
		l5    = 1.818357216161805012e-01   /* 3FC74664 96CB03DE */
		l6    = 1.531383769920937332e-01   /* 3FC39A09 D078C69F */
		l7    = 1.479819860511658591e-01   /* 3FC2F112 DF3E5244 */
	)
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	// Reduce: x = 2**k * (1+f), sqrt(2)/2 < 1+f < sqrt(2).
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	a := float64(s4*l7) + l5
	a = float64(s4*a) + l3
	a = float64(s4*a) + l1
	b := float64(s4*l6) + l4
	b = float64(s4*b) + l2
	R := float64(s2*a) + float64(s4*b)
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+R)) + float64(k*ln2Lo))) - f)
}

// probit returns the p-quantile of the standard normal distribution, the z
// with Phi(z) = p: -Inf for p <= 0, +Inf for p >= 1, NaN for NaN. It is
// Wichura's AS241 (PPND16, relative accuracy about 1e-16) in the form of
// math.Erfinv, times sqrt(2). Unlike sqrt(2)*math.Erfinv(2p-1), it takes the
// tail argument 1-|2p-1| as 2*min(p, 1-p), which is exact, so small p keep
// their full precision.
func probit(p float64) float64 {
	const (
		// Coefficients for |2p-1| <= 0.85.
		a0 = 1.1975323115670912564578e0
		a1 = 4.7072688112383978012285e1
		a2 = 6.9706266534389598238465e2
		a3 = 4.8548868893843886794648e3
		a4 = 1.6235862515167575384252e4
		a5 = 2.3782041382114385731252e4
		a6 = 1.1819493347062294404278e4
		a7 = 8.8709406962545514830200e2
		b0 = 1.0000000000000000000e0
		b1 = 4.2313330701600911252e1
		b2 = 6.8718700749205790830e2
		b3 = 5.3941960214247511077e3
		b4 = 2.1213794301586595867e4
		b5 = 3.9307895800092710610e4
		b6 = 2.8729085735721942674e4
		b7 = 5.2264952788528545610e3
		// Coefficients for 0.85 < |2p-1| <= 1-2*exp(-25).
		c0 = 1.42343711074968357734e0
		c1 = 4.63033784615654529590e0
		c2 = 5.76949722146069140550e0
		c3 = 3.64784832476320460504e0
		c4 = 1.27045825245236838258e0
		c5 = 2.41780725177450611770e-1
		c6 = 2.27238449892691845833e-2
		c7 = 7.74545014278341407640e-4
		d0 = 1.4142135623730950488016887e0
		d1 = 2.9036514445419946173133295e0
		d2 = 2.3707661626024532365971225e0
		d3 = 9.7547832001787427186894837e-1
		d4 = 2.0945065210512749128288442e-1
		d5 = 2.1494160384252876777097297e-2
		d6 = 7.7441459065157709165577218e-4
		d7 = 1.4859850019840355905497876e-9
		// Coefficients for 1-2*exp(-25) < |2p-1| < 1.
		e0 = 6.65790464350110377720e0
		e1 = 5.46378491116411436990e0
		e2 = 1.78482653991729133580e0
		e3 = 2.96560571828504891230e-1
		e4 = 2.65321895265761230930e-2
		e5 = 1.24266094738807843860e-3
		e6 = 2.71155556874348757815e-5
		e7 = 2.01033439929228813265e-7
		f0 = 1.414213562373095048801689e0
		f1 = 8.482908416595164588112026e-1
		f2 = 1.936480946950659106176712e-1
		f3 = 2.103693768272068968719679e-2
		f4 = 1.112800997078859844711555e-3
		f5 = 2.611088405080593625138020e-5
		f6 = 2.010321207683943062279931e-7
		f7 = 2.891024605872965461538222e-15
	)
	switch {
	case p != p:
		return p
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	}
	x := 2*p - 1
	var ans float64
	if math.Abs(x) <= 0.85 {
		r := 0.180625 - float64(float64(0.25*x)*x)
		z1 := horner7(r, a7, a6, a5, a4, a3, a2, a1, a0)
		z2 := horner7(r, b7, b6, b5, b4, b3, b2, b1, b0)
		ans = float64(x*z1) / z2
	} else {
		w := 2 * min(p, 1-p) // = 1-|x|, exactly
		r := math.Sqrt(math.Ln2 - flog(w))
		var z1, z2 float64
		if r <= 5.0 {
			r -= 1.6
			z1 = horner7(r, c7, c6, c5, c4, c3, c2, c1, c0)
			z2 = horner7(r, d7, d6, d5, d4, d3, d2, d1, d0)
		} else {
			r -= 5.0
			z1 = horner7(r, e7, e6, e5, e4, e3, e2, e1, e0)
			z2 = horner7(r, f7, f6, f5, f4, f3, f2, f1, f0)
		}
		ans = z1 / z2
		if p < 0.5 {
			ans = -ans
		}
	}
	return float64(math.Sqrt2 * ans)
}

// horner7 evaluates c7*r^7 + ... + c0 by Horner's rule, rounding each
// product so that no multiply-add is fused.
func horner7(r, c7, c6, c5, c4, c3, c2, c1, c0 float64) float64 {
	z := float64(c7*r) + c6
	z = float64(z*r) + c5
	z = float64(z*r) + c4
	z = float64(z*r) + c3
	z = float64(z*r) + c2
	z = float64(z*r) + c1
	return float64(z*r) + c0
}
