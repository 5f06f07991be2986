package stats

import "math/bits"

// u128 is a 128-bit integer held as two 64-bit words. Histogram uses it as
// an unsigned sum; TimeWeighted uses it as a two's-complement signed area.
// Integer sums are exact and associative, so a total never depends on the
// order in which samples were added or parts were merged (floating-point
// sums do: see the STYLE appendix).
type u128 struct {
	hi, lo uint64
}

// mul64 returns the full 128-bit product a*b.
func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

// add returns a+b modulo 2^128.
func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

// add64 returns a+b modulo 2^128.
func (a u128) add64(b uint64) u128 {
	lo, c := bits.Add64(a.lo, b, 0)
	return u128{a.hi + c, lo}
}

// neg returns -a modulo 2^128 (two's complement).
func (a u128) neg() u128 {
	lo, b := bits.Sub64(0, a.lo, 0)
	hi, _ := bits.Sub64(0, a.hi, b)
	return u128{hi, lo}
}

// negative reports whether a, read as a signed two's-complement value, is
// below zero.
func (a u128) negative() bool { return int64(a.hi) < 0 }

// less reports whether a < b, both read as unsigned.
func (a u128) less(b u128) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	return a.lo < b.lo
}

// quo returns a/d (unsigned) as the nearest float64 up to one rounding of
// each of three terms; d must not be 0. The result depends only on a and d.
func (a u128) quo(d uint64) float64 {
	qhi := a.hi / d
	qlo, r := bits.Div64(a.hi%d, a.lo, d)
	// float64(qhi)*2^64 is exact scaling, so the only roundings are the
	// conversions and the two additions, always in this order.
	whole := float64(float64(qhi)*0x1p64) + float64(qlo)
	return whole + float64(r)/float64(d)
}

// signedQuo returns a/d with a read as a signed two's-complement value.
func (a u128) signedQuo(d uint64) float64 {
	if a.negative() {
		return -a.neg().quo(d)
	}
	return a.quo(d)
}
