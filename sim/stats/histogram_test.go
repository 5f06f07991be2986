package stats

import (
	"encoding"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

var (
	_ encoding.BinaryMarshaler   = (*Histogram)(nil)
	_ encoding.BinaryUnmarshaler = (*Histogram)(nil)
	_ encoding.BinaryAppender    = (*Histogram)(nil)
)

// maxRelErr is the proven bound on the relative error of Quantile: half a
// bucket width over the smallest value of the bucket, 2^(s-1) / (128*2^s).
const maxRelErr = 1.0 / 256

func TestBucketLayout(t *testing.T) {
	require.Equal(t, 7296, numBuckets)
	require.Equal(t, numBuckets-1, bucketIndex(math.MaxInt64))
	var prevHi int64 = -1
	for i := 0; i < numBuckets; i++ {
		lo, hi := bucketBounds(i)
		require.Equal(t, prevHi+1, lo, "buckets are contiguous at %d", i)
		require.LessOrEqual(t, lo, hi)
		require.Equal(t, i, bucketIndex(uint64(lo)), "lo of bucket %d", i)
		require.Equal(t, i, bucketIndex(uint64(hi)), "hi of bucket %d", i)
		if lo < 2*subCount {
			require.Equal(t, lo, hi, "values below 256 are exact")
		} else {
			// Width over lower bound is at most 1/128: the midpoint is then
			// within 1/256 of any value in the bucket.
			require.LessOrEqual(t, (hi-lo+1)*subCount, lo, "bucket %d", i)
		}
		prevHi = hi
	}
	require.Equal(t, int64(math.MaxInt64), prevHi)
}

// sampler draws one int64 value from r.
type sampler func(r *sim.Rand) int64

func clampInt(x float64) int64 {
	if x >= 0x1p63 {
		return math.MaxInt64
	}
	return int64(x)
}

var distributions = []struct {
	name string
	draw sampler
}{
	{"small-ints", func(r *sim.Rand) int64 { return int64(r.IntN(300)) }},
	{"uniform-1e9", func(r *sim.Rand) int64 { return int64(r.IntN(1e9)) }},
	{"exponential-20ms", func(r *sim.Rand) int64 { return clampInt(2e7 * r.ExpFloat64()) }},
	{"lognormal-sigma2", func(r *sim.Rand) int64 { return clampInt(math.Exp(16 + 2*r.NormFloat64())) }},
	{"pareto-shape1.1", func(r *sim.Rand) int64 { return clampInt(1e5 * math.Pow(r.Float64Open(), -1/1.1)) }},
	{"pareto-shape0.5", func(r *sim.Rand) int64 { return clampInt(1e3 * math.Pow(r.Float64Open(), -1/0.5)) }},
	{"bimodal", func(r *sim.Rand) int64 {
		if r.Bernoulli(0.95) {
			return 1e6 + int64(r.IntN(1e5))
		}
		return 3e9 + int64(r.IntN(1e9))
	}},
	{"full-range", func(r *sim.Rand) int64 { return int64(r.Uint64() >> uint(1+r.IntN(63))) }},
	{"constant", func(r *sim.Rand) int64 { return 123456789 }},
}

func draw(s sampler, seed uint64, n int) []int64 {
	r := sim.NewRand(seed, 0xd157)
	xs := make([]int64, n)
	for i := range xs {
		xs[i] = s(r)
	}
	return xs
}

// exactQuantile is the nearest-rank quantile of sorted data, by the same
// rank rule as Histogram.Quantile.
func exactQuantile(sorted []int64, q float64) int64 {
	return sorted[nearestRank(q, int64(len(sorted)))-1]
}

// TestQuantileRelativeError checks the documented error bound against exact
// sorted quantiles on a million values from each of several distributions,
// heavy tails included.
func TestQuantileRelativeError(t *testing.T) {
	const n = 1_000_000
	qs := []float64{0, 1e-6, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999, 1}
	qr := sim.NewRand(7, 7)
	for range 500 {
		qs = append(qs, qr.Float64())
	}
	for i, d := range distributions {
		t.Run(d.name, func(t *testing.T) {
			xs := draw(d.draw, uint64(i), n)
			h := NewHistogram()
			for _, x := range xs {
				h.Record(x)
			}
			slices.Sort(xs)
			require.Equal(t, int64(n), h.Count())
			assert.Equal(t, xs[0], h.Min())
			assert.Equal(t, xs[n-1], h.Max())
			worst := 0.0
			for _, q := range qs {
				want, got := exactQuantile(xs, q), h.Quantile(q)
				if want == 0 {
					require.Zero(t, got, "q=%v", q)
					continue
				}
				rel := math.Abs(float64(got-want)) / float64(want)
				worst = max(worst, rel)
				require.LessOrEqual(t, rel, maxRelErr, "q=%v: got %d want %d", q, got, want)
			}
			require.Less(t, worst, 0.01) // the 1% requirement, with room
			t.Logf("worst relative error %.5f%% over %d quantiles", 100*worst, len(qs))
		})
	}
}

func TestQuantileSmall(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		q      float64
		want   int64
	}{
		{"empty", nil, 0.5, 0},
		{"single", []int64{42}, 0.5, 42},
		{"single-q0", []int64{42}, 0, 42},
		{"single-q1", []int64{42}, 1, 42},
		{"negative-clamped", []int64{-5, -1}, 0.5, 0},
		{"rank-ceil", []int64{10, 20, 30, 40}, 0.5, 20}, // ceil(0.5*4) = 2nd
		{"rank-ceil-up", []int64{10, 20, 30, 40}, 0.51, 30},
		{"q-tiny-is-first", []int64{10, 20, 30, 40}, 1e-9, 10},
		{"q0-is-min", []int64{1000, 1001, 5000}, 0, 1000},
		{"q1-is-max-exact", []int64{1000, 1001, 5001}, 1, 5001},
		{"midpoint", []int64{1000, 1003, 2000}, 0.3, 1001}, // bucket [1000, 1003]
		{"clamped-to-max", []int64{1024, 1025}, 0.5, 1025}, // bucket [1024, 1031], midpoint 1027
		{"clamped-to-min", []int64{1030, 1031}, 0.5, 1030}, // same bucket
		{"max-int64", []int64{math.MaxInt64}, 0.5, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			for _, v := range tt.values {
				h.Record(v)
			}
			assert.Equal(t, tt.want, h.Quantile(tt.q))
		})
	}
}

