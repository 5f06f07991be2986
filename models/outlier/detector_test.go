package outlier_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
)

const sec = time.Second

// at converts a duration since the start to an instant.
func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

// newDetector returns a started detector over hosts hosts, drawing from a
// stream of seed.
func newDetector(t testing.TB, hosts int, cfg outlier.Config, seed uint64) (*sim.Scheduler, *outlier.Detector) {
	t.Helper()
	s := sim.NewScheduler(sim.Config{})
	d, err := outlier.New(s, sim.NewRand(seed, 0), hosts, cfg)
	require.NoError(t, err, "seed=%d", seed)
	d.Start()
	return s, d
}

// record feeds n results r for host h.
func record(d *outlier.Detector, h, n int, r outlier.Result) {
	for i := 0; i < n; i++ {
		d.Record(h, r)
	}
}

// untilUnejected fires sweeps until host h is back, and returns when.
func untilUnejected(t testing.TB, s *sim.Scheduler, d *outlier.Detector, h int) sim.Time {
	t.Helper()
	for i := 0; d.Ejected(h); i++ {
		require.Less(t, i, 1000, "host %d never unejected", h)
		require.True(t, s.Step())
	}
	return s.Now()
}

func ejectedSet(d *outlier.Detector, hosts int) []int {
	var out []int
	for h := 0; h < hosts; h++ {
		if d.Ejected(h) {
			out = append(out, h)
		}
	}
	return out
}

func TestConsecutive5xxEjectsOnExactlyTheNth(t *testing.T) {
	const (
		S  = outlier.Success
		E  = outlier.Error5xx
		G  = outlier.GatewayFailure
		LO = outlier.LocalOriginFailure
	)
	tests := []struct {
		name    string
		cfg     outlier.Config
		results []outlier.Result
		wantAt  int // 1-based index of the result that ejects; 0 for never
		kind    outlier.Kind
	}{
		{"five 500s", outlier.Config{}, []outlier.Result{E, E, E, E, E}, 5, outlier.KindConsecutive5xx},
		{"four 500s", outlier.Config{}, []outlier.Result{E, E, E, E}, 0, 0},
		{"a success resets", outlier.Config{}, []outlier.Result{E, E, E, E, S, E, E, E, E}, 0, 0},
		{"five after the reset", outlier.Config{}, []outlier.Result{E, E, E, E, S, E, E, E, E, E}, 10, outlier.KindConsecutive5xx},
		{"threshold 3", outlier.Config{Consecutive5xx: 3}, []outlier.Result{E, E, E}, 3, outlier.KindConsecutive5xx},
		// A 503 is a 5xx: with default enforcement the gateway detector
		// fires first but only counts, then consecutive_5xx ejects.
		{"five 503s eject as 5xx", outlier.Config{}, []outlier.Result{G, G, G, G, G}, 5, outlier.KindConsecutive5xx},
		{"five timeouts eject as 5xx", outlier.Config{}, []outlier.Result{LO, LO, LO, LO, LO}, 5, outlier.KindConsecutive5xx},
		{"mixed 500 and 503 count as 5xx", outlier.Config{}, []outlier.Result{G, G, E, G, LO}, 5, outlier.KindConsecutive5xx},
		{"enforced gateway detector ejects first", outlier.Config{EnforcingConsecutiveGatewayFailure: outlier.Pct(100)},
			[]outlier.Result{G, G, G, G, LO}, 5, outlier.KindConsecutiveGatewayFailure},
		{"enforcement 0 (Istio consecutive5xxErrors: 0)", outlier.Config{EnforcingConsecutive5xx: outlier.Pct(0)},
			[]outlier.Result{E, E, E, E, E, E, E, E, E, E}, 0, 0},
		{"disabled", outlier.Config{Disabled: outlier.Kinds(outlier.KindConsecutive5xx)},
			[]outlier.Result{E, E, E, E, E, E}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newDetector(t, 20, tc.cfg, 1)
			got := 0
			for i, r := range tc.results {
				d.Record(3, r)
				if got == 0 && d.Ejected(3) {
					got = i + 1
				}
			}
			assert.Equal(t, tc.wantAt, got)
			st := d.Stats()
			if tc.wantAt > 0 {
				assert.Equal(t, int64(1), st.Enforced[tc.kind])
				assert.Equal(t, int64(1), st.EnforcedTotal())
				assert.Equal(t, []int{3}, ejectedSet(d, 20))
			} else {
				assert.Zero(t, st.EnforcedTotal())
			}
		})
	}
}

