package locality_test

import (
	"math"
	"math/rand"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/sim"
)

func TestPlanTable(t *testing.T) {
	// Expected values computed by hand from zone_aware.rst and the
	// comments of Envoy's regenerateLocalityRoutingStructures, in 1/10000:
	// L_i = 10000*callers_i/sum, U_i = 10000*upstream_i/sum, floored.
	cases := []struct {
		name     string
		cfg      locality.Config
		zones    locality.Zones
		routing  locality.Routing
		reason   locality.Reason
		keep     int   // LocalPercentToRoute
		residual []int // Residual per zone
	}{
		{
			// Envoy's own example (its comment writes the percentages
			// with a stray 0): local 4000/4000/2000, upstream
			// 2500/5000/2500. The local zone has 25% of the upstream for
			// 40% of the callers: it keeps 2500*10000/4000 = 6250 and sends
			// the rest to zone 1 (residual 1000) and zone 2 (500), 2:1.
			name:     "residual, Envoy's example",
			zones:    locality.Zones{Local: 0, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}},
			routing:  locality.LocalityResidual,
			keep:     6250,
			residual: []int{0, 1000, 500},
		},
		{
			// The same clusters seen from zone 1: U=5000 >= L=4000.
			name:     "direct, upstream share above caller share",
			zones:    locality.Zones{Local: 1, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}},
			routing:  locality.LocalityDirect,
			keep:     10000,
			residual: []int{0, 0, 0},
		},
		{
			name:     "direct, equal shares",
			zones:    locality.Zones{Local: 2, Callers: []int{2, 2, 2}, Upstream: []int{3, 3, 3}},
			routing:  locality.LocalityDirect,
			keep:     10000,
			residual: []int{0, 0, 0},
		},
		{
			// L = 3333/6666, U = 1666/8333: keep floor(16660000/3333) =
			// 4998, residual of zone 1 = 8333-6666 = 1667.
			name:     "residual with rounding",
			zones:    locality.Zones{Local: 0, Callers: []int{1, 2}, Upstream: []int{1, 5}},
			routing:  locality.LocalityResidual,
			keep:     4998,
			residual: []int{0, 1667},
		},
		{
			// Zone 2 takes more callers than it has upstream: no residual.
			// L = 5000/1000/4000, U = 2000/5000/3000: keep 4000, residual
			// 0, 4000, 0 (zone 2's U-L is negative).
			name:     "residual, a zone without spare capacity",
			zones:    locality.Zones{Local: 0, Callers: []int{5, 1, 4}, Upstream: []int{2, 5, 3}},
			routing:  locality.LocalityResidual,
			keep:     4000,
			residual: []int{0, 4000, 0},
		},
		{
			name:    "off: one zone",
			zones:   locality.Zones{Local: 0, Callers: []int{3}, Upstream: []int{9}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonFewZones,
		},
		{
			name:    "off: upstream in one zone of two",
			zones:   locality.Zones{Local: 0, Callers: []int{3, 3}, Upstream: []int{9, 0}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonFewZones,
		},
		{
			name: "off: no healthy upstream host in the local zone",
			zones: locality.Zones{Local: 0, Callers: []int{3, 3, 3}, Upstream: []int{0, 6, 3},
				UpstreamHosts: []int{2, 6, 3}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonNoUpstreamInLocalZone,
		},
		{
			name:    "off: no caller in the local zone",
			zones:   locality.Zones{Local: 0, Callers: []int{0, 3, 3}, Upstream: []int{3, 3, 3}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonNoCallerInLocalZone,
		},
		{
			name:    "off: different zone counts",
			zones:   locality.Zones{Local: 0, Callers: []int{3, 3, 0}, Upstream: []int{3, 3, 3}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonZoneCountDiffers,
		},
		{
			name:    "off: upstream below min_cluster_size",
			zones:   locality.Zones{Local: 0, Callers: []int{3, 3}, Upstream: []int{3, 2}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonClusterTooSmall,
		},
		{
			name:    "on: min_cluster_size 5",
			cfg:     locality.Config{MinClusterSize: 5},
			zones:   locality.Zones{Local: 0, Callers: []int{3, 3}, Upstream: []int{3, 2}},
			routing: locality.LocalityDirect, keep: 10000, residual: []int{0, 0},
		},
		{
			name:    "on: min_cluster_size 0",
			cfg:     locality.Config{MinClusterSizeSet: true},
			zones:   locality.Zones{Local: 1, Callers: []int{1, 1}, Upstream: []int{1, 1}},
			routing: locality.LocalityDirect, keep: 10000, residual: []int{0, 0},
		},
		{
			// 2 of 6 callers healthy (33%) is under the 50% threshold.
			name: "off: local cluster in panic",
			zones: locality.Zones{Local: 0, Callers: []int{1, 1, 0}, CallerHosts: []int{2, 2, 2},
				Upstream: []int{3, 3, 3}},
			routing: locality.NoLocalityRouting, reason: locality.ReasonLocalPanic,
		},
		{
			// Panic disabled: zone 0 has 1 of 2 healthy callers (5000)
			// and 3333 of the upstream, keeps 6666 and sends the rest to
			// zone 2, the only one with residual (3333 vs 0 callers).
			name: "on: local cluster unhealthy but panic disabled",
			cfg:  locality.Config{PanicThresholdSet: true},
			zones: locality.Zones{Local: 0, Callers: []int{1, 1, 0}, CallerHosts: []int{2, 2, 2},
				Upstream: []int{3, 3, 3}},
			routing: locality.LocalityResidual, keep: 6666, residual: []int{0, 0, 3333},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := locality.NewPlan(tc.cfg, tc.zones)
			require.NoError(t, err)
			assert.Equal(t, tc.routing, p.Routing(), "routing")
			assert.Equal(t, tc.reason, p.Reason(), "reason: %v", p.Reason())
			assert.Equal(t, tc.keep, p.LocalPercentToRoute(), "local percent to route")
			for i, want := range tc.residual {
				assert.Equal(t, want, p.Residual(i), "residual of zone %d", i)
			}
			if tc.routing == locality.NoLocalityRouting {
				r := sim.NewRand(1, 1)
				assert.Equal(t, locality.AnyZone, p.Choose(r))
				assert.Equal(t, sim.NewRand(1, 1).Uint64(), r.Uint64(), "an off plan draws nothing")
			}
		})
	}
}

func TestPlanValidation(t *testing.T) {
	cases := []struct {
		zones locality.Zones
		want  string
	}{
		{locality.Zones{}, "locality: invalid configuration: zones: no zones"},
		{locality.Zones{Callers: []int{1}, Upstream: []int{1, 2}},
			"locality: invalid configuration: zones: Callers, CallerHosts, Upstream and UpstreamHosts need one count per zone, got lengths 1, 1, 2, 2"},
		{locality.Zones{Local: 2, Callers: []int{1, 1}, Upstream: []int{1, 2}},
			"locality: invalid configuration: zones: local zone 2 out of range [0, 2)"},
		{locality.Zones{Callers: []int{1, 1}, Upstream: []int{1, 2}, UpstreamHosts: []int{1, 1}},
			"locality: invalid configuration: zones: zone 1: need 0 <= healthy <= hosts, got callers 1 of 1, upstream 2 of 1"},
	}
	for _, tc := range cases {
		_, err := locality.NewPlan(locality.Config{}, tc.zones)
		require.ErrorIs(t, err, locality.ErrConfig)
		assert.EqualError(t, err, tc.want)
	}
}

// realised draws n zones from p and returns each zone's share.
func realised(p *locality.Plan, zones, n int, r *sim.Rand) []float64 {
	c := make([]float64, zones)
	for i := 0; i < n; i++ {
		c[p.Choose(r)]++
	}
	for i := range c {
		c[i] /= float64(n)
	}
	return c
}

func TestPlanRealisedShares(t *testing.T) {
	// Envoy's example: 62.5% stays in zone 0, 25% goes to zone 1 and 12.5%
	// to zone 2. Over n = 200k picks with a fixed seed, each realised share
	// is a binomial proportion with standard deviation sqrt(p(1-p)/n), at
	// most 0.0011 here; the tolerance is 5 of them per zone, so a correct
	// plan fails for fewer than 1 seed in a million, while an error of one
	// percentage point in any share fails always.
	p, err := locality.NewPlan(locality.Config{}, locality.Zones{Local: 0, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}})
	require.NoError(t, err)
	want := []float64{0.625, 0.25, 0.125}
	for i, w := range want {
		assert.InDelta(t, w, p.Share(i), 1e-12, "plan share of zone %d", i)
	}
	const n = 200000
	got := realised(p, 3, n, sim.NewRand(11, 3))
	for i, w := range want {
		sd := math.Sqrt(w * (1 - w) / n)
		assert.InDelta(t, w, got[i], 5*sd, "zone %d", i)
	}
}

func TestPlanRoutingEnabled(t *testing.T) {
	zones := locality.Zones{Local: 0, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}}
	for _, tc := range []struct {
		cfg  locality.Config
		want float64 // share of AnyZone
	}{
		{locality.Config{}, 0},
		{locality.Config{RoutingEnabledPercent: 100}, 0},
		{locality.Config{RoutingEnabledPercent: 30}, 0.7},
		{locality.Config{RoutingEnabledSet: true}, 1},
	} {
		p, err := locality.NewPlan(tc.cfg, zones)
		require.NoError(t, err)
		r := sim.NewRand(2, 2)
		anyZone := 0
		const n = 100000
		for i := 0; i < n; i++ {
			if p.Choose(r) == locality.AnyZone {
				anyZone++
			}
		}
		// sd <= 0.0016; tolerance 5 sd.
		assert.InDelta(t, tc.want, float64(anyZone)/n, 0.008, "%+v", tc.cfg)
	}
	// Direct with routing always on draws nothing.
	p, err := locality.NewPlan(locality.Config{}, locality.Zones{Local: 1, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}})
	require.NoError(t, err)
	r := sim.NewRand(1, 1)
	assert.Equal(t, 1, p.Choose(r))
	assert.Equal(t, sim.NewRand(1, 1).Uint64(), r.Uint64())
}