func TestQuantilePanicsOutsideUnitInterval(t *testing.T) {
	h := NewHistogram()
	h.Record(1)
	for _, q := range []float64{math.NaN(), -0.1, 1.1, math.Inf(1)} {
		assert.Panics(t, func() { h.Quantile(q) }, "q=%v", q)
	}
}

func TestEmpty(t *testing.T) {
	var h Histogram // the zero value is usable
	assert.Zero(t, h.Count())
	assert.True(t, math.IsNaN(h.Mean()))
	assert.Zero(t, h.Min())
	assert.Zero(t, h.Max())
	assert.Zero(t, h.Quantile(0.99))
	v, f := h.CDF()
	assert.Nil(t, v)
	assert.Nil(t, f)
	h.Buckets(func(lo, hi, c int64) { t.Fatal("no buckets expected") })
	assert.True(t, h.Equal(NewHistogram()))
	h.Record(7)
	assert.Equal(t, 7.0, h.Mean())
}

func TestMeanIsExact(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		n      int64 // each value recorded n times via RecordN
	}{
		{"small", []int64{1, 2}, 1},
		{"max-int64-twice", []int64{math.MaxInt64, math.MaxInt64}, 1},
		{"huge-counts", []int64{math.MaxInt64, 1, math.MaxInt64 - 1}, 1 << 61},
		{"cancellation-prone", []int64{1 << 62, 1, 1 << 62, 1}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			sum, count := new(big.Int), new(big.Int)
			for _, v := range tt.values {
				h.RecordN(v, tt.n)
				sum.Add(sum, new(big.Int).Mul(big.NewInt(v), big.NewInt(tt.n)))
				count.Add(count, big.NewInt(tt.n))
			}
			want, _ := new(big.Rat).SetFrac(sum, count).Float64()
			assert.InEpsilon(t, want, h.Mean(), 1e-15)
		})
	}
}