func TestGatewayFailuresCountedNotEnforcedByDefault(t *testing.T) {
	// consecutive_5xx at 10 leaves the gateway detector alone at 5.
	_, d := newDetector(t, 20, outlier.Config{Consecutive5xx: 10}, 1)
	record(d, 0, 5, outlier.GatewayFailure)
	st := d.Stats()
	assert.False(t, d.Ejected(0))
	assert.Equal(t, int64(1), st.Detected[outlier.KindConsecutiveGatewayFailure])
	assert.Zero(t, st.Enforced[outlier.KindConsecutiveGatewayFailure])

	// The counter was reset by the detection: five more fire it again,
	// and the tenth 5xx in a row ejects.
	record(d, 0, 5, outlier.GatewayFailure)
	st = d.Stats()
	assert.True(t, d.Ejected(0))
	assert.Equal(t, int64(2), st.Detected[outlier.KindConsecutiveGatewayFailure])
	assert.Equal(t, int64(1), st.Enforced[outlier.KindConsecutive5xx])

	// A 500 resets the gateway count but not the 5xx count.
	_, d = newDetector(t, 20, outlier.Config{Consecutive5xx: 10}, 1)
	for _, r := range []outlier.Result{outlier.GatewayFailure, outlier.GatewayFailure, outlier.GatewayFailure, outlier.GatewayFailure, outlier.Error5xx, outlier.GatewayFailure} {
		d.Record(0, r)
	}
	assert.Zero(t, d.Stats().Detected[outlier.KindConsecutiveGatewayFailure])
}

func TestConsecutiveWhileEjectedAndAfterUneject(t *testing.T) {
	s, d := newDetector(t, 20, outlier.Config{}, 1)
	record(d, 0, 5, outlier.Error5xx)
	require.True(t, d.Ejected(0))
	// Answers still in flight (or sent in panic mode) keep counting, but
	// a detection of an ejected host is dropped.
	record(d, 0, 8, outlier.Error5xx)
	assert.Equal(t, int64(1), d.Stats().Detected[outlier.KindConsecutive5xx])
	// Unejection resets the counters: four errors do not eject again.
	untilUnejected(t, s, d, 0)
	record(d, 0, 4, outlier.Error5xx)
	assert.False(t, d.Ejected(0))
	d.Record(0, outlier.Error5xx)
	assert.True(t, d.Ejected(0))
}

// The issue's acceptance: "outlier ejection durations follow base x k
// capped at 300 s". The host is ejected again as soon as it is back, so k
// never decays: k = 1, 2, ..., 10 gives 30 s ... 300 s; k stops at 11
// (11*30 s is not < 300 s + 30 s) and min(330 s, 300 s) caps it.
func TestEjectionDurationsFollowBaseTimesKCapped(t *testing.T) {
	s, d := newDetector(t, 20, outlier.Config{}, 1)
	var got []time.Duration
	for i := 0; i < 13; i++ {
		record(d, 0, 5, outlier.Error5xx)
		require.True(t, d.Ejected(0))
		from := s.Now()
		to := untilUnejected(t, s, d, 0)
		got = append(got, to.Sub(from))
	}
	want := []time.Duration{30 * sec, 60 * sec, 90 * sec, 120 * sec, 150 * sec, 180 * sec, 210 * sec,
		240 * sec, 270 * sec, 300 * sec, 300 * sec, 300 * sec, 300 * sec}
	assert.Equal(t, want, got)
	assert.Equal(t, int64(11), outlier.Multiplier(d, 0))

	// The history agrees.
	iv := d.Intervals()
	require.Len(t, iv, 13)
	for i, e := range iv {
		assert.Equal(t, want[i], e.To.Sub(e.From), "ejection %d", i)
		assert.Equal(t, outlier.KindConsecutive5xx, e.Kind)
		assert.False(t, e.Ongoing())
	}
}

