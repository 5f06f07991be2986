package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Bucket layout (log-linear, as in HdrHistogram).
//
// A value v >= 0 with bit length L (bits.Len64) is shifted right by
// s = max(0, L-8) bits, keeping its top 8 significant bits m = v>>s. For
// v < 256 the shift is 0 and m = v, so small values are exact. For v >= 256,
// m lies in [128, 256): each power of two [2^e, 2^(e+1)) is split into
// subCount = 128 equal sub-buckets of width 2^s. The bucket index is
// s*subCount + m, which is monotone in v, contiguous, and needs only a
// bit-length and a shift (no logarithm):
//
//	v in [0, 256)            index v          width 1 (exact)
//	v in [256, 512)          index 256..383   width 2
//	v in [2^e, 2^(e+1))      128 buckets      width 2^(e-7)
//	v = MaxInt64             index 7295       (the last of numBuckets)
//
// The representative value of a bucket [lo, hi] is its midpoint, which is
// within (hi-lo+1)/2 = 2^(s-1) of every value in the bucket, and every value
// is at least 128*2^s, so the relative error is at most 1/256 < 0.4%.
const (
	subBits    = 7
	subCount   = 1 << subBits       // sub-buckets per power of two
	maxShift   = 63 - (subBits + 1) // shift of the largest int64 values
	numBuckets = (maxShift + 2) << subBits
)

// bucketIndex returns the bucket of v. It is O(1) and does not branch on
// anything but the size of v.
func bucketIndex(v uint64) int {
	s := bits.Len64(v) - (subBits + 1)
	if s < 0 {
		s = 0
	}
	return s<<subBits + int(v>>uint(s))
}

// bucketBounds returns the inclusive value range [lo, hi] of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	s := i>>subBits - 1
	m := int64(i&(subCount-1) + subCount)
	lo = m << uint(s)
	return lo, lo + (int64(1)<<uint(s) - 1)
}

// Histogram is a streaming, mergeable histogram of non-negative int64 values,
// usually latencies in nanoseconds. It is log-bucketed with 128 linear
// sub-buckets per power of two, so any quantile it returns is within 1/256
// (0.4%) of the exact value of the same rank, and values below 256 are
// exact. It also keeps the exact count, minimum, maximum and sum (a 128-bit
// integer, so the sum never overflows and never depends on the order of
// recording or merging).
//
// Memory is independent of the number of samples: the bucket array spans
// only the range of bucket indices seen so far, at most 7296 counters
// (57 KiB) for the whole int64 range, and grows lazily; once the range is
// covered, Record never allocates.
//
// The zero value is an empty histogram ready to use. A Histogram is not safe
// for concurrent use.
type Histogram struct {
	// counts[i] is the number of values in bucket base+i. counts covers at
	// least the buckets of min and max when total > 0, and may extend
	// beyond them (growth slack, or range kept by Reset); the logical state
	// ignores that slack, so Equal and MarshalBinary do not see it.
	counts []int64
	base   int
	total  int64
	sum    u128 // exact sum of all recorded values
	min    int64
	max    int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

// grow makes h.counts cover the buckets [lo, hi]. It adds one power of two
// (subCount buckets) of slack on each side that grows, so that a range that
// drifts bucket by bucket reallocates at most numBuckets/subCount = 57
// times over the life of the histogram.
func (h *Histogram) grow(lo, hi int) {
	end := hi + 1
	if len(h.counts) > 0 {
		oldEnd := h.base + len(h.counts)
		if lo >= h.base && end <= oldEnd {
			return
		}
		if lo > h.base {
			lo = h.base
		} else if lo < h.base {
			lo -= subCount
		}
		if end < oldEnd {
			end = oldEnd
		} else if end > oldEnd {
			end += subCount
		}
	} else {
		lo -= subCount / 2
		end += subCount / 2
	}
	lo = max(lo, 0)
	end = min(end, numBuckets)
	counts := make([]int64, end-lo)
	if len(h.counts) > 0 {
		copy(counts[h.base-lo:], h.counts)
	}
	h.counts, h.base = counts, lo
}

// Record adds one value. Negative values are recorded as 0 (a latency is
// never negative; a negative value is a clock bug upstream, and clamping
// keeps the histogram's invariants). The complexity is O(1); Record
// allocates only when v falls outside the range of buckets covered so far.
//
// Record does not check the count for overflow: 2^63 values would take
// centuries to record.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	idx := bucketIndex(uint64(v))
	i := idx - h.base
	if uint(i) >= uint(len(h.counts)) { // not covered yet: the only allocation
		h.grow(idx, idx)
		i = idx - h.base
	}
	h.counts[i]++
	h.note(v)
	h.total++
	h.sum = h.sum.add64(uint64(v))
}