func TestRecordNMatchesRecord(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for v := int64(0); v < 5000; v += 37 {
		n := v%5 + 1
		a.RecordN(v, n)
		for range n {
			b.Record(v)
		}
	}
	a.RecordN(99, 0) // no-op
	require.True(t, a.Equal(b))
	assert.Panics(t, func() { a.RecordN(1, -1) })
	assert.Panics(t, func() { a.RecordN(1, math.MaxInt64) })
}

func histOf(xs []int64) *Histogram {
	h := NewHistogram()
	for _, x := range xs {
		h.Record(x)
	}
	return h
}

func marshal(t *testing.T, h *Histogram) []byte {
	t.Helper()
	b, err := h.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestMergeIsExactAndOrderIndependent merges three parts with different
// ranges in every order and as a tree, and compares the results with each
// other and with one histogram that recorded everything, by Equal and by
// the encoded bytes.
func TestMergeIsExactAndOrderIndependent(t *testing.T) {
	parts := [][]int64{
		draw(distributions[2].draw, 1, 20000), // exponential, mid range
		draw(distributions[0].draw, 2, 5000),  // small exact values
		draw(distributions[4].draw, 3, 20000), // heavy tail, wide range
	}
	var all []int64
	for _, p := range parts {
		all = append(all, p...)
	}
	want := histOf(all)
	// Recording in another order gives the same state.
	rev := slices.Clone(all)
	slices.Reverse(rev)
	require.True(t, want.Equal(histOf(rev)))

	wantBytes := marshal(t, want)
	perms := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			acc := NewHistogram()
			for _, i := range p {
				acc.Merge(histOf(parts[i]))
			}
			assert.True(t, acc.Equal(want))
			assert.Equal(t, wantBytes, marshal(t, acc))
			assert.Equal(t, want.Mean(), acc.Mean()) // bit-identical
			assert.Equal(t, want.Quantile(0.99), acc.Quantile(0.99))
			// Into a non-empty histogram, as a tree: (p0 <- p1) <- p2.
			tree := histOf(parts[p[0]])
			tree.Merge(histOf(parts[p[1]]))
			tree.Merge(histOf(parts[p[2]]))
			assert.Equal(t, wantBytes, marshal(t, tree))
		})
	}
	t.Run("merge-empty", func(t *testing.T) {
		c := want.Clone()
		c.Merge(NewHistogram())
		assert.True(t, c.Equal(want))
		e := NewHistogram()
		e.Merge(want)
		assert.True(t, e.Equal(want))
	})
	t.Run("merge-self-doubles", func(t *testing.T) {
		c := want.Clone()
		c.Merge(c)
		d := want.Clone()
		d.Merge(want)
		assert.True(t, c.Equal(d))
		assert.Equal(t, 2*want.Count(), c.Count())
	})
	t.Run("merge-does-not-modify-source", func(t *testing.T) {
		src := histOf(parts[1])
		before := marshal(t, src)
		dst := histOf(parts[0])
		dst.Merge(src)
		assert.Equal(t, before, marshal(t, src))
	})
}

func TestEqual(t *testing.T) {
	a := histOf([]int64{1, 500, 70000})
	tests := []struct {
		name  string
		other *Histogram
		want  bool
	}{
		{"same", histOf([]int64{70000, 1, 500}), true},
		{"clone", a.Clone(), true},
		{"extra-value", histOf([]int64{1, 500, 70000, 500}), false},
		{"same-buckets-different-sum", histOf([]int64{1, 501, 70000}), false}, // 500 and 501 share a bucket
		{"different-max", histOf([]int64{1, 500, 70001}), false},
		{"empty", NewHistogram(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.Equal(tt.other))
			assert.Equal(t, tt.want, tt.other.Equal(a))
		})
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := histOf([]int64{10, 20, 30})
	c := a.Clone()
	c.Record(1 << 40)
	assert.Equal(t, int64(3), a.Count())
	assert.Equal(t, int64(30), a.Max())
	assert.False(t, a.Equal(c))
}

