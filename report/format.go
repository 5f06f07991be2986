package report

import (
	"strconv"
	"strings"

	"github.com/meshsim/meshsim/results"
)

// noData is shown in place of latency numbers when nothing completed ok.
const noData = "no completed requests"

// sig formats x with n significant digits in plain decimal notation (no
// exponent): sig(1234.5, 3) = "1234", sig(0.012345, 3) = "0.0123". Ties
// round to even, as strconv does. The exponent comes from strconv's own
// rounding rather than math.Log10, so the result is the same on every
// architecture and 9.996 becomes "10.0".
func sig(x float64, n int) string {
	return fixed(x, sigDecimals(x, n))
}

// sigDecimals returns how many decimals show n significant digits of x.
func sigDecimals(x float64, n int) int {
	if x == 0 {
		return 0
	}
	e := strconv.FormatFloat(x, 'e', n-1, 64) // d.ddde±XX
	exp, err := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if err != nil { // unreachable: strconv always writes an integer exponent
		return 0
	}
	return max(n-1-exp, 0)
}

// fixed formats x with the given number of decimals; a value that rounds
// to zero is written "0", never "-0.00".
func fixed(x float64, decimals int) string {
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	if strings.Trim(s, "-0.") == "" {
		return "0"
	}
	return s
}

// sig3 formats x with three significant digits.
func sig3(x float64) string { return sig(x, 3) }

// withCI formats an estimate as "v ± h unit". v has three significant
// digits. h has two, but at most one decimal more than v: a half-width far
// below the precision of v (often floating-point noise around a constant)
// shows as "± 0". Without an interval it is "v unit". scale converts the
// estimate to the displayed unit.
func withCI(mean float64, ci *results.Interval, scale float64, unit string) string {
	v := float64(mean * scale)
	d := sigDecimals(v, 3)
	s := fixed(v, d)
	if ci != nil {
		h := float64(ci.HalfWidth() * scale)
		s += " ± " + fixed(h, min(sigDecimals(h, 2), d+1))
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// estimate formats e in the displayed unit; "-" when e is nil.
func estimate(e *results.Estimate, scale float64, unit string) string {
	if e == nil {
		return "-"
	}
	return withCI(e.Mean, e.CI95, scale, unit)
}

// ms formats a latency statistic in seconds as milliseconds.
func ms(v float64, ci *results.Interval) string {
	return withCI(v, ci, 1000, "ms")
}

// count formats an integer count.
func count(n int64) string { return strconv.FormatInt(n, 10) }

// percent formats a fraction as a percentage with three significant digits.
func percent(f float64) string { return sig3(float64(f*100)) + "%" }

// uintString formats an unsigned count such as a seed or an event total.
func uintString(n uint64) string { return strconv.FormatUint(n, 10) }