func TestPlanLocalPanicFailsTraffic(t *testing.T) {
	zones := locality.Zones{Local: 0, Callers: []int{1, 0}, CallerHosts: []int{3, 3}, Upstream: []int{3, 3}}
	p, err := locality.NewPlan(locality.Config{FailTrafficOnPanic: true}, zones)
	require.NoError(t, err)
	assert.Equal(t, locality.ReasonLocalPanic, p.Reason())
	assert.Equal(t, locality.NoZone, p.Choose(sim.NewRand(1, 1)))
}

// TestQuickPlansBalanceUpstream is the property zone_aware.rst promises:
// when the proxies of every caller zone follow their own plans, each
// upstream zone gets its share of the upstream's healthy hosts, so hosts
// see the same request rate wherever they are. Shares are floored to
// 1/10000 in two steps per zone, so the balance holds to within 2e-4 per
// zone (plus float error).
func TestQuickPlansBalanceUpstream(t *testing.T) {
	prop := func(rawCallers, rawUpstream []uint8) bool {
		n := min(len(rawCallers), len(rawUpstream), 8)
		if n < 2 {
			return true
		}
		callers, upstream := make([]int, n), make([]int, n)
		totalC, totalU := 0, 0
		for i := 0; i < n; i++ {
			callers[i] = 1 + int(rawCallers[i])%20
			upstream[i] = 1 + int(rawUpstream[i])%20
			totalC += callers[i]
			totalU += upstream[i]
		}
		load := make([]float64, n)
		for z := 0; z < n; z++ {
			p, err := locality.NewPlan(locality.Config{MinClusterSizeSet: true}, locality.Zones{Local: z, Callers: callers, Upstream: upstream})
			if err != nil || p.Routing() == locality.NoLocalityRouting {
				t.Logf("callers %v upstream %v zone %d: %v %v", callers, upstream, z, err, p.Reason())
				return false
			}
			for i := 0; i < n; i++ {
				load[i] += float64(callers[z]) / float64(totalC) * p.Share(i)
			}
		}
		for i := 0; i < n; i++ {
			if d := load[i] - float64(upstream[i])/float64(totalU); math.Abs(d) > 2e-4*float64(n) {
				t.Logf("callers %v upstream %v: zone %d gets %.5f, want %.5f", callers, upstream, i, load[i], float64(upstream[i])/float64(totalU))
				return false
			}
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(3))}
	require.NoError(t, quick.Check(prop, cfg))
}

func TestPlanChooseAllocatesNothing(t *testing.T) {
	p, err := locality.NewPlan(locality.Config{RoutingEnabledPercent: 90}, locality.Zones{Local: 0, Callers: []int{4, 4, 2}, Upstream: []int{2, 4, 2}})
	require.NoError(t, err)
	r := sim.NewRand(1, 1)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { p.Choose(r) }))
}
