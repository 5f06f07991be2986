package maglev_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/lbtest"
	"github.com/meshsim/meshsim/models/lb/maglev"
)

// The shared test doubles (models/lb/internal/lbtest), bound to maglev.
var (
	weighted = lbtest.Weighted
	equal    = lbtest.Equal
	pick     = lbtest.Pick
)

func build(t testing.TB, hs []lb.Host, cfg lb.Config) lb.Picker {
	t.Helper()
	return lbtest.Build(t, maglev.Name, hs, cfg, nil)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  lb.Config
		err  string
	}{
		{"default", lb.Config{}, ""},
		{"small prime", lb.Config{TableSize: 251}, ""},
		{"largest", lb.Config{TableSize: 5000011}, ""},
		{"two", lb.Config{TableSize: 2}, ""},
		{"not prime", lb.Config{TableSize: 65536},
			"lb: invalid configuration: maglev: table_size must be prime, got 65536"},
		{"one", lb.Config{TableSize: 1},
			"lb: invalid configuration: maglev: table_size must be a prime in [2, 5000011], got 1"},
		{"negative", lb.Config{TableSize: -7},
			"lb: invalid configuration: maglev: table_size must be a prime in [2, 5000011], got -7"},
		{"too big", lb.Config{TableSize: 5000077},
			"lb: invalid configuration: maglev: table_size must be a prime in [2, 5000011], got 5000077"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lb.Validate(maglev.Name, tt.cfg)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, lb.ErrConfig)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestHostErrors(t *testing.T) {
	b, _ := lb.Get(maglev.Name)
	_, err := b.Build(lb.BuildOptions{Hosts: weighted(0, 1)})
	assert.EqualError(t, err, "lb: invalid configuration: maglev: host 0 has weight 0, must be >= 1")
	_, err = b.Build(lb.BuildOptions{Hosts: weighted(math.MaxUint32, 1)})
	assert.EqualError(t, err, "lb: invalid configuration: maglev: host weights sum to 4294967296, must be <= 4294967295")
}

func TestEqualWeightsBalanceWithinOne(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 10, 100, 1000} {
		for _, size := range []int{0, 251, 5003} {
			c := maglev.EntriesPerHost(build(t, equal(n), lb.Config{TableSize: size}), n)
			lo, hi := c[0], c[0]
			for _, x := range c {
				lo, hi = min(lo, x), max(hi, x)
			}
			if n > 251 && size == 251 {
				// More hosts than entries: 251 hosts get one entry each.
				assert.Equal(t, 0, lo, "n=%d size=%d", n, size)
				assert.Equal(t, 1, hi, "n=%d size=%d", n, size)
				continue
			}
			assert.LessOrEqual(t, hi-lo, 1, "n=%d size=%d: %d..%d", n, size, lo, hi)
		}
	}
}

func TestWeightedEntries(t *testing.T) {
	tests := []struct {
		name    string
		weights []uint32
		want    []int
	}{
		// maglev.proto / load_balancers.rst: weights 1:2 give 21846:43691.
		{"1:2", []uint32{1, 2}, []int{21846, 43691}},
		{"2:1", []uint32{2, 1}, []int{43691, 21846}},
		{"3:3", []uint32{3, 3}, []int{32769, 32768}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, maglev.EntriesPerHost(build(t, weighted(tt.weights...), lb.Config{}), len(tt.want)))
		})
	}
}

func TestWeightedEntriesProportional(t *testing.T) {
	ws := []uint32{1, 2, 3, 4, 10}
	c := maglev.EntriesPerHost(build(t, weighted(ws...), lb.Config{}), len(ws))
	for i, w := range ws {
		assert.InDelta(t, 65537*float64(w)/20, c[i], 2, "host %d: %v", i, c)
	}
}

func TestPicksFollowTable(t *testing.T) {
	const keys = 200000
	p := build(t, weighted(1, 2), lb.Config{})
	c := make([]int, 2)
	for key := uint64(0); key < keys; key++ {
		c[pick(t, p, key)]++
	}
	assert.InDelta(t, keys/3, c[0], 5*math.Sqrt(keys*2./9))
}

func TestSameKeySameHost(t *testing.T) {
	p := build(t, equal(9), lb.Config{})
	q := build(t, equal(9), lb.Config{})
	for key := uint64(0); key < 10000; key++ {
		require.Equal(t, pick(t, p, key), pick(t, q, key), "key %d", key)
	}
}

func TestRemovingOneHostMovesFewKeys(t *testing.T) {
	// Removing host n-1 of n moves its 1/n of keys plus the entries that
	// the other hosts' preference lists reshuffle when the table is
	// refilled (load_balancers.rst: up to about twice a ring's movement).
	const keys = 100000
	for _, n := range []int{10, 20} {
		before, after := build(t, equal(n), lb.Config{}), build(t, equal(n-1), lb.Config{})
		moved := 0
		for key := uint64(0); key < keys; key++ {
			if pick(t, before, key) != pick(t, after, key) {
				moved++
			}
		}
		frac := float64(moved) / keys
		t.Logf("n=%d: %.4f of keys moved (1/n = %.4f)", n, frac, 1/float64(n))
		assert.GreaterOrEqual(t, frac, 0.9/float64(n))
		assert.Less(t, frac, 2.5/float64(n))
	}
}

func TestNoHosts(t *testing.T) {
	_, err := build(t, nil, lb.Config{}).Pick(lb.PickInfo{HashKey: 3})
	assert.ErrorIs(t, err, lb.ErrNoHost)
}

func TestPickAllocatesNothing(t *testing.T) {
	p := build(t, weighted(1, 2, 3), lb.Config{})
	key := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		key++
		_, _ = p.Pick(lb.PickInfo{HashKey: key})
	})
	assert.Zero(t, allocs)
}
