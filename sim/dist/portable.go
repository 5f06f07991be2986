package dist

// Exp returns e**x, computed with only +, -, *, / and exact bit
// operations, so that it gives the same bits on every architecture (see
// fmath.go). Models use it instead of math.Exp wherever a result can reach
// the output.
func Exp(x float64) float64 { return fexp(x) }

// Log returns the natural logarithm of x, portably like Exp.
func Log(x float64) float64 { return flog(x) }

// Pow returns x**y for x > 0 as Exp(y*Log(x)), portably like Exp. It is
// within a few ulps of math.Pow, which is not portable.
func Pow(x, y float64) float64 {
	switch {
	case y == 0:
		return 1
	case y == 1:
		return x
	}
	return fexp(float64(y * flog(x)))
}
