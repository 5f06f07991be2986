package locality_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/sim"
)

// pct returns levels of 100 hosts each with the given healthy percentages,
// so that "x% healthy" in Envoy's tables is exactly x healthy hosts.
func pct(healthy ...int) []locality.Level {
	ls := make([]locality.Level, len(healthy))
	for i, h := range healthy {
		ls[i] = locality.Level{Hosts: 100, Healthy: h}
	}
	return ls
}

var noPanic = locality.Config{PanicThresholdSet: true} // threshold 0

func TestPriorityTables(t *testing.T) {
	// The three tables of priority.rst (docs/root/intro/arch_overview/
	// upstream/load_balancing/priority.rst), with 100 hosts per level.
	// They describe the load split alone, so panic is disabled here; the
	// same rows with the default threshold are in TestPanicThresholdTables
	// and below.
	cases := []struct {
		healthy []int
		load    []int
	}{
		// Two levels, P=1 fully healthy.
		{[]int{100, 100}, []int{100, 0}},
		{[]int{72, 100}, []int{100, 0}},
		{[]int{71, 100}, []int{99, 1}},
		{[]int{50, 100}, []int{70, 30}},
		{[]int{25, 100}, []int{35, 65}},
		{[]int{0, 100}, []int{0, 100}},
		// Two levels, both degrading.
		{[]int{72, 72}, []int{100, 0}},
		{[]int{71, 71}, []int{99, 1}},
		{[]int{50, 50}, []int{70, 30}},
		{[]int{25, 25}, []int{50, 50}}, // health {35,35}, normalized 70
		// Three levels.
		{[]int{100, 100, 100}, []int{100, 0, 0}},
		{[]int{72, 72, 100}, []int{100, 0, 0}},
		{[]int{71, 71, 100}, []int{99, 1, 0}},
		{[]int{50, 50, 100}, []int{70, 30, 0}},
		{[]int{25, 100, 100}, []int{35, 65, 0}},
		{[]int{25, 25, 100}, []int{35, 35, 30}},
		// The docs give 36/36/28. Envoy's code gives 37/35/28: health
		// {35,35,28}, normalized 98, loads floor(3500/98)=35,
		// floor(3500/98)=35, floor(2800/98)=28, and the remainder of 2
		// goes to the first level with capacity. The code wins.
		{[]int{25, 25, 20}, []int{37, 35, 28}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.healthy), func(t *testing.T) {
			p, err := locality.NewPriorities(noPanic, pct(tc.healthy...))
			require.NoError(t, err)
			assert.Equal(t, tc.load, p.HealthyLoad)
			assert.Equal(t, make([]int, len(tc.healthy)), p.DegradedLoad)
			assert.Equal(t, make([]bool, len(tc.healthy)), p.Panic)
		})
	}
}

func TestPanicThresholdTables(t *testing.T) {
	// The two tables of panic_threshold.rst with the default threshold
	// (50%) and 100 hosts per level. Three cells of the second table
	// disagree with Envoy's code, which leaves out the overprovisioning
	// factor there; the code wins, and the docs' figures are noted.
	cases := []struct {
		healthy    []int
		load       []int
		panic      []bool
		normalized int
	}{
		{[]int{72, 100}, []int{100, 0}, []bool{false, false}, 100},
		{[]int{71, 100}, []int{99, 1}, []bool{false, false}, 100},
		{[]int{50, 100}, []int{70, 30}, []bool{false, false}, 100},
		{[]int{25, 100}, []int{35, 65}, []bool{false, false}, 100},
		{[]int{0, 100}, []int{0, 100}, []bool{false, false}, 100},

		{[]int{72, 72}, []int{100, 0}, []bool{false, false}, 100},
		{[]int{71, 71}, []int{99, 1}, []bool{false, false}, 100},
		{[]int{50, 60}, []int{70, 30}, []bool{false, false}, 100},  // docs: 50/50
		{[]int{25, 100}, []int{35, 65}, []bool{false, false}, 100}, // docs: 25/75
		// Both in panic: total panic, load by host count (equal here).
		{[]int{25, 25}, []int{50, 50}, []bool{true, true}, 70},
		// Health {7, 91}: loads floor(700/98)=7 and floor(9100/98)=92,
		// remainder 1 to P=0. Docs: 7/93.
		{[]int{5, 65}, []int{8, 92}, []bool{true, false}, 98},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.healthy), func(t *testing.T) {
			p, err := locality.NewPriorities(locality.Config{}, pct(tc.healthy...))
			require.NoError(t, err)
			assert.Equal(t, tc.load, p.HealthyLoad, "load")
			assert.Equal(t, tc.panic, p.Panic, "panic")
			assert.Equal(t, tc.normalized, p.NormalizedTotal, "normalized total")
		})
	}
}

