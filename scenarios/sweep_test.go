package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

const sweepHead = `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services:
  - name: api
    service_time: {dist: constant, value: 1ms}
`

func TestSweepExpandsVariantsTimesGrid(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(sweepHead+`variants:
  - {name: rr, set: {services.api.sidecar.lb.policy: round_robin}}
  - {name: p2c, set: {services.api.sidecar.lb.policy: least_request}}
sweep:
  workloads.web.arrival.rate: [200/s, 400/s]
  services.api.service_time: [{dist: constant, value: 2ms}, {dist: exponential, mean: 3ms}, {dist: constant, value: 4ms}]
`))
	require.NoError(t, err)
	res, err := doc.Expand()
	require.NoError(t, err)
	require.Len(t, res, 2*2*3)

	var names []string
	for _, r := range res {
		names = append(names, r.Name)
		assert.Nil(t, r.Scenario.Sweep)
		assert.Nil(t, r.Scenario.Variants)
	}
	assert.Equal(t, []string{
		"rr rate=200/s service_time={dist: constant, value: 2ms}",
		"rr rate=200/s service_time={dist: exponential, mean: 3ms}",
		"rr rate=200/s service_time={dist: constant, value: 4ms}",
		"rr rate=400/s service_time={dist: constant, value: 2ms}",
		"rr rate=400/s service_time={dist: exponential, mean: 3ms}",
		"rr rate=400/s service_time={dist: constant, value: 4ms}",
		"p2c rate=200/s service_time={dist: constant, value: 2ms}",
		"p2c rate=200/s service_time={dist: exponential, mean: 3ms}",
		"p2c rate=200/s service_time={dist: constant, value: 4ms}",
		"p2c rate=400/s service_time={dist: constant, value: 2ms}",
		"p2c rate=400/s service_time={dist: exponential, mean: 3ms}",
		"p2c rate=400/s service_time={dist: constant, value: 4ms}",
	}, names, "variants in file order, then the grid with the last path fastest")

	// Each copy has its variant's and its point's values, and nothing else
	// changed.
	r := res[10] // p2c, 400/s, exponential 3ms
	assert.Equal(t, "p2c", r.Variant)
	assert.Equal(t, []PointValue{
		{Path: "workloads.web.arrival.rate", Label: "rate", Value: "400/s"},
		{Path: "services.api.service_time", Label: "service_time", Value: "{dist: exponential, mean: 3ms}"},
	}, r.Point)
	assert.Equal(t, "least_request", r.Scenario.Services[0].Sidecar.LB.Policy)
	assert.Equal(t, Rate(400), r.Scenario.Workloads[0].Arrival.Rate)
	assert.Equal(t, "exponential", r.Scenario.Services[0].ServiceTime.Dist)
	assert.Equal(t, Duration(3*time.Millisecond), r.Scenario.Services[0].ServiceTime.Mean)
	assert.Equal(t, "round_robin", res[0].Scenario.Services[0].Sidecar.LB.Policy)
	assert.Equal(t, Rate(200), res[0].Scenario.Workloads[0].Arrival.Rate)
	assert.Equal(t, Rate(100), doc.Scenario.Workloads[0].Arrival.Rate, "the document itself is untouched")
}

func TestSweepWithoutVariants(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(sweepHead+"sweep: {workloads.web.arrival.rate: [1/ms, 2/ms], services.api.replicas: [1, 2]}\n"))
	require.NoError(t, err)
	res, err := doc.Expand()
	require.NoError(t, err)
	var names []string
	for _, r := range res {
		names = append(names, r.Name)
		assert.Equal(t, "baseline", r.Variant)
	}
	assert.Equal(t, []string{"rate=1/ms replicas=1", "rate=1/ms replicas=2", "rate=2/ms replicas=1", "rate=2/ms replicas=2"}, names)
	assert.Equal(t, 2, res[3].Scenario.Services[0].Replicas)
	assert.Equal(t, Rate(2000), res[3].Scenario.Workloads[0].Arrival.Rate)
}

func TestSweepLabelsKeepPathsApartWhenTheyShareALastName(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(`version: 1
duration: 1m
workloads:
  - {name: a, arrival: {rate: 100/s}, target: api}
  - {name: b, arrival: {rate: 100/s}, target: api}
services: [{name: api, service_time: {dist: constant, value: 1ms}}]
sweep: {workloads.a.arrival.rate: [1/s], workloads.b.arrival.rate: [2/s]}
`))
	require.NoError(t, err)
	res, err := doc.Expand()
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "workloads.a.arrival.rate=1/s workloads.b.arrival.rate=2/s", res[0].Name)
}