// k decays by one per sweep in which the host is healthy and was unejected
// at least one interval before: linearly, not by halving.
func TestMultiplierDecaysOnePerHealthyInterval(t *testing.T) {
	tests := []struct {
		healthy int // intervals between the unejection and the next ejection
		want    time.Duration
	}{
		{0, 300 * sec}, // k 11 -> 11 (stuck at the cap) -> 300 s
		{1, 300 * sec}, // 10 -> 11
		{2, 300 * sec}, // 9 -> 10
		{3, 270 * sec}, // 8 -> 9
		{5, 210 * sec}, // 6 -> 7
		{10, 60 * sec}, // 1 -> 2
		{11, 30 * sec}, // 0 -> 1
		{40, 30 * sec}, // never below 0
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("healthy=%d", tc.healthy), func(t *testing.T) {
			s, d := newDetector(t, 20, outlier.Config{}, 1)
			for i := 0; i < 11; i++ { // k = 11
				record(d, 0, 5, outlier.Error5xx)
				untilUnejected(t, s, d, 0)
			}
			require.Equal(t, int64(11), outlier.Multiplier(d, 0))
			back := s.Now()
			require.NoError(t, s.RunUntil(back.Add(time.Duration(tc.healthy)*10*sec)))
			assert.Equal(t, max(0, 11-int64(tc.healthy)), outlier.Multiplier(d, 0))
			record(d, 0, 5, outlier.Error5xx)
			from := s.Now()
			assert.Equal(t, tc.want, untilUnejected(t, s, d, 0).Sub(from))
		})
	}
}

// Hosts come back only at a sweep: an ejection lasts its ejection time
// rounded up to the interval grid.
func TestEjectionRoundedUpToIntervalGrid(t *testing.T) {
	tests := []struct {
		name     string
		cfg      outlier.Config
		ejectAt  time.Duration
		wantBack time.Duration
	}{
		{"on the grid", outlier.Config{}, 10 * sec, 40 * sec},
		{"just after a sweep", outlier.Config{}, 12 * sec, 50 * sec}, // 30 s rounds up to 38 s
		{"just before a sweep", outlier.Config{}, 9*sec + 999*time.Millisecond, 40 * sec},
		{"base not a multiple of interval", outlier.Config{BaseEjectionTime: 25 * sec}, 10 * sec, 40 * sec},
		{"long interval", outlier.Config{Interval: 60 * sec}, 1 * sec, 60 * sec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, d := newDetector(t, 20, tc.cfg, 1)
			require.NoError(t, s.RunUntil(at(tc.ejectAt)))
			record(d, 0, 5, outlier.Error5xx)
			require.True(t, d.Ejected(0))
			assert.Equal(t, at(tc.wantBack), untilUnejected(t, s, d, 0))
		})
	}
}

func TestJitterExtendsEjections(t *testing.T) {
	// Jitter U[0, 25 s] on a 30 s base: back at a sweep in [30 s, 60 s],
	// pinned for seed 3.
	s, d := newDetector(t, 20, outlier.Config{MaxEjectionTimeJitter: 25 * sec}, 3)
	for h := 0; h < 2; h++ {
		record(d, h, 5, outlier.Error5xx)
	}
	require.NoError(t, s.RunUntil(at(time.Minute)))
	var back []time.Duration
	for _, e := range d.Intervals() {
		back = append(back, e.To.Sub(e.From))
	}
	for _, b := range back {
		assert.GreaterOrEqual(t, b, 30*sec)
		assert.LessOrEqual(t, b, 60*sec)
		assert.Zero(t, b%(10*sec))
	}
	// Jitters 22.6 s and 1.96 s: due at 52.6 s and 31.96 s.
	assert.Equal(t, []time.Duration{60 * sec, 40 * sec}, back, "seed=3")
}