func TestPriorityCornerCases(t *testing.T) {
	cases := []struct {
		name       string
		cfg        locality.Config
		levels     []locality.Level
		health     []int
		healthy    []int
		degraded   []int
		panic      []bool
		totalPanic bool
	}{
		{
			// The example in the comment of Envoy's
			// recalculatePerPriorityState: health 10/20/10 and degraded
			// 20/10/0 give 16/28/14 healthy and 28/14/0 degraded load,
			// "the first healthy priority receiving 2% additional load due
			// to rounding". 14 hosts per level: 140*1/14 = 10.
			name:     "degraded example from load_balancer_impl.cc",
			cfg:      noPanic,
			levels:   []locality.Level{{14, 1, 2}, {14, 2, 1}, {14, 1, 0}},
			health:   []int{10, 20, 10},
			healthy:  []int{16, 28, 14},
			degraded: []int{28, 14, 0},
			panic:    []bool{false, false, false},
		},
		{
			name:     "degraded hosts take what healthy ones cannot",
			levels:   []locality.Level{{10, 5, 5}},
			health:   []int{70},
			healthy:  []int{70},
			degraded: []int{30},
			panic:    []bool{false},
		},
		{
			// Health {14, 9}, normalized 23: both in panic, so load
			// follows host counts, 10:30.
			name:       "total panic splits by host count",
			levels:     []locality.Level{{10, 1, 0}, {30, 2, 0}},
			health:     []int{14, 9},
			healthy:    []int{25, 75},
			degraded:   []int{0, 0},
			panic:      []bool{true, true},
			totalPanic: true,
		},
		{
			name:       "all down with panic: all hosts of P=0 by count",
			levels:     []locality.Level{{3, 0, 0}, {0, 0, 0}},
			health:     []int{0, 0},
			healthy:    []int{100, 0},
			degraded:   []int{0, 0},
			panic:      []bool{true, true},
			totalPanic: true,
		},
		{
			name:       "no hosts at all",
			levels:     []locality.Level{{0, 0, 0}, {0, 0, 0}},
			health:     []int{0, 0},
			healthy:    []int{100, 0},
			degraded:   []int{0, 0},
			panic:      []bool{true, true},
			totalPanic: true,
		},
		{
			// panic_threshold.rst: with the threshold at 0 no level
			// panics; all load is nominally on P=0, which has no healthy
			// host ("503 no healthy upstream").
			name:     "all down, panic disabled",
			cfg:      noPanic,
			levels:   []locality.Level{{3, 0, 0}, {4, 0, 0}},
			health:   []int{0, 0},
			healthy:  []int{100, 0},
			degraded: []int{0, 0},
			panic:    []bool{false, false},
		},
		{
			// With a factor of 110, 90% healthy is only 110*9/10 = 99.
			name:     "overprovisioning factor 110",
			cfg:      locality.Config{OverprovisioningFactor: 110},
			levels:   []locality.Level{{10, 9, 0}, {10, 10, 0}},
			health:   []int{99, 100},
			healthy:  []int{99, 1},
			degraded: []int{0, 0},
			panic:    []bool{false, false},
		},
		{
			name:     "threshold 100 is ignored while capacity suffices",
			cfg:      locality.Config{PanicThresholdPercent: 100, OverprovisioningFactor: 100},
			levels:   []locality.Level{{10, 9, 0}, {10, 10, 0}},
			health:   []int{90, 100},
			healthy:  []int{90, 10},
			degraded: []int{0, 0},
			panic:    []bool{false, false}, // normalized total is 100: no panic
		},
		{
			name:     "threshold 100, capacity short",
			cfg:      locality.Config{PanicThresholdPercent: 100, OverprovisioningFactor: 100},
			levels:   []locality.Level{{10, 9, 0}},
			health:   []int{90},
			healthy:  []int{100},
			degraded: []int{0},
			panic:    []bool{true},
			// one level, in panic: total panic, all load to it
			totalPanic: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := locality.NewPriorities(tc.cfg, tc.levels)
			require.NoError(t, err)
			assert.Equal(t, tc.health, p.Health, "health")
			assert.Equal(t, tc.healthy, p.HealthyLoad, "healthy load")
			assert.Equal(t, tc.degraded, p.DegradedLoad, "degraded load")
			assert.Equal(t, tc.panic, p.Panic, "panic")
			assert.Equal(t, tc.totalPanic, p.TotalPanic, "total panic")
			sum := 0
			for i := range p.HealthyLoad {
				sum += p.HealthyLoad[i] + p.DegradedLoad[i]
			}
			assert.Equal(t, 100, sum, "loads sum to 100")
		})
	}
}