func TestReset(t *testing.T) {
	h := histOf(draw(distributions[2].draw, 5, 1000))
	h.Reset()
	assert.True(t, h.Equal(NewHistogram()))
	assert.Equal(t, marshal(t, NewHistogram()), marshal(t, h))
	// The bucket array is kept: recording in the old range allocates nothing.
	assert.Zero(t, testing.AllocsPerRun(100, func() { h.Record(20_000_000) }))
	assert.Equal(t, int64(20_000_000), h.Min())
}

func TestBucketsAndCDF(t *testing.T) {
	xs := draw(distributions[3].draw, 9, 50000)
	h := histOf(xs)
	var total int64
	var lastHi int64 = -1
	var bounds [][2]int64
	h.Buckets(func(lo, hi, c int64) {
		require.Greater(t, lo, lastHi, "ascending and disjoint")
		require.Positive(t, c)
		total += c
		lastHi = hi
		bounds = append(bounds, [2]int64{lo, hi})
	})
	assert.Equal(t, h.Count(), total)
	values, fractions := h.CDF()
	require.Len(t, values, len(bounds))
	require.Len(t, fractions, len(bounds))
	assert.True(t, slices.IsSorted(values))
	assert.True(t, slices.IsSorted(fractions))
	assert.Equal(t, 1.0, fractions[len(fractions)-1])
	for i, v := range values {
		// The representative lies in its bucket and in [Min, Max].
		require.True(t, max(bounds[i][0], h.Min()) <= v && v <= min(bounds[i][1], h.Max()), "point %d", i)
	}
	assert.Equal(t, h.Quantile(0.5), values[slices.IndexFunc(fractions, func(f float64) bool { return f >= 0.5 })])
}

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
	}{
		{"empty", nil},
		{"zero", []int64{0}},
		{"max", []int64{math.MaxInt64, math.MaxInt64}},
		{"full-range", draw(distributions[7].draw, 11, 10000)},
		{"lognormal", draw(distributions[3].draw, 12, 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := histOf(tt.values)
			b := marshal(t, h)
			var got Histogram
			require.NoError(t, got.UnmarshalBinary(b))
			assert.True(t, got.Equal(h))
			assert.Equal(t, b, marshal(t, &got))
			assert.Equal(t, math.Float64bits(h.Mean()), math.Float64bits(got.Mean()))
			// Unmarshal replaces state, and the result keeps working.
			again := histOf([]int64{5, 6, 7})
			require.NoError(t, again.UnmarshalBinary(b))
			assert.True(t, again.Equal(h))
			again.Record(1 << 50)
			assert.Equal(t, h.Count()+1, again.Count())
		})
	}
}

// TestMarshalGolden pins the encoding: a change here breaks merging of
// shards written by an older binary, so bump histogramVersion instead.
func TestMarshalGolden(t *testing.T) {
	h := NewHistogram()
	h.Record(3)
	h.RecordN(1000, 2) // bucket [1000, 1003]
	h.Record(1002)
	b := marshal(t, h)
	assert.Equal(t, "0107"+"04"+"03"+"ea07"+"00"+"bd17"+"02"+"0001"+"f60303", hex.EncodeToString(b))
	assert.Equal(t, "010700", hex.EncodeToString(marshal(t, NewHistogram())))
}

