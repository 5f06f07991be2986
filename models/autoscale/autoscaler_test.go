package autoscale_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/autoscale"
	"github.com/meshsim/meshsim/sim"
)

const sec = time.Second

func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

// deployment is a scripted scale target: every pod is ready as soon as it
// is asked for (unless unready is set), and each ready pod uses util
// percent of its request, from a script indexed by sync number.
type deployment struct {
	spec    int
	util    []int64 // percent per sync; the last value repeats
	unready int
	n       int
	sets    []int
}

func (d *deployment) Observe() autoscale.Observation {
	u := d.util[min(d.n, len(d.util)-1)]
	d.n++
	ready := d.spec - d.unready
	return autoscale.Observation{Replicas: d.spec, Ready: ready, Unready: d.unready, Usage: u * 10 * int64(ready)}
}

func (d *deployment) SetReplicas(n int) { d.spec = n; d.sets = append(d.sets, n) }

// run syncs the autoscaler over the script and returns the desired count
// after each sync.
func run(t *testing.T, cfg autoscale.Config, start int, util []int64, syncs int) ([]int, *autoscale.Autoscaler) {
	t.Helper()
	s := sim.NewScheduler(sim.Config{})
	d := &deployment{spec: start, util: util}
	a, err := autoscale.New(s, cfg, d, d)
	require.NoError(t, err)
	a.Start()
	var got []int
	for i := 1; i <= syncs; i++ {
		require.NoError(t, s.RunUntil(at(time.Duration(i)*a.Config().SyncPeriod)))
		got = append(got, d.spec)
	}
	require.Len(t, a.Decisions(), syncs)
	return got, a
}

// TestFormula follows the replica count step by step on a scripted
// utilisation, without stabilisation, against a 50% target: desired =
// ceil(ready * util/50) unless within 10%, then the rate limit (at most
// max(current+4, 2*current) up per 15 s) and the clamp to [2, 10].
func TestFormula(t *testing.T) {
	cfg := autoscale.Config{MinReplicas: 2, MaxReplicas: 10, Target: 50, ScaleDown: autoscale.Rules{StabilizationWindow: autoscale.WindowOf(0)}}
	steps := []struct {
		util     int64
		proposal int
		want     int
		reason   autoscale.Reason
	}{
		{100, 4, 4, autoscale.ReasonWithinRange},       // 2 pods at 100%: ratio 2 -> 4
		{54, 4, 4, autoscale.ReasonWithinRange},        // ratio 1.08: within tolerance
		{56, 5, 5, autoscale.ReasonWithinRange},        // ratio 1.12: ceil(4*1.12) = ceil(4.48) = 5
		{46, 5, 5, autoscale.ReasonWithinRange},        // 0.92: within
		{44, 5, 5, autoscale.ReasonWithinRange},        // 0.88: ceil(5*0.88) = ceil(4.4) = 5
		{30, 3, 3, autoscale.ReasonWithinRange},        // 0.6: ceil(3) = 3
		{400, 24, 7, autoscale.ReasonScaleUpLimit},     // 8: ceil(24); limit max(3+4, 6) = 7
		{400, 56, 10, autoscale.ReasonTooManyReplicas}, // limit max(11, 14) = 14, clamp 10
		{1, 1, 2, autoscale.ReasonTooFewReplicas},      // 0.02: ceil(0.2) = 1, clamp 2
		{54, 2, 2, autoscale.ReasonWithinRange},        // 1.08: within
		{55, 3, 3, autoscale.ReasonWithinRange},        // 1.1 is out in float64 (see TestTolerance): ceil(2.2) = 3
	}
	var util []int64
	for _, st := range steps {
		util = append(util, st.util)
	}
	got, a := run(t, cfg, 2, util, len(steps))
	for i, st := range steps {
		d := a.Decisions()[i]
		assert.Equal(t, st.want, got[i], "sync %d: %v", i+1, d)
		assert.Equal(t, st.proposal, d.Proposal, "sync %d: %v", i+1, d)
		assert.Equal(t, st.reason, d.Reason, "sync %d: %v", i+1, d)
		assert.Equal(t, st.util, d.Metric)
		assert.Equal(t, at(time.Duration(i+1)*15*sec), d.At)
	}
}