func TestPriorityValidation(t *testing.T) {
	cases := []struct {
		cfg    locality.Config
		levels []locality.Level
		want   string
	}{
		{locality.Config{}, nil, "locality: invalid configuration: no priority levels"},
		{locality.Config{}, []locality.Level{{2, 2, 1}}, "locality: invalid configuration: priority 0: need 0 <= healthy+degraded <= hosts, got hosts=2 healthy=2 degraded=1"},
		{locality.Config{}, []locality.Level{{2, 2, 0}, {1, -1, 0}}, "locality: invalid configuration: priority 1: need 0 <= healthy+degraded <= hosts, got hosts=1 healthy=-1 degraded=0"},
		{locality.Config{OverprovisioningFactor: -1}, pct(1), "locality: invalid configuration: overprovisioning_factor must be > 0, got -1"},
		{locality.Config{PanicThresholdPercent: 101}, pct(1), "locality: invalid configuration: healthy_panic_threshold must be in [0, 100] percent, got 101"},
		{locality.Config{MinClusterSize: -1}, pct(1), "locality: invalid configuration: min_cluster_size must be >= 0, got -1"},
		{locality.Config{RoutingEnabledPercent: 120}, pct(1), "locality: invalid configuration: routing_enabled must be in [0, 100] percent, got 120"},
	}
	for _, tc := range cases {
		_, err := locality.NewPriorities(tc.cfg, tc.levels)
		require.ErrorIs(t, err, locality.ErrConfig)
		assert.EqualError(t, err, tc.want)
	}
}

func TestPriorityChoose(t *testing.T) {
	// Envoy maps one draw to h = draw%100+1 in 1..100 and walks the
	// cumulative healthy loads, then the degraded ones. With loads
	// 16/28/14 healthy and 28/14/0 degraded, over 100k draws each source
	// gets its percentage; the binomial standard deviation is at most
	// 0.16 points, and the tolerance of 0.8 points is 5 of them.
	p, err := locality.NewPriorities(noPanic, []locality.Level{{14, 1, 2}, {14, 2, 1}, {14, 1, 0}})
	require.NoError(t, err)
	r := sim.NewRand(5, 5)
	const n = 100000
	var healthy, degraded [3]int
	for i := 0; i < n; i++ {
		level, avail := p.Choose(r)
		switch avail {
		case locality.Healthy:
			healthy[level]++
		case locality.Degraded:
			degraded[level]++
		default:
			t.Fatalf("unexpected %v", avail)
		}
	}
	for i := 0; i < 3; i++ {
		assert.InDelta(t, float64(p.HealthyLoad[i])/100, float64(healthy[i])/n, 0.008, "healthy P%d", i)
		assert.InDelta(t, float64(p.DegradedLoad[i])/100, float64(degraded[i])/n, 0.008, "degraded P%d", i)
	}

	// A level in panic is returned with All.
	p, err = locality.NewPriorities(locality.Config{}, pct(5, 65))
	require.NoError(t, err)
	var all, ok int
	for i := 0; i < 10000; i++ {
		level, avail := p.Choose(r)
		switch {
		case level == 0 && avail == locality.All:
			all++
		case level == 1 && avail == locality.Healthy:
			ok++
		default:
			t.Fatalf("P%d %v", level, avail)
		}
	}
	assert.InDelta(t, 800, all, 120)
	assert.Equal(t, 10000, all+ok)
	assert.Zero(t, testing.AllocsPerRun(100, func() { p.Choose(r) }))
}