func TestMaxEjectionPercent(t *testing.T) {
	tests := []struct {
		name         string
		hosts        int
		pct          outlier.Percent
		always       bool
		wantEjected  int
		wantOverflow int64
	}{
		{"5 hosts 10% strict", 5, outlier.Percent{}, false, 0, 5},
		{"5 hosts 10% always_eject_one_host", 5, outlier.Percent{}, true, 1, 4},
		{"1 host 10% strict", 1, outlier.Percent{}, false, 0, 1},
		{"1 host always_eject_one_host", 1, outlier.Percent{}, true, 1, 0},
		{"9 hosts 10%", 9, outlier.Percent{}, false, 0, 9},
		{"10 hosts 10%", 10, outlier.Percent{}, false, 1, 9},
		{"19 hosts 10%", 19, outlier.Percent{}, false, 1, 18},
		{"20 hosts 10%", 20, outlier.Percent{}, false, 2, 18},
		{"20 hosts 10% always", 20, outlier.Percent{}, true, 2, 18},
		{"5 hosts 0% strict", 5, outlier.Pct(0), false, 0, 5},
		{"5 hosts 0% always", 5, outlier.Pct(0), true, 1, 4},
		{"5 hosts 100%", 5, outlier.Pct(100), false, 5, 0},
		{"5 hosts 40%", 5, outlier.Pct(40), false, 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newDetector(t, tc.hosts, outlier.Config{MaxEjectionPercent: tc.pct, AlwaysEjectOneHost: tc.always}, 1)
			for h := 0; h < tc.hosts; h++ {
				record(d, h, 5, outlier.Error5xx)
			}
			st := d.Stats()
			assert.Equal(t, tc.wantEjected, d.NumEjected())
			assert.Equal(t, tc.wantEjected, st.Active)
			assert.Equal(t, tc.wantOverflow, st.Overflow)
			// Hosts are refused in the order they fail: the first ones win.
			want := []int(nil)
			for h := 0; h < tc.wantEjected; h++ {
				want = append(want, h)
			}
			assert.Equal(t, want, ejectedSet(d, tc.hosts))
		})
	}
}

// feed records, for each host, rates[h] successes per 100 answers over
// volume answers, interleaved so that no consecutive detector would fire.
func feed(d *outlier.Detector, rates []int, volume int) {
	for h, r := range rates {
		ok := volume * r / 100
		for i := 0; i < volume; i++ {
			if i < ok {
				d.Record(h, outlier.Success)
			} else {
				d.Record(h, outlier.Error5xx)
			}
		}
	}
}

var noConsecutive = outlier.Kinds(outlier.KindConsecutive5xx, outlier.KindConsecutiveGatewayFailure)

func TestSuccessRate(t *testing.T) {
	tests := []struct {
		name          string
		cfg           outlier.Config
		rates         []int // success percent per host
		volume        int   // answers per host
		wantMean      float64
		wantThreshold float64
		wantEjected   []int
		wantDetected  int64
	}{
		// The reference's example: mean 90, population stdev 20,
		// threshold 90 - 1.9*20 = 52.
		{"reference example", outlier.Config{}, []int{50, 100, 100, 100, 100}, 100, 90, 52, []int{0}, 1},
		{"no outlier", outlier.Config{}, []int{95, 96, 97, 98, 99}, 100, 97, 97 - 1.9*1.4142135623730951, nil, 0},
		{"ten hosts", outlier.Config{}, []int{0, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 200, 90, 33, []int{0}, 1},
		{"stdev factor 1.0", outlier.Config{SuccessRateStdevFactor: 1000}, []int{60, 80, 100, 100, 100, 100}, 100,
			90, 90 - 15.275252316519467, []int{0}, 1},
		{"too few hosts", outlier.Config{}, []int{50, 100, 100, 100}, 100, -1, -1, nil, 0},
		{"too little volume", outlier.Config{}, []int{50, 100, 100, 100, 100}, 99, -1, -1, nil, 0},
		{"custom volume and hosts", outlier.Config{SuccessRateRequestVolume: 10, SuccessRateMinimumHosts: 3},
			[]int{50, 100, 100}, 10, 250.0 / 3, 250.0/3 - 1.9*23.570226039551585, nil, 0},
		{"Istio: detected, not enforced", outlier.IstioDefaults(), []int{50, 100, 100, 100, 100}, 100, 90, 52, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Disabled = noConsecutive
			cfg.MaxEjectionPercent = outlier.Pct(100)
			s, d := newDetector(t, len(tc.rates), cfg, 1)
			feed(d, tc.rates, tc.volume)
			require.NoError(t, s.RunUntil(at(10*sec)))
			st := d.Stats()
			assert.InDelta(t, tc.wantMean, st.SuccessRateMean, 1e-9)
			assert.InDelta(t, tc.wantThreshold, st.SuccessRateThreshold, 1e-9)
			assert.Equal(t, tc.wantEjected, ejectedSet(d, len(tc.rates)))
			assert.Equal(t, tc.wantDetected, st.Detected[outlier.KindSuccessRate])
			assert.Equal(t, int64(len(tc.wantEjected)), st.Enforced[outlier.KindSuccessRate])
		})
	}
}

