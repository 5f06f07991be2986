package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim/stats"
)

func TestWarmupLine(t *testing.T) {
	ok := &results.WarmupCheckSummary{DetectedS: 5, Batches: 24, TruncatedBatches: 1, SearchedS: 120}
	short := func(detectedS float64) *results.WarmupCheckSummary {
		return &results.WarmupCheckSummary{DetectedS: detectedS, TooShort: true, BiasS: -0.0031, StdErrS: 0.0004, Batches: 24, SearchedS: 120}
	}
	limit := short(55)
	limit.AtLimit = true
	summary := func(checks ...[2]*results.WarmupCheckSummary) *results.Summary {
		s := &results.Summary{WarmupS: 5}
		for i, c := range checks {
			s.Variants = append(s.Variants, results.VariantSummary{Name: []string{"round-robin", "random", "p2c"}[i],
				Workloads: []results.WorkloadSummary{{Name: "web", WarmupCheck: c[0]}, {Name: "batch", WarmupCheck: c[1]}}})
		}
		return s
	}
	tests := []struct {
		name string
		s    *results.Summary
		want string
		warn bool
	}{
		{"nothing checked", summary([2]*results.WarmupCheckSummary{}), "", false},
		{"warm-up long enough", summary([2]*results.WarmupCheckSummary{ok, nil}, [2]*results.WarmupCheckSummary{ok, ok}),
			"warm-up check (MSER-5 on the per-window mean latency): no sign that warmup 5s is too short", false},
		{"one too short", summary([2]*results.WarmupCheckSummary{ok, nil}, [2]*results.WarmupCheckSummary{short(14), ok}),
			"warm-up looks too short: web's latency settles at ~14s in variant random (MSER-5 on the per-window means), " +
				"later than warmup 5s, which leaves its mean off by 3.10 ms (standard error 0.400 ms); consider warmup: 15s", true},
		{
			// The latest is named; the first of equal ones.
			"several too short",
			summary([2]*results.WarmupCheckSummary{short(20), short(90)}, [2]*results.WarmupCheckSummary{short(90), ok}, [2]*results.WarmupCheckSummary{ok, ok}),
			"warm-up looks too short: batch's latency settles at ~1m30s in variant round-robin (MSER-5 on the per-window means), " +
				"later than warmup 5s, which leaves its mean off by 3.10 ms (standard error 0.400 ms); consider warmup: 1m30s " +
				"(3 of 6 variant/workload pairs checked are affected)", true,
		},
		{"not settled within the search", summary([2]*results.WarmupCheckSummary{limit, nil}),
			"warm-up looks too short: web's latency in variant round-robin has not settled by ~55s, where MSER-5 " +
				"(on the per-window means) stops searching, halfway through the series; later than warmup 5s, which leaves " +
				"its mean off by 3.10 ms (standard error 0.400 ms); consider a longer duration and warmup: 55s or more", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, warn := WarmupLine(tc.s)
			assert.Equal(t, tc.want, line)
			assert.Equal(t, tc.warn, warn)
		})
	}
}

func TestRoundUp(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, 0},
		{14 * time.Second, 15 * time.Second},
		{15 * time.Second, 15 * time.Second},
		{31 * time.Second, 35 * time.Second},
		{600 * time.Second, 600 * time.Second},
		{1234 * time.Second, 1500 * time.Second},
		{1500 * time.Millisecond, 1500 * time.Millisecond},
		{1501 * time.Millisecond, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.in.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, roundUp(tc.in))
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"}, {15 * time.Second, "15s"}, {90 * time.Second, "1m30s"}, {10 * time.Minute, "10m"},
		{2 * time.Hour, "2h"}, {65 * time.Minute, "1h5m"}, {500 * time.Millisecond, "500ms"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, durationString(tc.in))
		})
	}
}

