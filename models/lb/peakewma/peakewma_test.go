package peakewma_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/peakewma"
	"github.com/meshsim/meshsim/sim"
)

type host struct{ active int }

func (h *host) ActiveRequests() int { return h.active }
func (h *host) Weight() uint32      { return 1 }

func hosts(n int) ([]*host, []lb.Host) {
	hs := make([]*host, n)
	out := make([]lb.Host, n)
	for i := range hs {
		hs[i] = &host{}
		out[i] = hs[i]
	}
	return hs, out
}

func build(t testing.TB, hs []lb.Host, cfg lb.Config, rnd *sim.Rand) lb.Picker {
	t.Helper()
	b, ok := lb.Get(peakewma.Name)
	require.True(t, ok)
	p, err := b.Build(lb.BuildOptions{Hosts: hs, Rand: rnd, Config: cfg})
	require.NoError(t, err)
	return p
}

func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

const ms = float64(time.Millisecond)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  lb.Config
		err  string
	}{
		{"defaults", lb.Config{}, ""},
		{"explicit", lb.Config{Decay: time.Second, DefaultRTT: 5 * time.Millisecond}, ""},
		{"negative decay", lb.Config{Decay: -time.Second},
			"lb: invalid configuration: peak_ewma: decay must be > 0, got -1s"},
		{"negative default rtt", lb.Config{DefaultRTT: -time.Millisecond},
			"lb: invalid configuration: peak_ewma: default_rtt must be > 0, got -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lb.Validate(peakewma.Name, tt.cfg)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, lb.ErrConfig)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestDefaultRTT(t *testing.T) {
	tests := []struct {
		cfg  time.Duration
		want float64
	}{
		{0, 30 * ms},                     // Linkerd default
		{5 * time.Millisecond, 5 * ms},   // as configured
		{200 * time.Microsecond, 1 * ms}, // Linkerd's 1 ms floor
		{time.Nanosecond, 1 * ms},        // floor
		{2 * time.Second, 2000 * ms},     // no ceiling
	}
	for _, tt := range tests {
		_, hs := hosts(2)
		p := build(t, hs, lb.Config{DefaultRTT: tt.cfg}, sim.NewRand(1, 1))
		assert.Equal(t, tt.want, peakewma.Cost(p, 0, 0), "default_rtt %v", tt.cfg)
	}
}

func TestNoHostsAndOneHost(t *testing.T) {
	_, err := build(t, nil, lb.Config{}, sim.NewRand(1, 1)).Pick(lb.PickInfo{})
	assert.ErrorIs(t, err, lb.ErrNoHost)
	_, hs := hosts(1)
	p := build(t, hs, lb.Config{}, sim.NewRand(1, 1))
	for i := 0; i < 10; i++ {
		h, err := p.Pick(lb.PickInfo{Now: at(time.Duration(i) * time.Second)})
		require.NoError(t, err)
		assert.Equal(t, 0, h)
	}
}

func TestPeakThenDecayingAverage(t *testing.T) {
	_, hs := hosts(2)
	p := build(t, hs, lb.Config{Decay: 10 * time.Second}, sim.NewRand(1, 1)).(lb.Observer)
	pk := p.(lb.Picker)
	// A sample above the estimate (30 ms default) replaces it.
	p.Observe(0, 100*time.Millisecond, at(0))
	assert.Equal(t, 100*ms, peakewma.EstimateNanos(pk, 0))
	// A lower sample one decay period later: w = e^-1.
	p.Observe(0, 10*time.Millisecond, at(10*time.Second))
	w := math.Exp(-1)
	assert.InDelta(t, 100*ms*w+10*ms*(1-w), peakewma.EstimateNanos(pk, 0), 1e-6)
	// A lower sample at the same instant changes nothing (w = 1).
	before := peakewma.EstimateNanos(pk, 0)
	p.Observe(0, time.Millisecond, at(10*time.Second))
	assert.Equal(t, before, peakewma.EstimateNanos(pk, 0))
	// The other host is untouched.
	assert.Equal(t, 30*ms, peakewma.EstimateNanos(pk, 1))
}

func TestTowerDefaultDecay(t *testing.T) {
	// tower peak_ewma.rs default_decay: default 10 ms, decay 1 s; reading
	// the load decays the default estimate toward 0.
	_, hs := hosts(2)
	p := build(t, hs, lb.Config{Decay: time.Second, DefaultRTT: 10 * time.Millisecond}, sim.NewRand(1, 1))
	assert.Equal(t, 10*ms, peakewma.Cost(p, 0, at(0)))
	c := peakewma.Cost(p, 0, at(100*time.Millisecond))
	assert.True(t, 9*ms < c && c < 10*ms, "%v", c)
	c = peakewma.Cost(p, 0, at(200*time.Millisecond))
	assert.True(t, 8*ms < c && c < 9*ms, "%v", c)
}

func TestTowerCompoundDecay(t *testing.T) {
	// tower peak_ewma.rs compound_decay, with ActiveRequests standing in
	// for tower's pending handles: default 20 ms, decay 1 s.
	hh, hs := hosts(2)
	pk := build(t, hs, lb.Config{Decay: time.Second, DefaultRTT: 20 * time.Millisecond}, sim.NewRand(1, 1))
	p := pk.(lb.Observer)
	assert.Equal(t, 20*ms, peakewma.Cost(pk, 0, at(0)))

	hh[0].active = 1 // request 0 sent at 100 ms
	assert.Greater(t, peakewma.Cost(pk, 0, at(100*time.Millisecond)), 20*ms)

	hh[0].active = 2 // request 1 sent at 200 ms
	assert.Greater(t, peakewma.Cost(pk, 0, at(200*time.Millisecond)), 40*ms)

	hh[0].active = 1 // request 0 answered at 300 ms: rtt 200 ms is a new peak
	p.Observe(0, 200*time.Millisecond, at(300*time.Millisecond))
	assert.Equal(t, 400*ms, peakewma.Cost(pk, 0, at(300*time.Millisecond)))

	hh[0].active = 0 // request 1 answered at 400 ms: rtt 200 ms
	p.Observe(0, 200*time.Millisecond, at(400*time.Millisecond))
	assert.InDelta(t, 200*ms, peakewma.Cost(pk, 0, at(400*time.Millisecond)), 1e-6)

	assert.Less(t, peakewma.Cost(pk, 0, at(1400*time.Millisecond)), 100*ms)
	assert.Less(t, peakewma.Cost(pk, 0, at(11400*time.Millisecond)), 0.1*ms)
}

func TestDistinctPairAvoidsTheLoadedHost(t *testing.T) {
	// Unlike Envoy's P2C with replacement (25% to the loaded host of two),
	// Linkerd draws two distinct hosts, so with two hosts the costlier one
	// is never picked.
	hh, hs := hosts(2)
	hh[0].active = 3
	p := build(t, hs, lb.Config{}, sim.NewRand(2, 2))
	for i := 0; i < 1000; i++ {
		h, err := p.Pick(lb.PickInfo{Now: at(time.Duration(i) * time.Millisecond)})
		require.NoError(t, err)
		require.Equal(t, 1, h)
	}
}

func TestTiesAreUniform(t *testing.T) {
	// Equal costs: a (the first drawn) wins, and a is uniform.
	const picks = 60000
	_, hs := hosts(3)
	p := build(t, hs, lb.Config{}, sim.NewRand(3, 3))
	c := make([]int, 3)
	for i := 0; i < picks; i++ {
		h, _ := p.Pick(lb.PickInfo{}) // Now stays 0: estimates never decay
		c[h]++
	}
	for i := range c {
		assert.InDelta(t, picks/3, c[i], 5*math.Sqrt(picks*2./9), "host %d", i)
	}
}

// simulate sends picks one per step, each answered at once with the host's
// RTT, and returns the picks per host.
func simulate(t *testing.T, p lb.Picker, rtt []time.Duration, picks int, step time.Duration) []int {
	t.Helper()
	obs := p.(lb.Observer)
	c := make([]int, len(rtt))
	for i := 0; i < picks; i++ {
		now := at(time.Duration(i) * step)
		h, err := p.Pick(lb.PickInfo{Now: now})
		require.NoError(t, err)
		c[h]++
		obs.Observe(h, rtt[h], now)
	}
	return c
}

func TestMovesTrafficAwayFromSlowHost(t *testing.T) {
	// Host 0 answers in 100 ms, the others in 10 ms. Once host 0 has shown
	// its peak, it loses every comparison until its unrefreshed estimate has
	// decayed below the others' (about Decay*ln(10) = 23 s), then gets one
	// request, which restores the peak.
	rtt := []time.Duration{100 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	_, hs := hosts(5)
	c := simulate(t, build(t, hs, lb.Config{}, sim.NewRand(4, 4)), rtt, 100000, time.Millisecond) // 100 s
	t.Logf("picks per host: %v", c)
	assert.Less(t, c[0], 100, "slow host gets well under 0.1%%: %v", c)
	assert.GreaterOrEqual(t, c[0], 2, "the slow host is retried after its estimate decays: %v", c)
	for i := 1; i < 5; i++ {
		assert.InDelta(t, 25000, c[i], 1500, "fast host %d: %v", i, c)
	}
}

func TestDeterministic(t *testing.T) {
	rtt := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	_, hs1 := hosts(3)
	_, hs2 := hosts(3)
	a := build(t, hs1, lb.Config{}, sim.NewRand(9, 1))
	b := build(t, hs2, lb.Config{}, sim.NewRand(9, 1))
	for i := 0; i < 2000; i++ {
		now := at(time.Duration(i) * 3 * time.Millisecond)
		x, _ := a.Pick(lb.PickInfo{Now: now})
		y, _ := b.Pick(lb.PickInfo{Now: now})
		require.Equal(t, x, y, "pick %d", i)
		a.(lb.Observer).Observe(x, rtt[x], now)
		b.(lb.Observer).Observe(y, rtt[y], now)
	}
}

func TestObserveOutOfRangePanics(t *testing.T) {
	_, hs := hosts(2)
	p := build(t, hs, lb.Config{}, sim.NewRand(1, 1)).(lb.Observer)
	assert.Panics(t, func() { p.Observe(2, time.Millisecond, 0) })
	assert.Panics(t, func() { p.Observe(-1, time.Millisecond, 0) })
	assert.NotPanics(t, func() { p.Observe(1, -time.Millisecond, 0) })
}

func TestPickAndObserveAllocateNothing(t *testing.T) {
	_, hs := hosts(8)
	p := build(t, hs, lb.Config{}, sim.NewRand(1, 1))
	now := sim.Time(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		h, _ := p.Pick(lb.PickInfo{Now: now})
		p.(lb.Observer).Observe(h, 7*time.Millisecond, now)
	})
	assert.Zero(t, allocs)
}