// TestTolerance checks the dead band on both sides, for both metric types.
func TestTolerance(t *testing.T) {
	tests := []struct {
		name   string
		cfg    autoscale.Config
		usage  int64 // per pod, thousandths
		want   int
		metric int64
	}{
		{"utilization 109%", autoscale.Config{Target: 100}, 1090, 10, 109},
		// |1 - 110/100| is 0.10000000000000009 in float64, just above 0.1,
		// as in Kubernetes: exactly +10% scales, exactly -10% does not.
		{"utilization 110% is out by float rounding", autoscale.Config{Target: 100}, 1100, 11, 110},
		{"utilization 111%", autoscale.Config{Target: 100}, 1110, 12, 111},
		{"utilization 90% is within", autoscale.Config{Target: 100}, 900, 10, 90},
		{"utilization 89%", autoscale.Config{Target: 100}, 890, 9, 89},
		{"utilization truncates to whole percent", autoscale.Config{Target: 100}, 1099, 10, 109},
		{"tolerance 0", autoscale.Config{Target: 100, Tolerance: autoscale.Frac(0)}, 1010, 11, 101},
		{"tolerance 0.5", autoscale.Config{Target: 100, Tolerance: autoscale.Frac(0.5)}, 1400, 10, 140},
		{"in flight 5.4 per pod, target 5", autoscale.Config{Metric: autoscale.AverageValue, Target: 5000}, 5400, 10, 5400},
		{"in flight 5.6 per pod, target 5", autoscale.Config{Metric: autoscale.AverageValue, Target: 5000}, 5600, 12, 5600},
		{"in flight 2 per pod, target 5", autoscale.Config{Metric: autoscale.AverageValue, Target: 5000}, 2000, 4, 2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.MaxReplicas = 100
			cfg.ScaleDown.StabilizationWindow = autoscale.WindowOf(0)
			s := sim.NewScheduler(sim.Config{})
			f := &fixed{autoscale.Observation{Replicas: 10, Ready: 10, Usage: tc.usage * 10}, 0}
			a, err := autoscale.New(s, cfg, f, f)
			require.NoError(t, err)
			a.Sync()
			d := a.Decisions()[0]
			assert.Equal(t, tc.want, d.Desired, "%v", d)
			assert.Equal(t, tc.metric, d.Metric)
		})
	}
}

// fixed always observes the same thing and remembers the last count set.
type fixed struct {
	obs autoscale.Observation
	set int
}

func (f *fixed) Observe() autoscale.Observation { return f.obs }
func (f *fixed) SetReplicas(n int)              { f.set = n }

// TestUnreadyPods: unready pods are left out of the average, and on a
// scale-up counted at 0.
func TestUnreadyPods(t *testing.T) {
	tests := []struct {
		name           string
		ready, unready int
		util           int64 // percent of each ready pod
		want           int
	}{
		// 2 ready at 100% vs 50%: ratio 2; with the 2 unready at 0 the
		// average is 50%: within tolerance, keep 4.
		{"unready absorb the scale-up", 2, 2, 100, 4},
		// 2 ready at 150%: ratio 3; over 4 pods 75%: 1.5 -> ceil(6) = 6.
		{"scale-up recomputed over all pods", 2, 2, 150, 6},
		// 3 ready at 60% and 1 unready: 1.2; over 4 pods 45%: 0.9, the
		// other side of 1: keep 4.
		{"no reversal", 3, 1, 60, 4},
		// Scale-down: the unready are left out: ceil(2*0.4) = 1.
		{"scale-down ignores unready", 2, 3, 20, 1},
		// No unready: plain formula.
		{"all ready", 4, 0, 100, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			cur := tc.ready + tc.unready
			f := &fixed{autoscale.Observation{Replicas: cur, Ready: tc.ready, Unready: tc.unready, Usage: tc.util * 10 * int64(tc.ready)}, cur}
			a, err := autoscale.New(s, autoscale.Config{MaxReplicas: 100, Target: 50, ScaleDown: autoscale.Rules{StabilizationWindow: autoscale.WindowOf(0)}}, f, f)
			require.NoError(t, err)
			a.Sync()
			assert.Equal(t, tc.want, f.set, "%v", a.Decisions()[0])
		})
	}
}