func TestSuccessRateUsesTheLastIntervalOnly(t *testing.T) {
	cfg := outlier.Config{Disabled: noConsecutive, AlwaysEjectOneHost: true}
	s, d := newDetector(t, 5, cfg, 1)
	// Answers in (0 s, 10 s] are judged at 10 s; the bad host's answers
	// land at 10 s after the sweep, so they are judged at 20 s.
	feed(d, []int{100, 100, 100, 100, 100}, 100)
	require.NoError(t, s.RunUntil(at(10*sec)))
	assert.Equal(t, float64(100), d.Stats().SuccessRateMean)
	feed(d, []int{50, 100, 100, 100, 100}, 100)
	assert.Empty(t, ejectedSet(d, 5))
	require.NoError(t, s.RunUntil(at(20*sec)))
	assert.Equal(t, []int{0}, ejectedSet(d, 5))
	// An ejected host is left out: four hosts remain, below the minimum.
	feed(d, []int{0, 100, 100, 100, 100}, 100)
	require.NoError(t, s.RunUntil(at(30*sec)))
	assert.Equal(t, float64(-1), d.Stats().SuccessRateMean)
}

func TestFailurePercentage(t *testing.T) {
	tests := []struct {
		name        string
		cfg         outlier.Config
		rates       []int
		volume      int
		wantEjected []int
		wantDetect  int64
	}{
		{"not enforced by default", outlier.Config{}, []int{10, 100, 100, 100, 100}, 60, nil, 1},
		{"enforced", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100)}, []int{10, 100, 100, 100, 100}, 60, []int{0}, 1},
		{"exactly at the threshold", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100)}, []int{15, 100, 100, 100, 100}, 60, []int{0}, 1},
		{"just under the threshold", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100)}, []int{20, 100, 100, 100, 100}, 60, nil, 0},
		{"too little volume", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100)}, []int{0, 100, 100, 100, 100}, 49, nil, 0},
		{"too few hosts", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100)}, []int{0, 100, 100, 100}, 60, nil, 0},
		{"threshold 50", outlier.Config{EnforcingFailurePercentage: outlier.Pct(100), FailurePercentageThreshold: 50},
			[]int{50, 40, 100, 100, 100}, 60, []int{0, 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Disabled = noConsecutive
			cfg.MaxEjectionPercent = outlier.Pct(100)
			s, d := newDetector(t, len(tc.rates), cfg, 1)
			feed(d, tc.rates, tc.volume) // below success rate's volume of 100
			require.NoError(t, s.RunUntil(at(10*sec)))
			st := d.Stats()
			assert.Equal(t, tc.wantEjected, ejectedSet(d, len(tc.rates)))
			assert.Equal(t, tc.wantDetect, st.Detected[outlier.KindFailurePercentage])
			assert.Equal(t, int64(len(tc.wantEjected)), st.Enforced[outlier.KindFailurePercentage])
			assert.Zero(t, st.Detected[outlier.KindSuccessRate])
		})
	}
}

func TestSuccessRateAndFailurePercentageEjectOnce(t *testing.T) {
	cfg := outlier.Config{Disabled: noConsecutive, MaxEjectionPercent: outlier.Pct(100), EnforcingFailurePercentage: outlier.Pct(100)}
	s, d := newDetector(t, 5, cfg, 1)
	feed(d, []int{0, 100, 100, 100, 100}, 100)
	require.NoError(t, s.RunUntil(at(10*sec)))
	st := d.Stats()
	assert.Equal(t, int64(1), st.Detected[outlier.KindSuccessRate])
	assert.Equal(t, int64(1), st.Detected[outlier.KindFailurePercentage])
	assert.Equal(t, int64(1), st.EnforcedTotal())
	assert.Equal(t, 1, st.Active)
	assert.Equal(t, uint64(1), d.Version())
}

