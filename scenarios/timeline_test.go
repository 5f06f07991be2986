package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/report"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim"
)

func TestDefaultWindow(t *testing.T) {
	for _, tc := range []struct {
		duration time.Duration
		want     time.Duration
		windows  int64
	}{
		{100 * time.Millisecond, 500 * time.Microsecond, 200},
		{time.Second, 5 * time.Millisecond, 200},
		{10 * time.Second, 50 * time.Millisecond, 200},
		{time.Minute, 500 * time.Millisecond, 120},
		{110 * time.Second, time.Second, 110},
		{5 * time.Minute, 2 * time.Second, 150},
		{10 * time.Minute, 5 * time.Second, 120},
		{time.Hour, 20 * time.Second, 180},
		{2 * time.Hour, 50 * time.Second, 144},
		{3 * time.Hour, time.Minute, 180},
		{10 * time.Hour, 5 * time.Minute, 120},
		{24 * time.Hour, 10 * time.Minute, 144},
		{7 * 24 * time.Hour, time.Hour, 168},
		{1000 * time.Hour, 5 * time.Hour, 200},
	} {
		t.Run(tc.duration.String(), func(t *testing.T) {
			got := DefaultWindow(tc.duration)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.windows, workload.NumWindows(sim.Time(tc.duration), got))
		})
	}
	assert.Zero(t, DefaultWindow(0))
	assert.Equal(t, time.Nanosecond, DefaultWindow(7), "below 50ns there are fewer windows than 50")
}

// TestDefaultWindowIsNiceAndInRange sweeps durations over twenty orders of
// magnitude: the default is always a round value and gives 50 to 200
// windows.
func TestDefaultWindowIsNiceAndInRange(t *testing.T) {
	nice := niceWindows()
	// Up to 100,000h, so that d*13 stays below MaxInt64.
	for d := 50 * time.Nanosecond; d < 100_000*time.Hour; d = d*13/10 + 1 {
		w := DefaultWindow(d)
		n := workload.NumWindows(sim.Time(d), w)
		require.True(t, n >= minDefaultWindows && n <= maxDefaultWindows, "duration %v: window %v gives %d windows", d, w, n)
		require.True(t, slices.Contains(nice, w), "duration %v: window %v is not round", d, w)
	}
	// The round values: 1, 2 and 5 times a power of ten of a unit.
	assert.Equal(t, []time.Duration{time.Nanosecond, 2 * time.Nanosecond, 5 * time.Nanosecond, 10 * time.Nanosecond}, nice[:4])
	i := slices.Index(nice, 20*time.Second)
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, []time.Duration{20 * time.Second, 50 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 20 * time.Minute, 50 * time.Minute, time.Hour, 2 * time.Hour}, nice[i:i+10])
}

func TestParseTimeline(t *testing.T) {
	const rest = "workloads: [{name: w, arrival: {rate: 1/s}, target: s}]\n" +
		"services: [{name: s, service_time: {dist: constant, value: 1ms}}]\n"
	doc, err := Parse("x.yaml", []byte("version: 1\nduration: 2m\ntimeline: {window: 2s}\n"+rest))
	require.NoError(t, err)
	assert.Equal(t, Duration(2*time.Second), doc.Scenario.Timeline.Window)
	doc, err = Parse("x.yaml", []byte("version: 1\nduration: 2m\n"+rest))
	require.NoError(t, err)
	assert.Equal(t, Duration(time.Second), doc.Scenario.Timeline.Window, "default: 120 windows of 1s")

	for _, tc := range []struct {
		name, field, want string
	}{
		{"zero", "timeline: {window: 0}", "x.yaml:3:20: timeline.window: must be positive; e.g. timeline: {window: 1s}"},
		{"no unit", "timeline: {window: 5}", "x.yaml:3:20: timeline.window: duration 5 has no unit; write 250ms, 1.5s or 2m (units: ns, us, ms, s, m, h)"},
		{"negative", "timeline: {window: -1s}", "x.yaml:3:20: timeline.window: must not be negative, got -1s"},
		{"too many windows", "timeline: {window: 10ms}",
			"x.yaml:3:20: timeline.window: window 10ms gives 12000 windows over duration 2m0s; the limit is 10000; use at least 12ms, or leave it out for 1s"},
		{"longer than the run", "timeline:\n  window: 5m", "x.yaml:4:11: timeline.window: window 5m0s is longer than duration 2m0s"},
		{"typo", "timeline: {widow: 1s}", `x.yaml:3:12: timeline.widow: unknown field "widow"; did you mean "window"?`},
		{"not a mapping", "timeline: 1s", `x.yaml:3:11: timeline: expected a mapping, got string "1s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte("version: 1\nduration: 2m\n"+tc.field+"\n"+rest))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestVariantCannotSetTimeline(t *testing.T) {
	_, err := Parse("v.yaml", []byte(`version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}}]
variants:
  - {name: fine, set: {timeline.window: 1s}}
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "v.yaml:6:24: variants[0].set.timeline.window: a variant cannot set timeline")
}

