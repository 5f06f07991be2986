package locality_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/sim"
)

func TestRouterComposesPrioritiesAndZones(t *testing.T) {
	// P=0 has 8 hosts, 4 healthy (health 70), P=1 is healthy: 70% of the
	// requests go to P=0, where Envoy's example plan (keep 62.5%, then 2:1
	// to zones 1 and 2) applies, and 30% to P=1 in any zone. Over 200k
	// picks each share has a standard deviation of at most 0.0011; the
	// tolerance is 5 of them.
	levels := []locality.Level{{Hosts: 8, Healthy: 4}, {Hosts: 5, Healthy: 5}}
	zones := &locality.Zones{Local: 0, Callers: []int{4, 4, 2}, Upstream: []int{1, 2, 1}, UpstreamHosts: []int{2, 4, 2}}
	rt, err := locality.NewRouter(locality.Config{MinClusterSize: 4}, levels, zones)
	require.NoError(t, err)
	assert.Equal(t, []int{70, 30}, rt.Priorities().HealthyLoad)
	assert.Equal(t, locality.LocalityResidual, rt.Plan().Routing())

	want := map[string]float64{
		"P0/healthy/zone 0":   0.7 * 0.625,
		"P0/healthy/zone 1":   0.7 * 0.25,
		"P0/healthy/zone 2":   0.7 * 0.125,
		"P1/healthy/any zone": 0.3,
	}
	got := map[string]float64{}
	r := sim.NewRand(4, 4)
	const n = 200000
	for i := 0; i < n; i++ {
		src, err := rt.Choose(r)
		require.NoError(t, err)
		got[src.String()]++
	}
	require.Len(t, got, len(want), "%v", got)
	for k, w := range want {
		assert.InDelta(t, w, got[k]/n, 5*math.Sqrt(w*(1-w)/n), k)
	}
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = rt.Choose(r) }))
}

func TestRouterPanic(t *testing.T) {
	// One level, 2 of 10 healthy: in panic, every pick goes to all hosts
	// and zones are not considered.
	levels := []locality.Level{{Hosts: 10, Healthy: 2}}
	zones := &locality.Zones{Local: 0, Callers: []int{1, 1}, Upstream: []int{1, 1}, UpstreamHosts: []int{5, 5}}
	rt, err := locality.NewRouter(locality.Config{MinClusterSizeSet: true}, levels, zones)
	require.NoError(t, err)
	src, err := rt.Choose(sim.NewRand(1, 1))
	require.NoError(t, err)
	assert.Equal(t, locality.Source{Priority: 0, Avail: locality.All, Zone: locality.AnyZone}, src)

	rt, err = locality.NewRouter(locality.Config{MinClusterSizeSet: true, FailTrafficOnPanic: true}, levels, zones)
	require.NoError(t, err)
	_, err = rt.Choose(sim.NewRand(1, 1))
	assert.ErrorIs(t, err, locality.ErrNoHost)

	// Without zones, a healthy single level is P0/healthy/any zone.
	rt, err = locality.NewRouter(locality.Config{}, []locality.Level{{Hosts: 3, Healthy: 3}}, nil)
	require.NoError(t, err)
	src, err = rt.Choose(sim.NewRand(1, 1))
	require.NoError(t, err)
	assert.Equal(t, "P0/healthy/any zone", src.String())
}

func TestRouterValidation(t *testing.T) {
	_, err := locality.NewRouter(locality.Config{}, []locality.Level{{Hosts: 9, Healthy: 8}},
		&locality.Zones{Callers: []int{1, 1}, Upstream: []int{4, 5}})
	require.ErrorIs(t, err, locality.ErrConfig)
	assert.EqualError(t, err, "locality: invalid configuration: zones: 9 healthy upstream hosts by zone, but priority 0 has 8")
}