func TestSweepErrors(t *testing.T) {
	tests := []struct {
		name, tail, want string
	}{
		{
			name: "a bad value points at the value, named by its point",
			tail: "sweep: {workloads.web.arrival.rate: [200/s, -3/s]}\n",
			want: "s.yaml:7:45: sweep point rate=-3/s: workloads[0].arrival.rate: rate must be positive, got -3/s",
		},
		{
			name: "a bad value in a variant's copy names the variant and point",
			tail: "variants: [{name: v, set: {}}]\nsweep: {services.api.replicas: [0]}\n",
			want: "s.yaml:8:33: variant v replicas=0: services[0].replicas: must be between 1 and 100000, got 0",
		},
		{
			name: "values are a list",
			tail: "sweep: {workloads.web.arrival.rate: 200/s}\n",
			want: "s.yaml:7:37: sweep.workloads.web.arrival.rate: expected a non-empty list of the values workloads.web.arrival.rate takes, got string \"200/s\"; e.g. sweep: {workloads.web.arrival.rate: [400/s, 600/s, 800/s]}",
		},
		{
			name: "an empty list",
			tail: "sweep: {workloads.web.arrival.rate: []}\n",
			want: "s.yaml:7:37: sweep.workloads.web.arrival.rate: expected a non-empty list of the values workloads.web.arrival.rate takes, got an empty list; e.g. sweep: {workloads.web.arrival.rate: [400/s, 600/s, 800/s]}",
		},
		{
			name: "sweep is a mapping",
			tail: "sweep: [workloads.web.arrival.rate]\n",
			want: "s.yaml:7:8: sweep: expected a mapping of field paths to lists of values, got a list; e.g. sweep: {workloads.web.arrival.rate: [400/s, 600/s, 800/s]}",
		},
		{
			name: "an experiment field",
			tail: "sweep: {duration: [1m, 2m]}\n",
			want: "s.yaml:7:9: sweep.duration: a sweep cannot set duration; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment; sweep a scenario field such as a rate or a policy setting",
		},
		{
			name: "a path a variant sets too",
			tail: "variants: [{name: v, set: {services.api.replicas: 2}}]\nsweep: {services.api.replicas: [1, 3]}\n",
			want: "s.yaml:8:9: sweep.services.api.replicas: variant v sets services.api.replicas too; remove it from the variant, or sweep it in the variant's place",
		},
		{
			name: "a misspelt field in the path",
			tail: "sweep: {workloads.web.arival.rate: [1/s]}\n",
			want: `s.yaml:7:9: sweep point rate=1/s: workloads[0].arival: unknown field "arival"; did you mean "arrival"?`,
		},
		{
			name: "too many points",
			tail: "sweep: {services.api.replicas: [" + repeatList("1", 40) + "], services.api.concurrency: [" + repeatList("1", 30) + "]}\n",
			want: "s.yaml:7:1: sweep: the sweep has more than 1000 points; sweep fewer values, or split the sweep over several files",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(sweepHead+tc.tail))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func repeatList(v string, n int) string {
	s := v
	for range n - 1 {
		s += ", " + v
	}
	return s
}

func TestNumericValue(t *testing.T) {
	tests := []struct {
		in   string
		x    float64
		unit string
		ok   bool
	}{
		{"800/s", 800, "/s", true},
		{"3/ms", 3000, "/s", true},
		{"120/min", 2, "/s", true},
		{"250ms", 0.25, "s", true},
		{"2m", 120, "s", true},
		{"25%", 25, "%", true},
		{"4", 4, "", true},
		{"0.5", 0.5, "", true},
		{"least_request", 0, "", false},
		{"{dist: constant, value: 2ms}", 0, "", false},
		{"3/fortnight", 0, "", false},
		{"x%", 0, "", false},
		{"NaN", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			x, unit, ok := numericValue(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.InDelta(t, tc.x, x, 1e-9)
			assert.Equal(t, tc.unit, unit)
		})
	}
}

// TestSweepRun runs a small sweep and checks that the results carry each
// point, that each point ran at its own rate, and that the paired
// differences pair variants at the same point.
func TestSweepRun(t *testing.T) {
	doc, err := Parse("s.yaml", []byte(`version: 1
duration: 20s
warmup: 2s
replications: 2
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services:
  - {name: api, replicas: 2, service_time: {dist: exponential, mean: 5ms}, sidecar: {preset: envoy}}
variants:
  - {name: random, set: {services.api.sidecar.lb.policy: random}}
  - {name: p2c, set: {services.api.sidecar.lb.policy: least_request}}
sweep: {workloads.web.arrival.rate: [100/s, 300/s]}
`))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 2})
	require.NoError(t, err)
	require.Len(t, exp.Variants, 4)
	v := exp.Variants[1]
	assert.Equal(t, "random rate=300/s", v.Name)
	assert.Equal(t, "random", v.Base)
	assert.Equal(t, []results.PointValue{{Path: "workloads.web.arrival.rate", Label: "rate", Value: "300/s", X: 300, Unit: "/s", Numeric: true}}, v.Point)

	s := results.Summarize(exp)
	for i, want := range []float64{100, 300, 100, 300} {
		tp := s.Variants[i].Workloads[0].ThroughputPerS
		require.NotNil(t, tp)
		assert.InDelta(t, want, tp.Mean, want*0.05, "variant %s", s.Variants[i].Name)
	}
	var pairs [][2]string
	for _, c := range s.Comparisons {
		pairs = append(pairs, [2]string{c.Variant, c.Baseline})
	}
	assert.Equal(t, [][2]string{{"p2c rate=100/s", "random rate=100/s"}, {"p2c rate=300/s", "random rate=300/s"}}, pairs)
}
