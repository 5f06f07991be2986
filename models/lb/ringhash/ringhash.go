// Package ringhash implements Envoy's RING_HASH policy, a ketama-style
// consistent-hash ring
// (source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc).
//
// Ring: host weights are normalised to sum to 1 (in host order, as Envoy's
// normalizeHostWeights does) and scaled so that the least-weighted host gets
// a whole number of points: scale = min(ceil(min_w*MinRingSize)/min_w,
// MaxRingSize). Walking the hosts in order with running sums, host i gets
// points while current < target, target += scale*w_i, so every host gets
// about scale*w_i points and the ring holds about ceil(scale) points in
// all. Point j of host i is at xxHash64("<i>_<j>"); Envoy hashes
// "<address or hostname>_<j>". The ring is sorted by hash (ties, which need
// a 64-bit collision, by host index).
//
// Pick: the request's PickInfo.HashKey is spread with xxHash64 of its 8
// little-endian bytes (Envoy's HashUtil::xxHash64Value; in Envoy the hash
// policy has already produced a 64-bit hash, but keys in scenarios are often
// small consecutive integers), and the pick is the first point clockwise:
// the first point whose hash is >= the request hash, wrapping to the first
// point. That is what Envoy's port of ketama_get_server returns when point
// hashes are distinct; it is found by binary search in O(log ring size).
//
// Host identity is the index in BuildOptions.Hosts, so removing the last
// host moves about 1/n of the keys, but removing a host from the middle
// renames every later host and moves far more: lb.Host has no stable name
// yet, so callers should keep indexes stable across rebuilds.
//
// Not modelled: Envoy's random hash for requests without one (PickInfo
// cannot say "no hash"), the retry-predicate walk (chooseHost's attempt
// offset, which is the host-selection retry count, not PickInfo.Attempt),
// bounded load (hash_balance_factor) and MURMUR_HASH_2.
package ringhash

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/hash"
)

// Name is the policy name used in scenarios.
const Name = "ring_hash"

// Defaults and limits, from Envoy's ring_hash.proto.
const (
	DefaultMinRingSize = 1024
	DefaultMaxRingSize = 8 * 1024 * 1024
	// MaxRingSizeLimit is the largest minimum or maximum ring size Envoy
	// accepts (8M points; 96 MiB here).
	MaxRingSizeLimit = 8 * 1024 * 1024
)

func init() { lb.Register(Name, builder{}) }

type builder struct{}

type config struct {
	minSize, maxSize int
}

// parse fills the defaults of zero fields and validates the result.
func parse(c lb.Config) (config, error) {
	cfg := config{minSize: c.MinRingSize, maxSize: c.MaxRingSize}
	if cfg.minSize == 0 {
		cfg.minSize = DefaultMinRingSize
	}
	if cfg.maxSize == 0 {
		cfg.maxSize = DefaultMaxRingSize
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"min_ring_size", cfg.minSize}, {"max_ring_size", cfg.maxSize}} {
		if f.v < 1 || f.v > MaxRingSizeLimit {
			return config{}, fmt.Errorf("%w: %s: %s must be in [1, %d], got %d", lb.ErrConfig, Name, f.name, MaxRingSizeLimit, f.v)
		}
	}
	if cfg.minSize > cfg.maxSize {
		return config{}, fmt.Errorf("%w: %s: min_ring_size (%d) must be <= max_ring_size (%d)", lb.ErrConfig, Name, cfg.minSize, cfg.maxSize)
	}
	return cfg, nil
}

// Build validates the configuration and builds the ring. It takes
// O(R log R) time and O(R) memory for a ring of R points; it draws nothing
// from opts.Rand.
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	cfg, err := parse(opts.Config)
	if err != nil {
		return nil, err
	}
	n := len(opts.Hosts)
	if n == 0 {
		return &picker{}, nil
	}
	// normalizeHostWeights: Envoy requires the sum to fit in a uint32.
	norm, err := hash.NormalizedWeights(Name, opts.Hosts)
	if err != nil {
		return nil, err
	}
	minNorm := slices.Min(norm)
	scale := min(math.Ceil(float64(minNorm*float64(cfg.minSize)))/minNorm, float64(cfg.maxSize))
	size := int(math.Ceil(scale))

	points := make([]point, 0, size+n)
	key := make([]byte, 0, 48)
	current, target := 0.0, 0.0
	for i := range opts.Hosts {
		key = strconv.AppendInt(key[:0], int64(i), 10)
		key = append(key, '_')
		prefix := len(key)
		target += float64(scale * norm[i]) // rounded product: no fused multiply-add
		for j := int64(0); current < target; j++ {
			key = strconv.AppendInt(key[:prefix], j, 10)
			points = append(points, point{hash: hash.Sum64(key, 0), host: int32(i)})
			current++
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.host, b.host))
	})
	p := &picker{hashes: make([]uint64, len(points)), hosts: make([]int32, len(points))}
	for k, pt := range points {
		p.hashes[k], p.hosts[k] = pt.hash, pt.host
	}
	return p, nil
}

type point struct {
	hash uint64
	host int32
}

// picker holds the sorted ring as two parallel arrays: the binary search
// touches only hashes.
type picker struct {
	hashes []uint64
	hosts  []int32
}

// Pick returns the host of the first ring point clockwise from the
// request's hash. The complexity is O(log ring size).
func (p *picker) Pick(info lb.PickInfo) (int, error) {
	if len(p.hashes) == 0 {
		return -1, lb.ErrNoHost
	}
	h := hash.Uint64(info.HashKey)
	lo, hi := 0, len(p.hashes) // first index with hashes[i] >= h
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.hashes[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(p.hashes) {
		lo = 0
	}
	return int(p.hosts[lo]), nil
}
