package leastrequest_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/leastrequest"
	"github.com/meshsim/meshsim/sim"
)

type host struct {
	active int
	weight uint32
}

func (h *host) ActiveRequests() int { return h.active }
func (h *host) Weight() uint32      { return h.weight }

// hosts returns hosts of weight 1 with the given active request counts.
func hosts(active ...int) []lb.Host {
	hs := make([]lb.Host, len(active))
	for i, a := range active {
		hs[i] = &host{active: a, weight: 1}
	}
	return hs
}

// weighted returns idle hosts with the given weights.
func weighted(ws ...uint32) []lb.Host {
	hs := make([]lb.Host, len(ws))
	for i, w := range ws {
		hs[i] = &host{weight: w}
	}
	return hs
}

func build(t testing.TB, hs []lb.Host, cfg lb.Config, rnd *sim.Rand) lb.Picker {
	t.Helper()
	b, ok := lb.Get(leastrequest.Name)
	require.True(t, ok)
	p, err := b.Build(lb.BuildOptions{Hosts: hs, Rand: rnd, Config: cfg})
	require.NoError(t, err)
	return p
}

func count(t testing.TB, p lb.Picker, n, picks int) []int {
	t.Helper()
	c := make([]int, n)
	for i := 0; i < picks; i++ {
		h, err := p.Pick(lb.PickInfo{})
		require.NoError(t, err)
		c[h]++
	}
	return c
}

