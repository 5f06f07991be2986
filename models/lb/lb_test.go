package lb_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/random"
	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/sim"
)

type host struct{ active int }

func (h *host) ActiveRequests() int { return h.active }
func (h *host) Weight() uint32      { return 1 }

func hosts(n int) []lb.Host {
	hs := make([]lb.Host, n)
	for i := range hs {
		hs[i] = &host{}
	}
	return hs
}

func build(t *testing.T, name string, n int, rnd *sim.Rand) lb.Picker {
	t.Helper()
	b, ok := lb.Get(name)
	require.True(t, ok, name)
	p, err := b.Build(lb.BuildOptions{Hosts: hosts(n), Rand: rnd})
	require.NoError(t, err)
	return p
}

func TestRegistry(t *testing.T) {
	names := lb.Names()
	assert.Contains(t, names, random.Name)
	assert.Contains(t, names, roundrobin.Name)
	assert.IsNonDecreasing(t, names, "sorted")
	_, ok := lb.Get("least_requests")
	assert.False(t, ok)
	assert.Panics(t, func() { lb.Register(random.Name, nil) })
}

func TestRoundRobinVisitsEveryHostOncePerCycle(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 50} {
		p := build(t, roundrobin.Name, n, sim.NewRand(uint64(n), 9))
		counts := make([]int, n)
		first, err := p.Pick(lb.PickInfo{})
		require.NoError(t, err)
		counts[first]++
		prev := first
		for i := 1; i < 10*n; i++ {
			got, err := p.Pick(lb.PickInfo{})
			require.NoError(t, err)
			assert.Equal(t, (prev+1)%n, got, "cyclic order")
			counts[got]++
			prev = got
		}
		for h, c := range counts {
			assert.Equal(t, 10, c, "n=%d host %d: exactly 10 picks in 10 full cycles", n, h)
		}
	}
}

func TestRoundRobinStartIsRandomPerBalancer(t *testing.T) {
	// Envoy seeds each balancer's index randomly, so 100 balancers over 10
	// hosts do not all start at host 0.
	streams := sim.NewStreams(1, 0)
	starts := map[int]bool{}
	for i := 0; i < 100; i++ {
		p := build(t, roundrobin.Name, 10, streams.Get("client", string(rune('a'+i%26))+string(rune('a'+i/26))))
		h, err := p.Pick(lb.PickInfo{})
		require.NoError(t, err)
		starts[h] = true
	}
	assert.Greater(t, len(starts), 5)
}

func TestRandomIsUniformAndReproducible(t *testing.T) {
	const n, picks = 5, 100000
	p := build(t, random.Name, n, sim.NewRand(4, 2))
	q := build(t, random.Name, n, sim.NewRand(4, 2))
	counts := make([]int, n)
	for i := 0; i < picks; i++ {
		a, err := p.Pick(lb.PickInfo{})
		require.NoError(t, err)
		b, _ := q.Pick(lb.PickInfo{})
		require.Equal(t, a, b, "same stream, same picks")
		counts[a]++
	}
	// Binomial(1e5, 0.2): sd = 126; 5 sd bounds.
	for h, c := range counts {
		assert.InDelta(t, picks/n, c, 630, "host %d", h)
	}
}

func TestNoHosts(t *testing.T) {
	for _, name := range lb.Names() {
		p := build(t, name, 0, sim.NewRand(1, 1))
		_, err := p.Pick(lb.PickInfo{})
		assert.ErrorIs(t, err, lb.ErrNoHost, name)
	}
}

func TestPickAllocatesNothing(t *testing.T) {
	for _, name := range lb.Names() {
		p := build(t, name, 8, sim.NewRand(1, 1))
		allocs := testing.AllocsPerRun(1000, func() { _, _ = p.Pick(lb.PickInfo{HashKey: 7}) })
		assert.Zero(t, allocs, name)
	}
}