func TestEnforcementRolls(t *testing.T) {
	tests := []struct {
		name string
		pct  outlier.Percent
		seed uint64
		want []int // hosts ejected, in order
	}{
		{"0%", outlier.Pct(0), 1, nil},
		{"100%", outlier.Pct(100), 1, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"50% seed 7", outlier.Pct(50), 7, []int{1, 2, 5, 9, 10, 11, 13, 15, 18, 19}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const hosts = 20
			s := sim.NewScheduler(sim.Config{})
			rnd := sim.NewRand(tc.seed, 0)
			cfg := outlier.Config{EnforcingConsecutive5xx: tc.pct, MaxEjectionPercent: outlier.Pct(100)}
			d, err := outlier.New(s, rnd, hosts, cfg)
			require.NoError(t, err)
			for h := 0; h < hosts; h++ {
				record(d, h, 5, outlier.Error5xx)
			}
			assert.Equal(t, tc.want, ejectedSet(d, hosts), "seed=%d", tc.seed)
			assert.Equal(t, int64(hosts), d.Stats().Detected[outlier.KindConsecutive5xx])
			if p := tc.pct.Or(0); p == 0 || p == 100 {
				// Like Envoy's featureEnabled, 0% and 100% draw nothing.
				assert.Equal(t, sim.NewRand(tc.seed, 0).Uint64(), rnd.Uint64())
			}
		})
	}
}

// Version changes exactly when the ejected set does: it counts ejections
// and unejections, and nothing else moves it.
func TestVersion(t *testing.T) {
	s, d := newDetector(t, 20, outlier.Config{}, 1)
	assert.Equal(t, uint64(0), d.Version())
	record(d, 0, 4, outlier.Error5xx)
	record(d, 1, 5, outlier.GatewayFailure)
	assert.Equal(t, uint64(1), d.Version(), "one ejection; the unenforced gateway detection does not count")
	record(d, 2, 5, outlier.Error5xx)
	assert.Equal(t, uint64(2), d.Version())
	record(d, 3, 5, outlier.Error5xx) // refused: 3 of 20 > 10%
	assert.Equal(t, uint64(2), d.Version())
	assert.Equal(t, int64(1), d.Stats().Overflow)
	require.NoError(t, s.RunUntil(at(20*sec)))
	assert.Equal(t, uint64(2), d.Version(), "sweeps without a change")
	require.NoError(t, s.RunUntil(at(30*sec)))
	assert.Equal(t, uint64(4), d.Version(), "two unejections")

	// Property: under random traffic, Version moves iff the set moves, by
	// the number of ejections and unejections.
	const hosts = 12
	cfg := outlier.Config{MaxEjectionPercent: outlier.Pct(50), EnforcingFailurePercentage: outlier.Pct(50), SuccessRateRequestVolume: 20,
		FailurePercentageRequestVolume: 10, MaxEjectionTimeJitter: 7 * sec}
	s, d = newDetector(t, hosts, cfg, 5)
	traffic := sim.NewRand(6, 0)
	prevSet, prevV := ejectedSet(d, hosts), d.Version()
	for step := 0; step < 50000; step++ {
		if step%100 == 0 {
			require.True(t, s.Step())
		} else {
			h := traffic.IntN(hosts)
			r := outlier.Success
			if traffic.Float64() < 0.05+0.5*float64(h%3)/2 {
				r = outlier.Result(1 + traffic.IntN(3))
			}
			d.Record(h, r)
		}
		set, v := ejectedSet(d, hosts), d.Version()
		st := d.Stats()
		require.Equal(t, uint64(st.EnforcedTotal()+st.Unejections), v, "step %d", step)
		if !assert.ObjectsAreEqual(set, prevSet) {
			require.NotEqual(t, prevV, v, "step %d: set changed, version did not", step)
		}
		if v == prevV {
			require.Equal(t, prevSet, set, "step %d", step)
		}
		prevSet, prevV = set, v
	}
	assert.Positive(t, d.Stats().EnforcedTotal())
}