// TestStabilizationKeepsMaxOfWindow: on the way down the recommendation is
// the highest proposal of the window (a proposal counts while it is less
// than a window old), never above the current count.
func TestStabilizationKeepsMaxOfWindow(t *testing.T) {
	// Window 60 s = 4 syncs: a proposal made at sync k counts at syncs
	// k..k+3 (at k+4 it is exactly 60 s old: out).
	cfg := autoscale.Config{MaxReplicas: 100, Target: 100, ScaleDown: autoscale.Rules{StabilizationWindow: autoscale.WindowOf(60 * sec)}}
	// 10 pods; utilisation per sync -> proposals ceil(10*u/100) while at 10.
	steps := []struct {
		util     int64
		proposal int
		want     int
	}{
		{100, 10, 10}, // within tolerance: proposal = current
		{50, 5, 10},   // window {10(init), 10, 5}: 10
		{70, 7, 10},   // {10, 10, 5, 7}
		{40, 4, 10},   // {10, 5, 7, 4} (init and first at 0 s, 15 s: 15 s is 45 s old)
		{40, 4, 7},    // 75 s: {5 @30, 7 @45, 4 @60, 4 @75}: max 7
		{40, 3, 7},    // 90 s at 7 pods: ceil(7*0.4) = 3; {7 @45, 4, 4, 3}: 7
		{40, 3, 4},    // 105 s: {4 @60, 4 @75, 3 @90, 3}: 4
		{40, 2, 4},    // 120 s at 4 pods: ceil(1.6) = 2; {4 @75, 3, 3, 2}: 4
		{40, 2, 3},    // 135 s: {3 @90, 3, 2, 2}: 3
		{40, 2, 3},    // 150 s at 3 pods: ceil(1.2) = 2; {3 @105, 2, 2, 2}: 3
		{40, 2, 2},    // 165 s: {2, 2, 2, 2}
	}
	var util []int64
	for _, st := range steps {
		util = append(util, st.util)
	}
	got, a := run(t, cfg, 10, util, len(steps))
	for i, st := range steps {
		d := a.Decisions()[i]
		assert.Equal(t, st.proposal, d.Proposal, "sync %d: %v", i+1, d)
		assert.Equal(t, st.want, got[i], "sync %d: %v", i+1, d)
	}
}

// TestDefaultDownscaleWindow: with the default 300 s window, a deployment
// of 10 that becomes idle after a 10-pod proposal at 15 s stays at 10
// until that proposal is 300 s old: the first sync after 315 s.
func TestDefaultDownscaleWindow(t *testing.T) {
	util := []int64{50, 10} // 50% of target 50: proposal 10; then 10%: proposal 2
	got, a := run(t, autoscale.Config{MaxReplicas: 10, Target: 50}, 10, util, 22)
	for i, n := range got {
		tm := time.Duration(i+1) * 15 * sec
		if tm < 315*sec {
			assert.Equal(t, 10, n, "at %v", tm)
		} else {
			assert.Equal(t, 2, n, "at %v", tm)
		}
	}
	assert.Equal(t, autoscale.Decision{At: at(315 * sec), Current: 10, Ready: 10, Metric: 10, Proposal: 2, Stabilized: 2, Desired: 2}, a.Decisions()[20])
}

