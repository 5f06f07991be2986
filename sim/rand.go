package sim

import (
	"math"
	"math/rand/v2"
)

// This file is the only place that names the generator behind sim.Rand, so
// that swapping it is a one-file change (golang.org/x/exp/rand is deprecated
// in favour of math/rand/v2). rand_test.go pins its output.

// Rand is a deterministic random number stream. Every component draws from
// its own stream, obtained from Streams.Get, never from a global generator.
// A Rand is not safe for concurrent use.
type Rand struct {
	src rand.PCG
	r   *rand.Rand
}

// NewRand returns a stream seeded with the two 64-bit words hi and lo.
func NewRand(hi, lo uint64) *Rand {
	x := &Rand{}
	x.src.Seed(hi, lo)
	x.r = rand.New(&x.src)
	return x
}

// Uint64 returns a uniformly distributed 64-bit value.
func (x *Rand) Uint64() uint64 { return x.src.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (x *Rand) Float64() float64 { return x.r.Float64() }

// Float64Open returns a uniform value in (0, 1), for inverse-CDF sampling
// where 0 would give an infinite or zero value.
func (x *Rand) Float64Open() float64 {
	for {
		if u := x.r.Float64(); u > 0 {
			return u
		}
	}
}

// IntN returns a uniform value in [0, n). It panics if n <= 0.
func (x *Rand) IntN(n int) int { return x.r.IntN(n) }

// ExpFloat64 returns an exponentially distributed value with rate 1.
func (x *Rand) ExpFloat64() float64 { return x.r.ExpFloat64() }

// NormFloat64 returns a standard normal value.
func (x *Rand) NormFloat64() float64 { return x.r.NormFloat64() }

// Bernoulli reports true with probability p.
func (x *Rand) Bernoulli(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return x.r.Float64() < p
}

// Streams derives independent named streams from one root seed and a
// replication index. The stream for (component, purpose) depends only on
// those two names, the seed and the replication: adding a component, a
// variant or a failure never shifts the draws of another stream, which is
// what gives common random numbers across variants.
type Streams struct {
	seed        uint64
	replication uint64
}

// NewStreams returns the stream factory for one replication of a scenario.
func NewStreams(seed uint64, replication int) Streams {
	return Streams{seed: seed, replication: uint64(replication)}
}

// Seed returns the root seed.
func (s Streams) Seed() uint64 { return s.seed }

// Replication returns the replication index.
func (s Streams) Replication() int { return int(s.replication) }

// Get returns the stream for a stable component name, such as "checkout[2]",
// and a purpose, such as "service-time". The same arguments always give the
// same stream. The complexity is O(len(component)+len(purpose)).
func (s Streams) Get(component, purpose string) *Rand {
	h := fnv1a(fnvOffset, component)
	h = fnv1a(h^0xff, purpose) // 0xff cannot occur in UTF-8, so ("ab","c") != ("a","bc")
	a := splitmix(s.seed ^ splitmix(s.replication+0x9e3779b97f4a7c15))
	hi := splitmix(a ^ h)
	lo := splitmix(hi ^ math.MaxUint32 ^ h>>1)
	return NewRand(hi, lo)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// splitmix is the SplitMix64 finaliser: a bijective mix of 64 bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