func TestIntervalsBounded(t *testing.T) {
	s, d := newDetector(t, 20, outlier.Config{}, 1)
	outlier.SetHistoryLimit(d, 2)
	record(d, 0, 5, outlier.Error5xx)
	require.NoError(t, s.RunUntil(at(5*sec)))
	record(d, 1, 5, outlier.GatewayFailure)
	iv := d.Intervals()
	require.Len(t, iv, 2)
	assert.Equal(t, outlier.Ejection{Host: 0, Kind: outlier.KindConsecutive5xx, From: 0, To: sim.MaxTime}, iv[0])
	assert.True(t, iv[1].Ongoing())
	require.NoError(t, s.RunUntil(at(40*sec)))
	record(d, 2, 5, outlier.Error5xx) // dropped: the history is full
	iv = d.Intervals()
	assert.Equal(t, []outlier.Ejection{
		{Host: 0, Kind: outlier.KindConsecutive5xx, From: 0, To: at(30 * sec)},
		{Host: 1, Kind: outlier.KindConsecutive5xx, From: at(5 * sec), To: at(40 * sec)},
	}, iv)
	st := d.Stats()
	assert.Equal(t, int64(1), st.IntervalsDropped)
	assert.Equal(t, []int64{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, st.HostEjections)
	assert.True(t, d.Ejected(2))
}

func TestStartStop(t *testing.T) {
	s, d := newDetector(t, 20, outlier.Config{}, 1)
	d.Start() // no second timer
	assert.Equal(t, 1, s.Pending())
	record(d, 0, 5, outlier.Error5xx)
	d.Stop()
	assert.Equal(t, 0, s.Pending())
	require.NoError(t, s.RunUntil(at(time.Hour)))
	assert.True(t, d.Ejected(0), "no sweep, no unejection")
	d.Start()
	require.NoError(t, s.RunUntil(at(time.Hour+10*sec)))
	assert.False(t, d.Ejected(0))
}

func TestUnknownResultPanics(t *testing.T) {
	_, d := newDetector(t, 2, outlier.Config{}, 1)
	assert.PanicsWithValue(t, "outlier: Record(1, Result(9)): unknown result", func() { d.Record(1, 9) })
}

func TestRecordAndSweepDoNotAllocate(t *testing.T) {
	const hosts = 20
	cfg := outlier.Config{MaxEjectionPercent: outlier.Pct(30), EnforcingFailurePercentage: outlier.Pct(50), MaxEjectionTimeJitter: 3 * sec}
	s, d := newDetector(t, hosts, cfg, 1)
	outlier.SetHistoryLimit(d, 8)
	traffic := sim.NewRand(2, 0)
	interval := func() {
		for i := 0; i < 4000; i++ {
			h := traffic.IntN(hosts)
			r := outlier.Success
			if h < 3 && traffic.IntN(2) == 0 {
				r = outlier.Error5xx
			} else if h == 3 {
				r = outlier.LocalOriginFailure
			}
			d.Record(h, r)
		}
		s.Step()
	}
	for i := 0; i < 100; i++ { // fill the history
		interval()
	}
	require.Equal(t, 8, len(d.Intervals()))
	before := d.Stats()
	assert.Zero(t, testing.AllocsPerRun(50, interval))
	st := d.Stats()
	assert.Greater(t, st.EnforcedTotal(), before.EnforcedTotal(), "ejections kept happening")
	assert.Greater(t, st.Unejections, before.Unejections)
	assert.Positive(t, st.Enforced[outlier.KindSuccessRate]+st.Enforced[outlier.KindFailurePercentage])
	assert.Zero(t, testing.AllocsPerRun(1000, func() { d.Record(5, outlier.Success) }))
	assert.Zero(t, testing.AllocsPerRun(1000, func() { d.Record(6, outlier.GatewayFailure) }))
}

func TestDeterministic(t *testing.T) {
	run := func() ([]outlier.Ejection, outlier.Stats) {
		cfg := outlier.Config{MaxEjectionPercent: outlier.Pct(40), EnforcingConsecutive5xx: outlier.Pct(70), MaxEjectionTimeJitter: 9 * sec}
		s, d := newDetector(t, 8, cfg, 11)
		traffic := sim.NewRand(12, 0)
		for i := 0; i < 200; i++ {
			for j := 0; j < 300; j++ {
				h := traffic.IntN(8)
				r := outlier.Success
				if traffic.IntN(10) < h {
					r = outlier.Result(1 + traffic.IntN(3))
				}
				d.Record(h, r)
			}
			s.Step()
		}
		return d.Intervals(), d.Stats()
	}
	iv1, st1 := run()
	iv2, st2 := run()
	require.NotEmpty(t, iv1)
	assert.Equal(t, iv1, iv2)
	assert.Equal(t, st1, st2)
}
