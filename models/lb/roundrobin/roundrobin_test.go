package roundrobin_test

import (
	"fmt"
	"math/rand"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/sim"
)

type host struct {
	active int
	weight uint32
}

func (h *host) ActiveRequests() int { return h.active }
func (h *host) Weight() uint32      { return h.weight }

func weighted(ws ...uint32) []lb.Host {
	hs := make([]lb.Host, len(ws))
	for i, w := range ws {
		hs[i] = &host{weight: w}
	}
	return hs
}

func build(t testing.TB, hs []lb.Host, rnd *sim.Rand) lb.Picker {
	t.Helper()
	b, ok := lb.Get(roundrobin.Name)
	require.True(t, ok)
	p, err := b.Build(lb.BuildOptions{Hosts: hs, Rand: rnd})
	require.NoError(t, err)
	return p
}

func picks(t testing.TB, p lb.Picker, n, hosts int) (seq, counts []int) {
	t.Helper()
	seq = make([]int, n)
	counts = make([]int, hosts)
	for i := range seq {
		h, err := p.Pick(lb.PickInfo{})
		require.NoError(t, err)
		seq[i] = h
		counts[h]++
	}
	return seq, counts
}

func TestWeightedCountsFollowWeights(t *testing.T) {
	// Weights 1:2:3:4 over 10k picks (1000 rounds of 10). A balancer starts
	// at a random point of the EDF schedule, so a window of whole rounds may
	// straddle a deadline tie: counts are exact to within one pick (the
	// exact-from-zero case is internal/edf TestFullCyclesAreExactFromZero).
	streams := sim.NewStreams(7, 0)
	exact := 0
	for b := 0; b < 50; b++ {
		p := build(t, weighted(1, 2, 3, 4), streams.Get("client", fmt.Sprint(b)))
		_, c := picks(t, p, 10000, 4)
		for i, w := range []int{1, 2, 3, 4} {
			assert.InDelta(t, 1000*w, c[i], 1, "balancer %d host %d", b, i)
		}
		if c[0] == 1000 && c[1] == 2000 && c[2] == 3000 && c[3] == 4000 {
			exact++
		}
	}
	assert.Greater(t, exact, 25, "most windows are exact")
}

func TestWeightedInterleaves(t *testing.T) {
	// EDF spreads a heavy host's picks instead of sending them in a burst:
	// with weights 1:4, host 0 is never picked twice in a row and host 1
	// never more than 4 times in a row.
	p := build(t, weighted(1, 4), sim.NewRand(3, 3))
	seq, _ := picks(t, p, 1000, 2)
	run := 1
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] {
			run++
		} else {
			run = 1
		}
		if seq[i] == 0 {
			require.Equal(t, 1, run, "pick %d", i)
		}
		require.LessOrEqual(t, run, 4, "pick %d", i)
	}
}

func TestWeightedStartDiffersPerBalancer(t *testing.T) {
	streams := sim.NewStreams(1, 0)
	firsts := map[string]bool{}
	for b := 0; b < 100; b++ {
		seq, _ := picks(t, build(t, weighted(1, 2, 3, 4), streams.Get("client", fmt.Sprint(b))), 5, 4)
		firsts[fmt.Sprint(seq)] = true
	}
	assert.GreaterOrEqual(t, len(firsts), 8, "a 10-pick round has about 10 distinct starting points")
}

func TestEqualWeightsAreCyclic(t *testing.T) {
	// Equal weights other than 1 take the unweighted path, as in Envoy.
	p := build(t, weighted(5, 5, 5), sim.NewRand(1, 2))
	seq, c := picks(t, p, 30, 3)
	for i := 1; i < len(seq); i++ {
		assert.Equal(t, (seq[i-1]+1)%3, seq[i])
	}
	assert.Equal(t, []int{10, 10, 10}, c)
}

func TestDeterministic(t *testing.T) {
	for _, ws := range [][]uint32{{1, 1, 1}, {1, 2, 3, 4}} {
		a, _ := picks(t, build(t, weighted(ws...), sim.NewRand(9, 9)), 1000, len(ws))
		b, _ := picks(t, build(t, weighted(ws...), sim.NewRand(9, 9)), 1000, len(ws))
		assert.Equal(t, a, b, "%v", ws)
	}
}

func TestZeroWeightIsAnError(t *testing.T) {
	b, _ := lb.Get(roundrobin.Name)
	_, err := b.Build(lb.BuildOptions{Hosts: weighted(1, 0), Rand: sim.NewRand(1, 1)})
	require.ErrorIs(t, err, lb.ErrConfig)
	assert.EqualError(t, err, "lb: invalid configuration: round_robin: host 1 has weight 0, must be >= 1")
}

func TestNoHostsAndValidate(t *testing.T) {
	assert.NoError(t, lb.Validate(roundrobin.Name, lb.Config{}))
	_, err := build(t, nil, sim.NewRand(1, 1)).Pick(lb.PickInfo{})
	assert.ErrorIs(t, err, lb.ErrNoHost)
}

func TestPickAllocatesNothing(t *testing.T) {
	for _, ws := range [][]uint32{{1, 1, 1}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		p := build(t, weighted(ws...), sim.NewRand(1, 1))
		allocs := testing.AllocsPerRun(1000, func() { _, _ = p.Pick(lb.PickInfo{}) })
		assert.Zero(t, allocs, "%v", ws)
	}
}

// TestQuickWeightedCounts is the policy-level property test: for any
// weights and any balancer stream, k rounds of sum(weights) picks give each
// host k*weight picks within one.
func TestQuickWeightedCounts(t *testing.T) {
	prop := func(raw []uint8, seed uint64, rounds uint8) bool {
		if len(raw) == 0 {
			return true
		}
		if len(raw) > 12 {
			raw = raw[:12]
		}
		ws := make([]uint32, len(raw))
		total := 0
		for i, r := range raw {
			ws[i] = 1 + uint32(r)%50
			total += int(ws[i])
		}
		k := 1 + int(rounds)%5
		_, c := picks(t, build(t, weighted(ws...), sim.NewRand(seed, 0)), k*total, len(ws))
		for i := range c {
			if d := c[i] - k*int(ws[i]); d < -1 || d > 1 {
				t.Logf("weights %v seed %d: host %d got %d, want %d±1", ws, seed, i, c[i], k*int(ws[i]))
				return false
			}
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 300, Rand: rand.New(rand.NewSource(2))}
	require.NoError(t, quick.Check(prop, cfg))
}
