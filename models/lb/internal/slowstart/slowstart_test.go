package slowstart_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/lbtest"
	"github.com/meshsim/meshsim/models/lb/internal/slowstart"
	"github.com/meshsim/meshsim/sim"
)

func at(d time.Duration) sim.Time { return sim.Time(d) }

func TestFactor(t *testing.T) {
	// Window 10s. Expected values by hand from
	// max(min, (max(ms,1)/10000)^(1/aggression)).
	const w = 10 * time.Second
	cases := []struct {
		name    string
		cfg     lb.Config
		elapsed time.Duration
		want    float64
	}{
		{"a1/at entry, min 10%", lb.Config{}, 0, 0.1},
		{"a1/500ms below min", lb.Config{}, 500 * time.Millisecond, 0.1},
		{"a1/1s reaches min", lb.Config{}, time.Second, 0.1},
		{"a1/2.5s", lb.Config{}, 2500 * time.Millisecond, 0.25},
		{"a1/5s", lb.Config{}, 5 * time.Second, 0.5},
		{"a1/9.999s", lb.Config{}, 9999 * time.Millisecond, 0.9999},
		{"a1/window end", lb.Config{}, w, 1},
		{"a1/after window", lb.Config{}, time.Hour, 1},
		{"a2/100ms at min", lb.Config{SlowStartAggression: 2}, 100 * time.Millisecond, 0.1},
		{"a2/25ms below min", lb.Config{SlowStartAggression: 2}, 25 * time.Millisecond, 0.1},
		{"a2/400ms", lb.Config{SlowStartAggression: 2}, 400 * time.Millisecond, 0.2},
		{"a2/2.5s", lb.Config{SlowStartAggression: 2}, 2500 * time.Millisecond, 0.5},
		{"a2/8.1s", lb.Config{SlowStartAggression: 2}, 8100 * time.Millisecond, 0.9},
		{"a0.5/5s", lb.Config{SlowStartAggression: 0.5}, 5 * time.Second, 0.25},
		{"min 0/at entry is 1ms", lb.Config{SlowStartMinWeightPercentSet: true}, 0, 0.0001},
		{"min 0/truncated to 1ms", lb.Config{SlowStartMinWeightPercentSet: true}, 1999999 * time.Nanosecond, 0.0001},
		{"min 0/2ms", lb.Config{SlowStartMinWeightPercentSet: true}, 2 * time.Millisecond, 0.0002},
		{"min 0/entry in the future", lb.Config{SlowStartMinWeightPercentSet: true}, -time.Second, 0.0001},
		{"min 50/2.5s", lb.Config{SlowStartMinWeightPercent: 50}, 2500 * time.Millisecond, 0.5},
		{"min 50/7.5s", lb.Config{SlowStartMinWeightPercent: 50}, 7500 * time.Millisecond, 0.75},
		{"min 100/always full", lb.Config{SlowStartMinWeightPercent: 100}, time.Millisecond, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SlowStartWindow = w
			r, err := slowstart.Parse("p", tc.cfg)
			require.NoError(t, err)
			since := at(time.Minute)
			got := r.Factor(since, since.Add(tc.elapsed))
			assert.InDelta(t, tc.want, got, 1e-12)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		cfg  lb.Config
		want string
	}{
		{lb.Config{SlowStartWindow: -time.Second}, "lb: invalid configuration: p: slow_start_window must be 0 (off) or at least 1ms, got -1s"},
		{lb.Config{SlowStartWindow: time.Microsecond}, "lb: invalid configuration: p: slow_start_window must be 0 (off) or at least 1ms, got 1µs"},
		{lb.Config{SlowStartAggression: -1}, "lb: invalid configuration: p: slow_start aggression must be a finite number > 0, got -1"},
		{lb.Config{SlowStartAggression: math.NaN()}, "lb: invalid configuration: p: slow_start aggression must be a finite number > 0, got NaN"},
		{lb.Config{SlowStartAggression: math.Inf(1)}, "lb: invalid configuration: p: slow_start aggression must be a finite number > 0, got +Inf"},
		{lb.Config{SlowStartMinWeightPercent: 101}, "lb: invalid configuration: p: slow_start min_weight_percent must be in [0, 100], got 101"},
		{lb.Config{SlowStartMinWeightPercent: -5}, "lb: invalid configuration: p: slow_start min_weight_percent must be in [0, 100], got -5"},
	}
	for _, tc := range cases {
		_, err := slowstart.Parse("p", tc.cfg)
		require.ErrorIs(t, err, lb.ErrConfig)
		assert.EqualError(t, err, tc.want)
	}
	r, err := slowstart.Parse("p", lb.Config{})
	require.NoError(t, err)
	assert.False(t, r.On(), "off by default")
	assert.Equal(t, 1.0, r.Factor(0, 0))
}

func TestHosts(t *testing.T) {
	ramp, err := slowstart.Parse("p", lb.Config{SlowStartWindow: time.Second})
	require.NoError(t, err)
	plain := lbtest.Weighted(3, 3)
	warm := []lb.Host{
		&lbtest.Host{W: 3},
		&lbtest.WarmHost{Host: lbtest.Host{W: 3}, Since: at(time.Second), Warming: true},
		&lbtest.WarmHost{Host: lbtest.Host{W: 3}, Warming: false},
	}
	assert.Nil(t, slowstart.NewHosts(ramp, plain), "no host implements lb.Warming")
	assert.Nil(t, slowstart.NewHosts(slowstart.Ramp{}, warm), "slow start off")
	var none *slowstart.Hosts
	assert.False(t, none.Any(0))
	assert.Equal(t, 3.0, none.Scale(0, 3, 0))

	h := slowstart.NewHosts(ramp, warm)
	require.NotNil(t, h)
	// Host 1 entered at 1s with a 1s window: in slow start for the weighted
	// path while elapsed <= 1000ms, scaled while elapsed < 1000ms.
	assert.True(t, h.Any(at(time.Second)))
	assert.True(t, h.Any(at(2*time.Second+999*time.Microsecond)), "1000ms after entry still counts (<=)")
	assert.False(t, h.Any(at(2*time.Second+time.Millisecond)))
	assert.Equal(t, 3.0, h.Scale(0, 3, at(time.Second)), "not warming")
	assert.Equal(t, 3.0, h.Scale(2, 3, at(time.Second)), "reports no slow start")
	assert.InDelta(t, 0.3, h.Scale(1, 3, at(time.Second)), 1e-15, "min weight at entry")
	assert.InDelta(t, 1.5, h.Scale(1, 3, at(1500*time.Millisecond)), 1e-15)
	assert.Equal(t, 3.0, h.Scale(1, 3, at(2*time.Second)), "window over: exact weight")
	allocs := testing.AllocsPerRun(100, func() { _ = h.Scale(1, 3, at(1500*time.Millisecond)) })
	assert.Zero(t, allocs)
}