// failureTimeline has three workloads, each on its own service, and a
// failure on each from 20s to 40s: slowsvc serves 5 times slower, errsvc
// fails half its requests, and ejsvc[0] fails all of them, so that its
// callers' outlier detection ejects it.
const failureTimeline = `version: 1
name: failure-timeline
seed: 11
duration: 60s
replications: 2
timeline: {window: 1s}
workloads:
  - {name: w_slow, arrival: {rate: 100/s}, target: slowsvc}
  - {name: w_err, arrival: {rate: 100/s}, target: errsvc}
  - {name: w_ej, arrival: {rate: 100/s}, target: ejsvc}
services:
  - {name: slowsvc, concurrency: 4, service_time: {dist: constant, value: 10ms}}
  - {name: errsvc, concurrency: 4, service_time: {dist: constant, value: 10ms}}
  - name: ejsvc
    replicas: 3
    concurrency: 4
    service_time: {dist: constant, value: 10ms}
    sidecar:
      outlier_detection: {consecutive_5xx: 5, max_ejection_percent: 50, base_ejection_time: 30s}
failures:
  - {at: 20s, for: 20s, kind: slow, target: slowsvc, factor: 5}
  - {at: 20s, for: 20s, kind: errors, target: errsvc, probability: 0.5}
  - {at: 20s, for: 20s, kind: errors, target: "ejsvc[0]", probability: 1}
`

func runFailureTimeline(t *testing.T, workers int) (*results.Experiment, []byte) {
	t.Helper()
	doc, err := Parse("failure-timeline.yaml", []byte(failureTimeline))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: workers, Version: "test"})
	require.NoError(t, err)
	js, err := json.MarshalIndent(results.Summarize(exp), "", "  ")
	require.NoError(t, err)
	return exp, js
}

func TestTimelineShowsFailureWindows(t *testing.T) {
	exp, js := runFailureTimeline(t, 1)
	exp2, js2 := runFailureTimeline(t, 2)
	require.Equal(t, string(js), string(js2), "summary.json depends on the number of workers")
	// So do the figures, which draw every panel (ejected hosts included).
	files, err := report.Render(exp)
	require.NoError(t, err)
	files2, err := report.Render(exp2)
	require.NoError(t, err)
	require.Len(t, files2, len(files))
	svgs := 0
	for i, f := range files {
		assert.True(t, bytes.Equal(f.Data, files2[i].Data), "%s depends on the number of workers", f.Name)
		if strings.HasPrefix(f.Name, "timeline-") && strings.HasSuffix(f.Name, ".svg") {
			svgs++
			assert.Contains(t, string(f.Data), "ejected hosts", f.Name)
		}
	}
	assert.Equal(t, 3, svgs)

	s := results.Summarize(exp)
	tl := s.Variants[0].Timeline
	require.NotNil(t, tl)
	assert.Equal(t, 1.0, tl.WindowS)
	assert.Equal(t, []results.FailureEvent{
		{Kind: "slow", Target: "slowsvc", FromS: 20, ToS: 40},
		{Kind: "errors", Target: "errsvc", FromS: 20, ToS: 40},
		{Kind: "errors", Target: "ejsvc[0]", FromS: 20, ToS: 40},
	}, tl.Events, "the events are the scenario's failures")
	require.Len(t, tl.Workloads, 3)
	slow, errs, ej := tl.Workloads[0], tl.Workloads[1], tl.Workloads[2]
	require.Equal(t, "w_slow", slow.Name)
	require.Len(t, slow.P99S, 60)

	// Window k is [k, k+1) s; the failures are on in windows 20 to 39.
	for k := range 60 {
		during, before := k >= 20 && k < 40, k < 20
		require.NotNil(t, slow.P99S[k], "window %d", k)
		require.NotNil(t, errs.ErrorRate[k], "window %d", k)
		p99, rate := *slow.P99S[k], *errs.ErrorRate[k]
		switch {
		case during:
			// Service takes 50ms (and the queue grows): almost every
			// request completed in the window was served slow.
			assert.Greater(t, p99, 0.045, "p99 in window %d", k)
			assert.Greater(t, rate, 0.3, "error rate in window %d", k)
			assert.Less(t, rate, 0.7, "error rate in window %d", k)
		case before:
			assert.Less(t, p99, 0.030, "p99 in window %d", k)
			assert.Zero(t, rate, "error rate in window %d", k)
			assert.Zero(t, *ej.ErrorRate[k], "error rate of w_ej in window %d", k)
		}
		if before {
			assert.InDelta(t, 100, slow.ThroughputPerS[k], 40, "throughput in window %d", k)
		}
		if k > 20 && during {
			// Four slots of 50ms serve 80/s, less than the 100/s offered.
			assert.InDelta(t, 80, slow.ThroughputPerS[k], 5, "throughput in window %d", k)
		}
	}

	// The proxy in front of ejsvc ejects its failing host early in the
	// failure and for 30s: none before, about one from window 21 on.
	require.Len(t, tl.Sidecars, 1)
	assert.Equal(t, results.SidecarTimeline{Caller: "w_ej", Service: "ejsvc"}, results.SidecarTimeline{Caller: tl.Sidecars[0].Caller, Service: tl.Sidecars[0].Service})
	ejected := tl.Sidecars[0].EjectedHosts
	require.Len(t, ejected, 60)
	for k := range 20 {
		assert.Zero(t, ejected[k], "window %d", k)
	}
	assert.Greater(t, ejected[20], 0.5, "ejected within the first second of the failure")
	for k := 21; k < 40; k++ {
		assert.InDelta(t, 1, ejected[k], 1e-9, "window %d", k)
	}

	// Every ok request that completed during the run is in exactly one
	// window: with no warm-up and arrivals that never fall exactly on the
	// end, those are the requests counted ok.
	for _, v := range exp.Variants {
		for _, r := range v.Replications {
			for _, w := range r.Workloads {
				require.NotNil(t, w.Series)
				var ok int64
				for k := range w.Series.OK {
					ok += w.Series.OK[k]
				}
				assert.Equal(t, w.Outcomes.OK, ok, fmt.Sprintf("%s replication %d", w.Name, r.Index))
			}
		}
	}
}