// binomialTol is 5 standard deviations of a Binomial(n, p) count.
func binomialTol(n int, p float64) float64 { return 5 * math.Sqrt(float64(n)*p*(1-p)) }

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  lb.Config
		err  string
	}{
		{"defaults", lb.Config{}, ""},
		{"choice count 5", lb.Config{ChoiceCount: 5}, ""},
		{"full scan", lb.Config{FullScan: true}, ""},
		{"explicit zero bias", lb.Config{ActiveRequestBiasSet: true}, ""},
		{"bias 0.5", lb.Config{ActiveRequestBias: 0.5, ActiveRequestBiasSet: true}, ""},
		{"choice count 1", lb.Config{ChoiceCount: 1},
			"lb: invalid configuration: least_request: choice_count must be >= 2, got 1"},
		{"negative choice count", lb.Config{ChoiceCount: -3},
			"lb: invalid configuration: least_request: choice_count must be >= 2, got -3"},
		{"huge choice count", lb.Config{ChoiceCount: 1 << 40},
			"lb: invalid configuration: least_request: choice_count must be <= 4294967295, got 1099511627776"},
		{"negative bias", lb.Config{ActiveRequestBias: -1, ActiveRequestBiasSet: true},
			"lb: invalid configuration: least_request: active_request_bias must be a finite number >= 0, got -1"},
		{"NaN bias", lb.Config{ActiveRequestBias: math.NaN()},
			"lb: invalid configuration: least_request: active_request_bias must be a finite number >= 0, got NaN"},
		{"infinite bias", lb.Config{ActiveRequestBias: math.Inf(1)},
			"lb: invalid configuration: least_request: active_request_bias must be a finite number >= 0, got +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lb.Validate(leastrequest.Name, tt.cfg)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, lb.ErrConfig)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestZeroWeightIsAnError(t *testing.T) {
	b, _ := lb.Get(leastrequest.Name)
	_, err := b.Build(lb.BuildOptions{Hosts: weighted(2, 0), Rand: sim.NewRand(1, 1)})
	assert.EqualError(t, err, "lb: invalid configuration: least_request: host 1 has weight 0, must be >= 1")
}

func TestNoHosts(t *testing.T) {
	for _, cfg := range []lb.Config{{}, {FullScan: true}} {
		_, err := build(t, nil, cfg, sim.NewRand(1, 1)).Pick(lb.PickInfo{})
		assert.ErrorIs(t, err, lb.ErrNoHost)
	}
}

func TestTwoHostsLoadedOneReturnedQuarterOfTheTime(t *testing.T) {
	// least_request.proto: with 2 hosts and N_CHOICES defaults, "will
	// return the host with more active requests 25% of the time": both
	// draws, made with replacement, hit the loaded host.
	const picks = 100000
	for _, loaded := range []int{0, 1} {
		active := []int{0, 0}
		active[loaded] = 3
		c := count(t, build(t, hosts(active...), lb.Config{}, sim.NewRand(5, uint64(loaded))), 2, picks)
		assert.InDelta(t, 0.25*picks, c[loaded], binomialTol(picks, 0.25), "loaded host %d", loaded)
	}
}

func TestNChoicesPrefersLessLoaded(t *testing.T) {
	// With d draws with replacement over n hosts of distinct load, the host
	// of load rank r (0 = least loaded) wins when every draw lands on rank
	// >= r and one on r: P = ((n-r)^d - (n-r-1)^d) / n^d.
	const picks = 200000
	for _, d := range []int{2, 3, 5} {
		active := []int{4, 0, 3, 1, 2} // host i has rank active[i]
		c := count(t, build(t, hosts(active...), lb.Config{ChoiceCount: d}, sim.NewRand(11, uint64(d))), 5, picks)
		for i, r := range active {
			p := (math.Pow(float64(5-r), float64(d)) - math.Pow(float64(4-r), float64(d))) / math.Pow(5, float64(d))
			assert.InDelta(t, p*picks, c[i], binomialTol(picks, p)+1, "d=%d host %d (rank %d)", d, i, r)
		}
	}
}

func TestNChoicesTiesKeepFirstSample(t *testing.T) {
	// All hosts equally loaded: the first draw always wins, so picks are
	// uniform, and with one host every pick is that host.
	const picks = 100000
	c := count(t, build(t, hosts(2, 2, 2, 2), lb.Config{}, sim.NewRand(3, 1)), 4, picks)
	for i := range c {
		assert.InDelta(t, picks/4, c[i], binomialTol(picks, 0.25), "host %d", i)
	}
	assert.Equal(t, []int{50}, count(t, build(t, hosts(7), lb.Config{}, sim.NewRand(3, 2)), 1, 50))
}

func TestFullScan(t *testing.T) {
	t.Run("unique minimum", func(t *testing.T) {
		c := count(t, build(t, hosts(3, 1, 0, 2), lb.Config{FullScan: true}, sim.NewRand(1, 1)), 4, 1000)
		assert.Equal(t, []int{0, 0, 1000, 0}, c)
	})
	t.Run("ties uniform by reservoir sampling", func(t *testing.T) {
		const picks = 90000
		c := count(t, build(t, hosts(1, 5, 1, 1), lb.Config{FullScan: true}, sim.NewRand(1, 2)), 4, picks)
		assert.Zero(t, c[1])
		for _, i := range []int{0, 2, 3} {
			assert.InDelta(t, picks/3, c[i], binomialTol(picks, 1.0/3), "host %d", i)
		}
	})
}

func TestWeightedFollowsWeightsWhenIdle(t *testing.T) {
	// Weights differ: EDF over weight/(0+1), i.e. weighted round robin.
	c := count(t, build(t, weighted(1, 2, 3, 4), lb.Config{}, sim.NewRand(2, 2)), 4, 10000)
	for i, w := range []int{1, 2, 3, 4} {
		assert.InDelta(t, 1000*w, c[i], 1, "host %d", i)
	}
}

func TestWeightedScalesByActiveRequests(t *testing.T) {
	// Effective weight = weight/(active+1)^bias, constant here since the
	// test holds active counts fixed.
	tests := []struct {
		name    string
		cfg     lb.Config
		weights []uint32
		active  []int
		share   []float64
	}{
		// 4/(3+1) = 1 vs 1/1 = 1: equal split despite weight 4:1.
		{"bias 1", lb.Config{}, []uint32{4, 1}, []int{3, 0}, []float64{0.5, 0.5}},
		// 2/(1+1) = 1 vs 1/(0+1) = 1 vs 3/(2+1) = 1.
		{"bias 1, three hosts", lb.Config{}, []uint32{2, 1, 3}, []int{1, 0, 2}, []float64{1. / 3, 1. / 3, 1. / 3}},
		// 8/(1+1)^2 = 2 vs 1: 2:1.
		{"bias 2", lb.Config{ActiveRequestBias: 2, ActiveRequestBiasSet: true}, []uint32{8, 1}, []int{1, 0}, []float64{2. / 3, 1. / 3}},
		// Explicit 0: plain weighted round robin, load ignored.
		{"bias 0", lb.Config{ActiveRequestBiasSet: true}, []uint32{1, 3}, []int{0, 100}, []float64{0.25, 0.75}},
		// 9/(3+1)^0.5 = 4.5 vs 3/(0+1)^0.5 = 3: 3:2.
		{"bias 0.5", lb.Config{ActiveRequestBias: 0.5, ActiveRequestBiasSet: true}, []uint32{9, 3}, []int{3, 0}, []float64{0.6, 0.4}},
	}
	const picks = 12000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := make([]lb.Host, len(tt.weights))
			for i := range hs {
				hs[i] = &host{active: tt.active[i], weight: tt.weights[i]}
			}
			c := count(t, build(t, hs, tt.cfg, sim.NewRand(4, 4)), len(hs), picks)
			for i, s := range tt.share {
				assert.InDelta(t, s*picks, c[i], 2, "host %d", i)
			}
		})
	}
}