// RecordN adds n copies of v; it is equivalent to calling Record(v) n times.
// n == 0 does nothing. It panics if n < 0 or if the total count would
// overflow int64. The complexity is O(1).
func (h *Histogram) RecordN(v int64, n int64) {
	if n <= 0 {
		if n < 0 {
			panic(fmt.Sprintf("stats: Histogram.RecordN with n=%d < 0", n))
		}
		return
	}
	if h.total+n < h.total {
		panic(fmt.Sprintf("stats: Histogram.RecordN count overflow (%d + %d)", h.total, n))
	}
	if v < 0 {
		v = 0
	}
	idx := bucketIndex(uint64(v))
	i := idx - h.base
	if uint(i) >= uint(len(h.counts)) {
		h.grow(idx, idx)
		i = idx - h.base
	}
	h.counts[i] += n
	h.note(v)
	h.total += n
	h.sum = h.sum.add(mul64(uint64(v), uint64(n)))
}

// note updates min and max with v; it must run before total is increased.
func (h *Histogram) note(v int64) {
	if h.total == 0 {
		h.min, h.max = v, v
		return
	}
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return h.total }

// Mean returns the exact sum of the values divided by their count, rounded
// to float64 (the sum is an exact integer, so the result does not depend on
// the order of recording or merging). It returns NaN when h is empty.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return math.NaN()
	}
	return h.sum.quo(uint64(h.total))
}

// Min returns the smallest value recorded, exactly, or 0 when h is empty.
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Max returns the largest value recorded, exactly, or 0 when h is empty.
func (h *Histogram) Max() int64 {
	if h.total == 0 {
		return 0
	}
	return h.max
}

// lowHigh returns the first and last non-empty bucket indices; h must not
// be empty.
func (h *Histogram) lowHigh() (lo, hi int) {
	return bucketIndex(uint64(h.min)), bucketIndex(uint64(h.max))
}

// Quantile returns the q-quantile by the nearest-rank definition: the value
// of rank r = ceil(q*Count()) (at least 1) in ascending order, computed in
// float64. Quantile(0) is Min() and Quantile(1) is Max(), exactly. Otherwise
// the result is the midpoint of the bucket holding rank r, clamped to
// [Min(), Max()]: it is within 1/256 (0.4%) relative error of the exact
// nearest-rank value of the recorded data. It returns 0 when h is empty,
// and panics if q is NaN or outside [0, 1]. The complexity is O(number of
// buckets spanned), at most 7296.
func (h *Histogram) Quantile(q float64) int64 {
	if !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("stats: Histogram.Quantile(%v) outside [0, 1]", q))
	}
	if h.total == 0 {
		return 0
	}
	if q == 0 {
		return h.min
	}
	if q == 1 {
		return h.max
	}
	rank := nearestRank(q, h.total)
	lo, hi := h.lowHigh()
	var cum int64
	for idx := lo; idx <= hi; idx++ {
		cum += h.counts[idx-h.base]
		if cum >= rank {
			return h.representative(idx)
		}
	}
	return h.max // unreachable: the counts add up to total
}

// nearestRank returns ceil(q*n) clamped to [1, n], the 1-based rank of the
// nearest-rank q-quantile of n values.
func nearestRank(q float64, n int64) int64 {
	r := int64(math.Ceil(float64(q * float64(n))))
	return min(max(r, 1), n)
}

// representative returns the midpoint of bucket idx clamped to [min, max].
func (h *Histogram) representative(idx int) int64 {
	lo, hi := bucketBounds(idx)
	mid := lo + (hi-lo)/2
	return min(max(mid, h.min), h.max)
}

