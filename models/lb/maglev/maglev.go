// Package maglev implements Envoy's MAGLEV policy
// (source/extensions/load_balancing_policies/maglev/maglev_lb.cc), the
// consistent-hash lookup table of Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer" (NSDI 2016), with Envoy's
// weighting.
//
// Table: TableSize entries (prime, default 65537, at most 5000011). Hosts
// are sorted by their hash key (Envoy sorts by address or hostname; here the
// key is the decimal host index, sorted as a string, so "10" < "2" exactly
// as Envoy would sort such names). Host k has offset = xxHash64(key, seed 0)
// % size and skip = xxHash64(key, seed 1) % (size-1) + 1, and its preference
// list is (offset + skip*j) % size. Rounds go over the hosts in sorted
// order; in round r a host of normalised weight w (weights / their sum)
// takes its next free preferred entry unless r*w < its target, and each
// take raises its target by the largest normalised weight. A host of the
// largest weight takes an entry every round, one of a third of it every
// third round (after a first take in round 1), so entries are proportional
// to weight and every host gets at least one if the table has room: weights
// 1:2 give 21846:43691 of 65537 entries, as Envoy documents.
//
// Pick: the request's PickInfo.HashKey is spread with xxHash64 of its 8
// little-endian bytes (Envoy's HashUtil::xxHash64Value; see ringhash for
// why) and the pick is table[hash % size]: O(1).
//
// Host identity is the index in BuildOptions.Hosts, as in ringhash: keep
// indexes stable across rebuilds.
//
// Not modelled: Envoy's random hash for requests without one, the
// retry-predicate hash mutation (attempt > 0 is the host-selection retry
// count, not PickInfo.Attempt), bounded load and the compact table (a
// memory layout with the same picks).
package maglev

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/hash"
)

// Name is the policy name used in scenarios.
const Name = "maglev"

// Defaults and limits, from Envoy's maglev.proto.
const (
	DefaultTableSize = 65537
	MaxTableSize     = 5000011
)

func init() { lb.Register(Name, builder{}) }

type builder struct{}

// parse fills the default of a zero table size and validates it.
func parse(c lb.Config) (uint64, error) {
	size := c.TableSize
	if size == 0 {
		size = DefaultTableSize
	}
	switch {
	case size < 2 || size > MaxTableSize:
		return 0, fmt.Errorf("%w: %s: table_size must be a prime in [2, %d], got %d", lb.ErrConfig, Name, MaxTableSize, size)
	case !isPrime(uint64(size)):
		return 0, fmt.Errorf("%w: %s: table_size must be prime, got %d", lb.ErrConfig, Name, size)
	}
	return uint64(size), nil
}

// isPrime is trial division, at most sqrt(5000011) < 2237 steps.
func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// entry is Envoy's TableBuildEntry.
type entry struct {
	key    string
	host   int32
	weight float64 // normalised
	offset uint64
	skip   uint64
	target float64
	next   uint64
}

// Build validates the configuration and fills the table. It takes
// O(size + n log n) time for balanced weights and O(size) memory; it draws
// nothing from opts.Rand.
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	size, err := parse(opts.Config)
	if err != nil {
		return nil, err
	}
	n := len(opts.Hosts)
	if n == 0 {
		return &picker{}, nil
	}
	norm, err := hash.NormalizedWeights(Name, opts.Hosts)
	if err != nil {
		return nil, err
	}
	entries := make([]entry, n)
	maxWeight := 0.0
	for i := range opts.Hosts {
		key := strconv.Itoa(i)
		e := &entries[i]
		*e = entry{key: key, host: int32(i), weight: norm[i]}
		e.offset = hash.Sum64([]byte(key), 0) % size
		e.skip = hash.Sum64([]byte(key), 1)%(size-1) + 1
		maxWeight = max(maxWeight, e.weight)
	}
	// Keys are distinct, so the order is total.
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.key, b.key) })

	table := make([]int32, size)
	filled := make([]bool, size)
	taken := uint64(0)
	for round := uint32(1); taken < size; round++ {
		for i := 0; i < n && taken < size; i++ {
			e := &entries[i]
			if float64(round)*e.weight < e.target {
				continue
			}
			e.target += maxWeight
			c := (e.offset + e.skip*e.next) % size
			for filled[c] {
				e.next++
				c = (e.offset + e.skip*e.next) % size
			}
			table[c] = e.host
			filled[c] = true
			e.next++
			taken++
		}
	}
	return &picker{table: table}, nil
}

type picker struct {
	table []int32
}

// Pick returns the table entry of the request's hash. The complexity is
// O(1).
func (p *picker) Pick(info lb.PickInfo) (int, error) {
	if len(p.table) == 0 {
		return -1, lb.ErrNoHost
	}
	return int(p.table[hash.Uint64(info.HashKey)%uint64(len(p.table))]), nil
}