// TestScaleUpRateLimit checks the default policies (4 pods or 100% per
// 15 s, the larger) and variants, syncing every sync_period.
func TestScaleUpRateLimit(t *testing.T) {
	pods4 := autoscale.Policy{Type: autoscale.Pods, Value: 4, Period: 15 * sec}
	pct100 := autoscale.Policy{Type: autoscale.Percent, Value: 100, Period: 15 * sec}
	tests := []struct {
		name string
		cfg  autoscale.Config
		want []int
	}{
		{"defaults", autoscale.Config{}, []int{5, 10, 20, 40, 80, 100, 100}},
		{"select min", autoscale.Config{ScaleUp: autoscale.Rules{Select: autoscale.SelectMin, Policies: []autoscale.Policy{pods4, pct100}}},
			[]int{2, 4, 8, 12, 16, 20, 24}},
		{"disabled", autoscale.Config{ScaleUp: autoscale.Rules{Select: autoscale.SelectDisabled}}, []int{1, 1, 1, 1, 1, 1, 1}},
		{"percent rounds up", autoscale.Config{ScaleUp: autoscale.Rules{Policies: []autoscale.Policy{{Type: autoscale.Percent, Value: 10, Period: 15 * sec}}}},
			[]int{2, 3, 4, 5, 6, 7, 8}},
		// Syncing every 5 s against a 15 s period: a change counts for
		// the period after it (strictly), so the count can grow only
		// every third sync.
		{"period longer than sync", autoscale.Config{SyncPeriod: 5 * sec}, []int{5, 5, 5, 10, 10, 10, 20}},
		{"60 s period", autoscale.Config{ScaleUp: autoscale.Rules{Policies: []autoscale.Policy{{Type: autoscale.Pods, Value: 3, Period: 60 * sec}}}},
			[]int{4, 4, 4, 4, 7, 7, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.MaxReplicas, cfg.Target = 100, 10
			got, _ := run(t, cfg, 1, []int64{1000}, len(tc.want)) // 100x the target
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestScaleDownRateLimit: a 1 pod per 30 s policy, no window.
func TestScaleDownRateLimit(t *testing.T) {
	cfg := autoscale.Config{MaxReplicas: 100, Target: 50, ScaleDown: autoscale.Rules{
		StabilizationWindow: autoscale.WindowOf(0),
		Policies:            []autoscale.Policy{{Type: autoscale.Pods, Value: 1, Period: 30 * sec}},
	}}
	got, _ := run(t, cfg, 10, []int64{1}, 6)
	assert.Equal(t, []int{9, 9, 8, 8, 7, 7}, got)
	cfg.ScaleDown.Policies = []autoscale.Policy{{Type: autoscale.Percent, Value: 50, Period: 15 * sec}}
	got, _ = run(t, cfg, 11, []int64{1}, 4)
	assert.Equal(t, []int{5, 2, 1, 1}, got, "50%% rounds the count down: 11 -> 5")
	cfg.ScaleDown.Select = autoscale.SelectDisabled
	got, _ = run(t, cfg, 11, []int64{1}, 2)
	assert.Equal(t, []int{11, 11}, got)
}

func TestBoundsAndDisabled(t *testing.T) {
	tests := []struct {
		name   string
		obs    autoscale.Observation
		want   int
		reason autoscale.Reason
	}{
		{"zero replicas disables", autoscale.Observation{Replicas: 0}, 0, autoscale.ReasonScalingDisabled},
		{"above max: straight to max", autoscale.Observation{Replicas: 30, Ready: 30, Usage: 30 * 10000}, 20, autoscale.ReasonAboveMax},
		{"below min: straight to min", autoscale.Observation{Replicas: 1, Ready: 1}, 3, autoscale.ReasonBelowMin},
		{"no ready pod", autoscale.Observation{Replicas: 5, Unready: 5}, 5, autoscale.ReasonNoMetrics},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixed{tc.obs, tc.obs.Replicas}
			a, err := autoscale.New(sim.NewScheduler(sim.Config{}), autoscale.Config{MinReplicas: 3, MaxReplicas: 20, Target: 50}, f, f)
			require.NoError(t, err)
			a.Sync()
			assert.Equal(t, tc.want, f.set)
			assert.Equal(t, tc.reason, a.Decisions()[0].Reason)
		})
	}
}

// TestLegacy: without a behavior field Kubernetes keeps the maximum
// proposal of the last 300 s in both directions (window start included)
// and caps a scale-up at max(2*current, 4).
func TestLegacy(t *testing.T) {
	cfg := autoscale.Config{MaxReplicas: 100, Target: 50, Legacy: true}
	// 1 pod at 500%: proposal 10, cap max(2, 4) = 4; then 4 pods at 500%:
	// 40, cap 8; then idle (proposals 2, 4), yet the window's maximum, 40,
	// keeps driving the count up at the cap: 16, then 32. The behavior
	// path would have followed the proposals down instead.
	got, a := run(t, cfg, 1, []int64{500, 500, 10}, 4)
	assert.Equal(t, []int{4, 8, 16, 32}, got, "%v", a.Decisions())
	// Down: the proposal at 15 s stays in the window through 315 s
	// inclusive.
	got, _ = run(t, cfg, 10, []int64{50, 10}, 22)
	assert.Equal(t, 10, got[19], "300 s")
	assert.Equal(t, 10, got[20], "315 s: the 15 s proposal is exactly 300 s old, still in")
	assert.Equal(t, 2, got[21], "330 s")
}

// TestNoAllocationPerSync: once the history has reached its size, a sync
// allocates nothing.
func TestNoAllocationPerSync(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	d := &deployment{spec: 5, util: []int64{90, 20, 60, 10}}
	a, err := autoscale.New(s, autoscale.Config{MaxReplicas: 50, Target: 50}, d, d)
	require.NoError(t, err)
	autoscale.SetDecisionLimit(a, 0)
	a.Start()
	osc := []int64{90, 20, 60, 10, 200, 30}
	for i := 0; i < 200; i++ {
		d.util = osc[i%len(osc) : i%len(osc)+1]
		s.Step()
	}
	allocs := testing.AllocsPerRun(100, func() {
		d.util = osc[d.n%len(osc) : d.n%len(osc)+1]
		s.Step()
	})
	assert.Zero(t, allocs)
	_, dropped := a.Syncs()
	assert.Positive(t, dropped)
}

func TestValidate(t *testing.T) {
	ok := autoscale.Config{MaxReplicas: 10, Target: 50}
	mod := func(f func(*autoscale.Config)) autoscale.Config { c := ok; f(&c); return c }
	tests := []struct {
		cfg  autoscale.Config
		want string
	}{
		{autoscale.Config{Target: 50}, "max_replicas must be in [1, 1048576], got 0"},
		{mod(func(c *autoscale.Config) { c.MinReplicas = 11 }), "min_replicas 11 is greater than max_replicas 10"},
		{mod(func(c *autoscale.Config) { c.MinReplicas = -1 }), "min_replicas must be in [1, 1048576] (0 for the default), got -1"},
		{mod(func(c *autoscale.Config) { c.Target = 0 }), "target must be in [1, 9223372036854775], got 0"},
		{mod(func(c *autoscale.Config) { c.Metric = 7 }), "metric MetricType(7) is unknown"},
		{mod(func(c *autoscale.Config) { c.Tolerance = autoscale.Frac(1) }), "tolerance must be in [0, 1), got 1"},
		{mod(func(c *autoscale.Config) { c.SyncPeriod = -sec }), "sync_period must be in (0, 24h0m0s] (0 for the default), got -1s"},
		{mod(func(c *autoscale.Config) { c.ScaleDown.StabilizationWindow = autoscale.WindowOf(2 * time.Hour) }),
			"scale_down.stabilization_window must be in [0, 1h0m0s], got 2h0m0s"},
		{mod(func(c *autoscale.Config) { c.ScaleUp.Policies = []autoscale.Policy{} }), "scale_up.policies must hold 1 to 16 policies, got 0"},
		{mod(func(c *autoscale.Config) {
			c.ScaleUp.Policies = []autoscale.Policy{{Type: autoscale.Pods, Value: 0, Period: sec}}
		}),
			"scale_up.policies[0].value must be in [1, 1048576], got 0"},
		{mod(func(c *autoscale.Config) {
			c.ScaleDown.Policies = []autoscale.Policy{{Type: autoscale.Pods, Value: 1, Period: time.Hour}}
		}),
			"scale_down.policies[0].period must be in (0, 30m0s], got 1h0m0s"},
		{mod(func(c *autoscale.Config) { c.ScaleDown.Policies = []autoscale.Policy{{Value: 1, Period: sec}} }), "scale_down.policies[0].type 0 is unknown"},
		{mod(func(c *autoscale.Config) { c.ScaleUp.Select = 9 }), "scale_up.select_policy 9 is unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.ErrorIs(t, err, autoscale.ErrConfig)
			assert.Equal(t, "autoscale: invalid configuration: "+tc.want, err.Error())
			_, err = autoscale.New(sim.NewScheduler(sim.Config{}), tc.cfg, &fixed{}, &fixed{})
			assert.ErrorIs(t, err, autoscale.ErrConfig)
		})
	}
	_, err := autoscale.New(sim.NewScheduler(sim.Config{}), ok, nil, &fixed{})
	assert.ErrorIs(t, err, autoscale.ErrConfig)
	assert.NoError(t, ok.Validate())
}

func TestDefaults(t *testing.T) {
	f := autoscale.Config{MaxReplicas: 10, Target: 50}.WithDefaults()
	assert.Equal(t, 1, f.MinReplicas)
	assert.Equal(t, autoscale.Utilization, f.Metric)
	assert.Equal(t, 0.1, f.Tolerance.Or(-1))
	assert.Equal(t, 15*sec, f.SyncPeriod)
	assert.Equal(t, time.Duration(0), f.ScaleUp.StabilizationWindow.Or(-1))
	assert.Equal(t, 300*sec, f.ScaleDown.StabilizationWindow.Or(-1))
	assert.Equal(t, autoscale.SelectMax, f.ScaleUp.Select)
	assert.Equal(t, []autoscale.Policy{{Type: autoscale.Pods, Value: 4, Period: 15 * sec}, {Type: autoscale.Percent, Value: 100, Period: 15 * sec}}, f.ScaleUp.Policies)
	assert.Equal(t, []autoscale.Policy{{Type: autoscale.Percent, Value: 100, Period: 15 * sec}}, f.ScaleDown.Policies)
	assert.False(t, autoscale.Window{}.IsSet())
	assert.Equal(t, "average_value", autoscale.AverageValue.String())
	assert.Equal(t, "ScaleUpLimit", autoscale.ReasonScaleUpLimit.String())
	assert.Equal(t, "Reason(99)", autoscale.Reason(99).String())
	assert.Equal(t, "15s current=2 ready=2 unready=0 metric=100 proposal=4 stabilized=4 desired=4 DesiredWithinRange",
		fmt.Sprint(autoscale.Decision{At: at(15 * sec), Current: 2, Ready: 2, Metric: 100, Proposal: 4, Stabilized: 4, Desired: 4}))
}