// Merge adds every value recorded in o to h, exactly: afterwards h is in
// the state it would be in had it recorded both sets of values itself.
// Merging is commutative and associative (all state is integer), so merging
// parts in any order gives Equal histograms and identical MarshalBinary
// bytes. o is not modified; h.Merge(h) doubles h. It panics if the total
// count would overflow int64. The complexity is O(buckets spanned by o).
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	if h.total+o.total < h.total {
		panic(fmt.Sprintf("stats: Histogram.Merge count overflow (%d + %d)", h.total, o.total))
	}
	lo, hi := o.lowHigh()
	h.grow(lo, hi)
	for idx := lo; idx <= hi; idx++ {
		h.counts[idx-h.base] += o.counts[idx-o.base]
	}
	if h.total == 0 {
		h.min, h.max = o.min, o.max
	} else {
		h.min = min(h.min, o.min)
		h.max = max(h.max, o.max)
	}
	h.total += o.total
	h.sum = h.sum.add(o.sum)
}

// Reset empties h. It keeps the bucket array, so a histogram reused for
// each window of a timeline does not allocate again.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.total, h.sum, h.min, h.max = 0, u128{}, 0, 0
}

// Clone returns an independent copy of h.
func (h *Histogram) Clone() *Histogram {
	c := *h
	c.counts = append([]int64(nil), h.counts...)
	return &c
}

// Equal reports whether h and o hold the same values: the same count, sum,
// minimum, maximum and bucket counts. The capacity of the bucket arrays
// does not matter.
func (h *Histogram) Equal(o *Histogram) bool {
	if h.total != o.total || h.sum != o.sum || h.Min() != o.Min() || h.Max() != o.Max() {
		return false
	}
	if h.total == 0 {
		return true
	}
	lo, hi := h.lowHigh()
	for idx := lo; idx <= hi; idx++ {
		if h.counts[idx-h.base] != o.counts[idx-o.base] {
			return false
		}
	}
	return true
}

// Buckets calls fn for each non-empty bucket in ascending order of value,
// with the inclusive value bounds of the bucket (not clamped to Min and Max)
// and the number of values in it. The complexity is O(buckets spanned).
func (h *Histogram) Buckets(fn func(lo, hi int64, count int64)) {
	if h.total == 0 {
		return
	}
	first, last := h.lowHigh()
	for idx := first; idx <= last; idx++ {
		if c := h.counts[idx-h.base]; c != 0 {
			lo, hi := bucketBounds(idx)
			fn(lo, hi, c)
		}
	}
}

// CDF returns one point per non-empty bucket, in ascending order: the
// bucket's representative value (as returned by Quantile) and the fraction
// of values at or below that bucket. The last fraction is exactly 1. Both
// slices are nil when h is empty. It is meant for plots; it allocates the
// two slices.
func (h *Histogram) CDF() (values []int64, fractions []float64) {
	if h.total == 0 {
		return nil, nil
	}
	first, last := h.lowHigh()
	var cum int64
	for idx := first; idx <= last; idx++ {
		c := h.counts[idx-h.base]
		if c == 0 {
			continue
		}
		cum += c
		values = append(values, h.representative(idx))
		fractions = append(fractions, float64(cum)/float64(h.total))
	}
	return values, fractions
}

// ErrEncoding is returned, wrapped, by UnmarshalBinary for malformed input.
var ErrEncoding = errors.New("stats: invalid histogram encoding")

// histogramVersion is the first byte of the binary encoding. Bump it when
// the layout changes; UnmarshalBinary rejects versions it does not know.
const histogramVersion = 1

// MarshalBinary implements encoding.BinaryMarshaler. The encoding is
// compact, versioned and deterministic: Equal histograms encode to the same
// bytes whatever their history. It is, with unsigned varints throughout:
//
//	version (1 byte, = 1), sub-bucket bits (1 byte, = 7), count
//	if count > 0: min, max, sum high word, sum low word,
//	              number of non-empty buckets, then for each non-empty
//	              bucket in ascending order: the gap (number of empty
//	              buckets since the previous one; the first bucket is
//	              that of min, so its gap is 0) and its count
func (h *Histogram) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(nil)
}

