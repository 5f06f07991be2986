package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	doc := parseFile(t, "testdata/variants.yaml")
	base := doc.Scenario
	require.Len(t, base.Variants, 4)
	assert.Equal(t, []Override{{Path: "services.checkout.sidecar.lb.policy", Value: base.Variants[0].Set[0].Value, Line: 21, Col: 11}}, base.Variants[0].Set)

	res, err := doc.Expand()
	require.NoError(t, err)
	names := make([]string, len(res))
	for i, r := range res {
		names[i] = r.Name
		assert.NotSame(t, base, r.Scenario)
		assert.Nil(t, r.Scenario.Variants)
		assert.Equal(t, base.File, r.Scenario.File)
		assert.Equal(t, base.Name, r.Scenario.Name)
		assert.Equal(t, base.Seed, r.Scenario.Seed)
	}
	assert.Equal(t, []string{"round-robin", "random", "fast-payments", "constant"}, names)

	checkout := func(i int) Service { return res[i].Scenario.Services[0] }
	payments := func(i int) Service { return res[i].Scenario.Services[1] }

	// A missing sidecar: {lb: ...} is created on the way.
	assert.Equal(t, "round_robin", checkout(0).Sidecar.LB.Policy)
	assert.Equal(t, 5, checkout(0).Replicas)
	assert.Equal(t, "random", checkout(1).Sidecar.LB.Policy)
	assert.Equal(t, 6, checkout(1).Replicas)

	// Setting a field of an aliased spec changes that use only.
	assert.Equal(t, Duration(10*time.Millisecond), payments(2).ServiceTime.Mean)
	assert.Equal(t, Duration(20*time.Millisecond), checkout(2).ServiceTime.Mean)
	assert.Equal(t, Duration(120*time.Millisecond), payments(2).ServiceTime.P99, "the rest of the alias is kept")
	// p99.9 is one key, not p99 then 9.
	assert.Equal(t, []Percentile{{0.5, Duration(time.Millisecond)}, {0.999, Duration(12 * time.Millisecond)}},
		res[2].Scenario.Services[2].ServiceTime.Percentiles)

	// A whole value replaced, with positions pointing at the override.
	st := checkout(3).ServiceTime
	assert.Equal(t, "constant", st.Dist)
	assert.Equal(t, Duration(2*time.Millisecond), st.Value)
	assert.Equal(t, map[string]bool{"dist": true, "value": true}, st.Has)
	assert.Equal(t, 31, st.Line)
	assert.Equal(t, Rate(1000), res[3].Scenario.Workloads[0].Arrival.Rate)

	// The original is untouched, and expanding again gives the same.
	assert.Equal(t, "round_robin", base.Services[0].Sidecar.LB.Policy)
	assert.Equal(t, 5, base.Services[0].Replicas)
	assert.Equal(t, Duration(20*time.Millisecond), base.Services[1].ServiceTime.Mean)
	again, err := doc.Expand()
	require.NoError(t, err)
	assert.Equal(t, res, again)
	assert.NotSame(t, res[0].Scenario, again[0].Scenario)
}