// warmupExperiment is testExperiment with a warm-up of 5s, no failures
// and web's timeline in 60 windows of 1s: under round-robin 100 ms in
// the first 14 windows then (10 + k mod 3) ms, under p2c (8 + k mod 3) ms
// throughout, or 100 ms for the first 14 windows too when transient.
func warmupExperiment(p2cTransient bool) *results.Experiment {
	e := testExperiment()
	e.Warmup = 5 * time.Second
	series := func(slow bool) *results.Series {
		s := &results.Series{Width: time.Second, End: 60 * time.Second}
		for k := range 60 {
			ms := int64(10 + k%3)
			if slow && k < 14 {
				ms = 100
			}
			h := stats.NewHistogram()
			h.RecordN(ms*msNs, 10)
			b, err := h.MarshalBinary()
			if err != nil {
				panic(err)
			}
			s.OK, s.NotOK, s.Latency = append(s.OK, 10), append(s.NotOK, 0), append(s.Latency, b)
		}
		return s
	}
	for v := range e.Variants {
		for r := range e.Variants[v].Replications {
			rep := &e.Variants[v].Replications[r]
			rep.Failures = nil
			rep.Workloads[0].Series = series(v == 0 || p2cTransient)
		}
	}
	return e
}

func TestWarmupWarningNearTheTop(t *testing.T) {
	files := render(t, warmupExperiment(false))
	const want = "warm-up looks too short: web's latency settles at ~15s in variant round-robin " +
		"(MSER-5 on the per-window means), later than warmup 5s"

	md := string(files[ReportMarkdown])
	i := strings.Index(md, "**"+want)
	require.GreaterOrEqual(t, i, 0, "report.md has no warning:\n%s", md[:min(len(md), 2000)])
	assert.Less(t, i, strings.Index(md, "\n## "), "the warning comes before the first section")
	assert.Contains(t, md, "consider warmup: 15s**\n")

	html := string(files[ReportHTML])
	header := html[strings.Index(html, "<header>"):strings.Index(html, "</header>")]
	assert.Contains(t, header, "<p class=\"meta\"><strong>"+strings.ReplaceAll(want, "'", "&#39;"))

	var s results.Summary
	require.NoError(t, json.Unmarshal(files[SummaryJSON], &s))
	c := s.Variants[0].Workloads[0].WarmupCheck
	require.NotNil(t, c, "summary.json has web's warmup_check")
	assert.True(t, c.TooShort)
	assert.Equal(t, 15.0, c.DetectedS)
	assert.Nil(t, s.Variants[0].Workloads[1].WarmupCheck, "batch completes nothing: no series, no check")
	require.NotNil(t, s.Variants[1].Workloads[0].WarmupCheck)
	assert.False(t, s.Variants[1].Workloads[0].WarmupCheck.TooShort)
}

func TestWarmupNote(t *testing.T) {
	t.Run("no transient", func(t *testing.T) {
		e := warmupExperiment(false)
		e.Warmup = 15 * time.Second
		files := render(t, e)
		const note = "warm-up check (MSER-5 on the per-window mean latency): no sign that warmup 15s is too short"
		assert.Contains(t, string(files[ReportMarkdown]), "\n"+note+"\n")
		assert.NotContains(t, string(files[ReportMarkdown]), "warm-up looks too short")
		assert.Contains(t, string(files[ReportHTML]), "<p class=\"meta\">"+note+"</p>")
	})
	t.Run("too few windows", func(t *testing.T) {
		files := render(t, testExperiment())
		assert.NotContains(t, string(files[ReportMarkdown]), "warm-up check")
		assert.NotContains(t, string(files[ReportMarkdown]), "warm-up looks")
		assert.NotContains(t, string(files[ReportHTML]), "warm-up check")
	})
	t.Run("two variants too short", func(t *testing.T) {
		line, warn := WarmupLine(results.Summarize(warmupExperiment(true)))
		assert.True(t, warn)
		assert.Contains(t, line, "in variant round-robin")
		assert.Contains(t, line, "(2 of 2 variant/workload pairs checked are affected)")
	})
}