// AppendBinary implements encoding.BinaryAppender: it appends the encoding
// described at MarshalBinary to b.
func (h *Histogram) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, histogramVersion, subBits)
	b = binary.AppendUvarint(b, uint64(h.total))
	if h.total == 0 {
		return b, nil
	}
	b = binary.AppendUvarint(b, uint64(h.min))
	b = binary.AppendUvarint(b, uint64(h.max))
	b = binary.AppendUvarint(b, h.sum.hi)
	b = binary.AppendUvarint(b, h.sum.lo)
	lo, hi := h.lowHigh()
	var n uint64
	for idx := lo; idx <= hi; idx++ {
		if h.counts[idx-h.base] != 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, n)
	prev := lo - 1
	for idx := lo; idx <= hi; idx++ {
		if c := h.counts[idx-h.base]; c != 0 {
			b = binary.AppendUvarint(b, uint64(idx-prev-1))
			b = binary.AppendUvarint(b, uint64(c))
			prev = idx
		}
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces the
// state of h with the decoded one. It validates the input (version, layout,
// bucket indices, counts adding up to the total, min and max in their
// buckets, sum between count*min and count*max, no trailing bytes) and
// returns an error wrapping ErrEncoding if any check fails, leaving h
// unchanged.
func (h *Histogram) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if len(data) < 2 {
		return fmt.Errorf("%w: %d bytes, need at least 2", ErrEncoding, len(data))
	}
	if data[0] != histogramVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrEncoding, data[0], histogramVersion)
	}
	if data[1] != subBits {
		return fmt.Errorf("%w: %d sub-bucket bits, want %d", ErrEncoding, data[1], subBits)
	}
	d.b = data[2:]
	total := d.int63("count")
	if d.err != nil {
		return d.err
	}
	var n Histogram
	if total == 0 {
		if len(d.b) != 0 {
			return fmt.Errorf("%w: %d trailing bytes", ErrEncoding, len(d.b))
		}
		h.Reset()
		return nil
	}
	n.total = total
	n.min = d.int63("min")
	n.max = d.int63("max")
	n.sum.hi = d.uvarint("sum")
	n.sum.lo = d.uvarint("sum")
	buckets := d.uvarint("bucket count")
	if d.err != nil {
		return d.err
	}
	if n.min > n.max {
		return fmt.Errorf("%w: min %d > max %d", ErrEncoding, n.min, n.max)
	}
	lo, hi := n.lowHigh()
	if buckets == 0 || buckets > uint64(hi-lo+1) {
		return fmt.Errorf("%w: %d non-empty buckets between indices %d and %d", ErrEncoding, buckets, lo, hi)
	}
	n.grow(lo, hi)
	idx := lo - 1
	var sum int64
	for k := uint64(0); k < buckets; k++ {
		gap := d.uvarint("bucket gap")
		c := d.int63("bucket count")
		if d.err != nil {
			return d.err
		}
		if gap >= uint64(hi-idx) { // idx <= hi, so hi-idx >= 0
			return fmt.Errorf("%w: bucket %d beyond the bucket of max (%d)", ErrEncoding, k, hi)
		}
		idx += int(gap) + 1
		if c == 0 || sum+c < sum {
			return fmt.Errorf("%w: bucket %d has count %d", ErrEncoding, k, c)
		}
		if k == 0 && idx != lo {
			return fmt.Errorf("%w: first bucket %d is not the bucket of min (%d)", ErrEncoding, idx, lo)
		}
		n.counts[idx-n.base] = c
		sum += c
	}
	if idx != hi {
		return fmt.Errorf("%w: last bucket %d is not the bucket of max (%d)", ErrEncoding, idx, hi)
	}
	if sum != total {
		return fmt.Errorf("%w: bucket counts add up to %d, count is %d", ErrEncoding, sum, total)
	}
	if n.sum.less(mul64(uint64(n.min), uint64(total))) || mul64(uint64(n.max), uint64(total)).less(n.sum) {
		return fmt.Errorf("%w: sum outside [count*min, count*max]", ErrEncoding)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrEncoding, len(d.b))
	}
	*h = n
	return nil
}

// decoder reads unsigned varints and remembers the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = fmt.Errorf("%w: truncated or overlong %s", ErrEncoding, field)
		return 0
	}
	d.b = d.b[k:]
	return v
}

// int63 reads a uvarint that must fit in a non-negative int64.
func (d *decoder) int63(field string) int64 {
	v := d.uvarint(field)
	if v > math.MaxInt64 && d.err == nil {
		d.err = fmt.Errorf("%w: %s %d overflows int64", ErrEncoding, field, v)
	}
	return int64(v)
}
