package scenarios

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/meshsim/meshsim/results"
)

// resultPoint converts a Resolved's sweep point for the results, with each
// value as a number where it is one: a rate in events per second, a
// duration in seconds, a percentage in percent, or a plain number.
func resultPoint(r Resolved) []results.PointValue {
	if r.Point == nil {
		return nil
	}
	out := make([]results.PointValue, len(r.Point))
	for i, pv := range r.Point {
		x, unit, ok := numericValue(pv.Value)
		out[i] = results.PointValue{Path: pv.Path, Label: pv.Label, Value: pv.Value, X: x, Unit: unit, Numeric: ok}
	}
	return out
}

// numericValue reads a sweep value as a number: 800/s and 50/ms as events
// per second (unit "/s"), 250ms as seconds ("s"), 25% as 25 ("%"), and 3
// or 0.5 as themselves (""). It reports false for anything else, such as
// a policy name.
func numericValue(v string) (x float64, unit string, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, "", false
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64); err == nil && finite(f) {
		return f, "", true
	}
	if num, ok := strings.CutSuffix(v, "%"); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(num), 64); err == nil && finite(f) {
			return f, "%", true
		}
		return 0, "", false
	}
	if strings.Contains(v, "/") {
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if r, ok := newDecoder(newSink(""), "").rate(n, ""); ok {
			return float64(r), "/s", true
		}
		return 0, "", false
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d.Seconds(), "s", true
	}
	return 0, "", false
}
