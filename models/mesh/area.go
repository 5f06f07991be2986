package mesh

import "math/bits"

// area is a signed 128-bit accumulator of request-nanoseconds, so that
// busy and waiting time sum exactly, in any order, without overflow (10^6
// slots busy for a year is about 3e22 ns).
type area struct{ lo, hi uint64 }

// add adds x, sign-extended to 128 bits. O(1).
func (a *area) add(x int64) {
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, uint64(x), 0)
	a.hi += uint64(x>>63) + carry
}

// float returns the value as the nearest float64 (exact below 2^53).
func (a area) float() float64 {
	if int64(a.hi) < 0 {
		n := area{^a.lo, ^a.hi}
		n.add(1)
		return -n.float()
	}
	return float64(a.hi)*0x1p64 + float64(a.lo)
}
