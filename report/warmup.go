package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meshsim/meshsim/results"
)

// WarmupLine says in one line what the warm-up check of s found
// (results.DetectWarmup, docs/summary.md): when some variant's workload
// has a warm-up too short (warn), a warning that names the one that
// settles last, with a warm-up to try; otherwise a short note that none
// has. It is "" when no workload was checked (too few windows). Variants
// are taken in order, then workloads; the first of equal truncation
// points is named.
func WarmupLine(s *results.Summary) (line string, warn bool) {
	var worst *results.WarmupCheckSummary
	var where, workload string
	checked, short := 0, 0
	for _, v := range s.Variants {
		for _, w := range v.Workloads {
			c := w.WarmupCheck
			if c == nil {
				continue
			}
			checked++
			if !c.TooShort {
				continue
			}
			short++
			if worst == nil || c.DetectedS > worst.DetectedS {
				worst, where, workload = c, v.Name, w.Name
			}
		}
	}
	warmup := durationString(seconds(s.WarmupS))
	if worst == nil {
		if checked == 0 {
			return "", false
		}
		return "warm-up check (MSER-5 on the per-window mean latency): no sign that warmup " + warmup + " is too short", false
	}
	detected := seconds(worst.DetectedS)
	off := "which leaves its mean off by " + sig3(math.Abs(worst.BiasS)*1000) + " ms (standard error " +
		sig3(worst.StdErrS*1000) + " ms)"
	if worst.AtLimit {
		line = "warm-up looks too short: " + workload + "'s latency in variant " + where + " has not settled by ~" +
			durationString(detected) + ", where MSER-5 (on the per-window means) stops searching, halfway through the series; " +
			"later than warmup " + warmup + ", " + off + "; consider a longer duration and warmup: " +
			durationString(roundUp(detected)) + " or more"
	} else {
		line = "warm-up looks too short: " + workload + "'s latency settles at ~" + durationString(detected) +
			" in variant " + where + " (MSER-5 on the per-window means), later than warmup " + warmup + ", " + off +
			"; consider warmup: " + durationString(roundUp(detected))
	}
	if short > 1 {
		line += " (" + strconv.Itoa(short) + " of " + plural(checked, "variant/workload pair") + " checked are affected)"
	}
	return line, true
}

// seconds converts seconds to a Duration, rounded to the nanosecond.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// durationString writes d as a scenario would: 15s, 1m30s, 2h (not
// 2h0m0s).
func durationString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// roundUp rounds d up to a multiple of half the largest power of ten of
// nanoseconds not above it: 14s to 15s, 31s to 35s, 600s to 600s, 1234s
// to 1500s. Integer arithmetic, so the same on every architecture.
func roundUp(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	p := time.Duration(1)
	for p <= d/10 {
		p *= 10
	}
	step := max(p/2, 1)
	return (d + step - 1) / step * step
}