func TestWeightedRecomputesOnReAdd(t *testing.T) {
	// Envoy recomputes a host's weight when it re-adds it after a pick: a
	// host that becomes loaded is slowed down from its next pick on, and
	// recovers once its load drops, but is never fully drained.
	hs := []*host{{weight: 1}, {weight: 2}}
	p := build(t, []lb.Host{hs[0], hs[1]}, lb.Config{}, sim.NewRand(8, 8))
	c := count(t, p, 2, 3000)
	assert.InDelta(t, 1000, c[0], 2)
	hs[1].active = 19 // effective weight 2/20 = 0.1 vs 1
	c = count(t, p, 2, 1100)
	assert.InDelta(t, 1000, c[0], 3)
	assert.InDelta(t, 100, c[1], 3)
	assert.Positive(t, c[1], "a loaded host is never fully drained")
	hs[1].active = 0
	c = count(t, p, 2, 3000)
	assert.InDelta(t, 1000, c[0], 3)
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		hs  func() []lb.Host
		cfg lb.Config
	}{
		{func() []lb.Host { return hosts(0, 1, 0, 2, 1) }, lb.Config{}},
		{func() []lb.Host { return hosts(0, 1, 0, 2, 1) }, lb.Config{FullScan: true}},
		{func() []lb.Host { return weighted(1, 2, 3) }, lb.Config{}},
	} {
		a := build(t, tc.hs(), tc.cfg, sim.NewRand(6, 6))
		b := build(t, tc.hs(), tc.cfg, sim.NewRand(6, 6))
		for i := 0; i < 1000; i++ {
			x, _ := a.Pick(lb.PickInfo{})
			y, _ := b.Pick(lb.PickInfo{})
			require.Equal(t, x, y, "pick %d", i)
		}
	}
}

func TestPickAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		hs   []lb.Host
		cfg  lb.Config
	}{
		{"n choices", hosts(0, 1, 2, 3, 4, 5, 6, 7), lb.Config{ChoiceCount: 3}},
		{"full scan", hosts(0, 1, 0, 3, 0, 5, 0, 7), lb.Config{FullScan: true}},
		{"weighted", weighted(1, 2, 3, 4, 5, 6, 7, 8), lb.Config{}},
		{"weighted bias 0.5", weighted(1, 2, 3, 4), lb.Config{ActiveRequestBias: 0.5}},
	} {
		p := build(t, tc.hs, tc.cfg, sim.NewRand(1, 1))
		allocs := testing.AllocsPerRun(1000, func() { _, _ = p.Pick(lb.PickInfo{}) })
		assert.Zero(t, allocs, tc.name)
	}
}