func TestUnmarshalErrors(t *testing.T) {
	good := marshal(t, histOf([]int64{3, 1000, 1000, 1002}))
	mutate := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"short", []byte{1}},
		{"version", mutate(func(b []byte) []byte { b[0] = 2; return b })},
		{"layout", mutate(func(b []byte) []byte { b[1] = 6; return b })},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(slices.Clone(good), 0)},
		{"empty-trailing", []byte{1, 7, 0, 0}},
		{"count-mismatch", mutate(func(b []byte) []byte { b[2] = 5; return b })},
		{"min-above-max", []byte{1, 7, 1, 5, 4, 0, 4, 1, 0, 1}},
		{"sum-too-small", []byte{1, 7, 1, 4, 4, 0, 3, 1, 0, 1}},
		{"zero-bucket-count", []byte{1, 7, 1, 4, 4, 0, 4, 1, 0, 0}},
		{"bucket-after-max", []byte{1, 7, 2, 4, 4, 0, 8, 2, 0, 1, 0, 1}},
		{"bucket-past-max", []byte{1, 7, 2, 4, 5, 0, 9, 2, 0, 1, 5, 1}},
		{"count-overflows-int64", []byte{1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := histOf([]int64{42})
			err := h.UnmarshalBinary(tt.data)
			require.ErrorIs(t, err, ErrEncoding)
			assert.Contains(t, err.Error(), "stats: ")
			assert.True(t, h.Equal(histOf([]int64{42})), "h unchanged on error")
		})
	}
}

// FuzzUnmarshal checks that no input panics and that whatever is accepted
// is a consistent histogram that round-trips.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{1, 7, 0})
	for _, xs := range [][]int64{{3, 1000, 1000, 1002}, {0}, {math.MaxInt64}, draw(distributions[4].draw, 1, 50)} {
		b, _ := histOf(xs).MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if h.UnmarshalBinary(data) != nil {
			return
		}
		var total int64
		h.Buckets(func(lo, hi, c int64) { total += c })
		require.Equal(t, h.Count(), total)
		if h.Count() > 0 {
			q := h.Quantile(0.5)
			require.True(t, h.Min() <= q && q <= h.Max())
		}
		b := marshal(t, &h)
		var g Histogram
		require.NoError(t, g.UnmarshalBinary(b))
		require.True(t, g.Equal(&h))
	})
}

func TestRecordDoesNotAllocateOnceCovered(t *testing.T) {
	h := NewHistogram()
	xs := draw(distributions[3].draw, 3, 4096)
	for _, x := range xs {
		h.Record(x)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		h.Record(xs[i%len(xs)])
		h.RecordN(xs[(i+1)%len(xs)], 3)
		i++
	})
	assert.Zero(t, allocs)
}

func TestGrowthIsBounded(t *testing.T) {
	// A range that drifts upward one bucket at a time reallocates at most
	// once per power of two, and the array never exceeds numBuckets.
	h := NewHistogram()
	grows := 0
	prev := 0
	for i := 0; i < numBuckets; i++ {
		lo, _ := bucketBounds(i)
		h.Record(lo)
		if cap(h.counts) != prev {
			grows++
			prev = cap(h.counts)
		}
	}
	assert.LessOrEqual(t, grows, numBuckets/subCount+1)
	assert.Len(t, h.counts, numBuckets)
	// Downward drift is bounded the same way.
	h = NewHistogram()
	grows, prev = 0, 0
	for i := numBuckets - 1; i >= 0; i-- {
		lo, _ := bucketBounds(i)
		h.Record(lo)
		if cap(h.counts) != prev {
			grows++
			prev = cap(h.counts)
		}
	}
	assert.LessOrEqual(t, grows, numBuckets/subCount+1)
	assert.Len(t, h.counts, numBuckets)
}

func BenchmarkRecord(b *testing.B) {
	xs := draw(distributions[3].draw, 1, 4096) // lognormal latencies
	h := NewHistogram()
	for _, x := range xs { // warm up: cover the range
		h.Record(x)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Record(xs[i&4095])
	}
}

func BenchmarkQuantile(b *testing.B) {
	h := histOf(draw(distributions[3].draw, 1, 100000))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Quantile(0.99)
	}
}

func BenchmarkMerge(b *testing.B) {
	src := histOf(draw(distributions[3].draw, 1, 100000))
	dst := src.Clone()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst.Merge(src)
	}
}