func TestExpandErrors(t *testing.T) {
	const head = `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 1ms}
variants:
`
	tests := []struct {
		name     string
		variants string
		want     string
	}{
		{
			name:     "value out of range points at the override",
			variants: "  - {name: none, set: {services.checkout.replicas: 0}}\n",
			want:     "v.yaml:8:52: variant none: services[0].replicas: must be between 1 and 100000, got 0",
		},
		{
			name:     "misspelt field inside the path",
			variants: "  - {name: x, set: {services.checkout.sidcar.lb.policy: random}}\n",
			want:     `v.yaml:8:21: variant x: services[0].sidcar: unknown field "sidcar"; did you mean "sidecar"?`,
		},
		{
			name:     "path through a scalar",
			variants: "  - {name: x, set: {services.checkout.service_time.value.ms: 1}}\n",
			want:     "v.yaml:8:21: variants[0].set.services.checkout.service_time.value.ms: cannot set services.checkout.service_time.value.ms: services.checkout.service_time.value is string \"1ms\", not a mapping",
		},
		{
			name:     "entry name without any close match",
			variants: "  - {name: x, set: {services.zzz.replicas: 2}}\n",
			want:     `v.yaml:8:21: variants[0].set.services.zzz.replicas: services has no entry named "zzz"; names are checkout`,
		},
		{
			name:     "duplicate variant names",
			variants: "  - {name: a, set: {}}\n  - {name: a, set: {}}\n",
			want:     "v.yaml:9:12: variants[1].name: duplicate variant name \"a\"; first defined at line 8",
		},
		{
			name:     "missing variant name",
			variants: "  - set: {services.checkout.replicas: 2}\n",
			want:     "v.yaml:8:5: variants[0].name: missing required field",
		},
		{
			name:     "empty path segment",
			variants: "  - {name: a, set: {services..replicas: 2}}\n",
			want:     `v.yaml:8:21: variants[0].set.services..replicas: invalid path "services..replicas"; write dotted field names, e.g. services.checkout.sidecar.lb.policy`,
		},
		{
			name:     "variants defining the experiment",
			variants: "  - {name: a, set: {duration: 2m, replications: 3, variants: []}}\n",
			want: `v.yaml:8:21: variants[0].set.duration: a variant cannot set duration; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy
v.yaml:8:35: variants[0].set.replications: a variant cannot set replications; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy
v.yaml:8:52: variants[0].set.variants: a variant cannot set variants; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy`,
		},
		{
			name:     "set is not a mapping",
			variants: "  - {name: a, set: [services.checkout.replicas]}\n",
			want:     "v.yaml:8:20: variants[0].set: expected a mapping of field paths to values, got a list; e.g. set: {services.checkout.sidecar.lb.policy: random}",
		},
		{
			name:     "variant breaking a reference",
			variants: "  - {name: rename, set: {services.checkout.name: shop}}\n",
			want:     `v.yaml:3:57: variant rename: workloads[0].target: unknown service "checkout"; services are shop`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("v.yaml", []byte(head+tc.variants))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestExpandWarnings(t *testing.T) {
	src := `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 5ms}
variants:
  - {name: ok, set: {}}
  - {name: slow, set: {services.checkout.service_time.value: 20ms}}
`
	doc, err := Parse("w.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"w.yaml:5:5: variant slow: services[0]: warning: offered load 100/s is at or above capacity 50/s (utilisation 2.00) and the queue is unbounded, so waiting times grow for as long as the run lasts; add replicas or concurrency, or bound the queue",
	}, doc.Warnings)
}

func TestSplitOverridePath(t *testing.T) {
	for in, want := range map[string][]string{
		"services.a.replicas":           {"services", "a", "replicas"},
		"services.a.service_time.p99.9": {"services", "a", "service_time", "p99.9"},
		"services.a.service_time.p999":  {"services", "a", "service_time", "p999"},
		"services.a.service_time.p99.x": {"services", "a", "service_time", "p99", "x"},
		"duration":                      {"duration"},
		"a..b":                          {"a", "", "b"},
	} {
		assert.Equal(t, want, splitOverridePath(in), in)
	}
}

func TestExpandWarningsNotRepeated(t *testing.T) {
	src := `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 20ms}
variants:
  - {name: a, set: {services.checkout.sidecar.lb.policy: random}}
  - {name: b, set: {services.checkout.replicas: 2}}
`
	doc, err := Parse("w.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"w.yaml:5:5: services[0]: warning: offered load 100/s is at or above capacity 50/s (utilisation 2.00) and the queue is unbounded, so waiting times grow for as long as the run lasts; add replicas or concurrency, or bound the queue",
		"w.yaml:5:5: variant b: services[0]: warning: offered load 100/s is at or above capacity 100/s (utilisation 1.00) and the queue is unbounded, so waiting times grow for as long as the run lasts; add replicas or concurrency, or bound the queue",
	}, doc.Warnings)
}

func TestExpandChangesOnlyThePathNamed(t *testing.T) {
	src := `version: 1
duration: 1m
workloads: [{name: w, arrival: {rate: 1/s}, target: s}]
services:
  - &s {name: s, replicas: 2, service_time: &st {dist: constant, value: 1ms}}
  - {<<: *s, name: t}
  - {name: u, service_time: *st}
variants:
  - name: v
    set:
      services.s.replicas: 3
      services.s.service_time.value: 5ms
      services.t.service_time.value: 7ms
`
	doc, err := Parse("a.yaml", []byte(src))
	require.NoError(t, err)
	res, err := doc.Expand()
	require.NoError(t, err)
	svcs := res[0].Scenario.Services
	assert.Equal(t, []int{3, 2, 1}, []int{svcs[0].Replicas, svcs[1].Replicas, svcs[2].Replicas})
	assert.Equal(t, []Duration{Duration(5 * time.Millisecond), Duration(7 * time.Millisecond), Duration(time.Millisecond)},
		[]Duration{svcs[0].ServiceTime.Value, svcs[1].ServiceTime.Value, svcs[2].ServiceTime.Value})
}

func TestExpandSelfReferentialAlias(t *testing.T) {
	src := `version: 1
duration: 1m
workloads: [{name: w, arrival: {rate: 1/s}, target: s}]
services: [{name: s, service_time: {dist: constant, value: 1ms}}]
variants:
  - {name: v, set: {services.s.sidecar: &a [*a]}}
`
	_, err := Parse("a.yaml", []byte(src))
	require.Error(t, err)
	assert.Equal(t, "a.yaml:6:5: variants[0]: the variants and sweep points expand to more than 5000000 nodes or nest more than 64 deep; use fewer variants or sweep points, or split the file", err.Error())
}
