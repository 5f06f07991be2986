package scenarios

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	// The policies lb.Names returns; build.go imports them too.
	_ "github.com/meshsim/meshsim/models/lb/random"
	_ "github.com/meshsim/meshsim/models/lb/roundrobin"
)

// validYAML is a small valid scenario the tests take apart.
const validYAML = `version: 1
duration: 1m
workloads:
  - name: web
    arrival: {rate: 100/s}
    target: checkout
services:
  - name: checkout
    replicas: 2
    service_time: {dist: exponential, mean: 5ms}
`

// badCases are malformed scenarios with the exact errors Parse reports.
var badCases = []struct {
	name string
	yaml string
	want string
}{
	{
		name: "unknown top-level field with suggestion",
		yaml: `version: 1
duration: 1m
replication: 5
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:1: replication: unknown field "replication"; did you mean "replications"?`,
	},
	{
		name: "unknown top-level field without suggestion",
		yaml: `version: 1
duration: 1m
colour: blue
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:1: colour: unknown field "colour"; valid fields: bus, config_pushes, control_plane, deploys, description, duration, failures, limits, name, network, precision, random_failures, replications, report, seed, services, sweep, timeline, variants, version, warmup, workloads`,
	},
	{
		name: "unknown nested field",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    replica: 3
    service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:6:5: services[0].replica: unknown field "replica"; did you mean "replicas"?`,
	},
	{
		name: "string for an int",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    replicas: three
    service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:6:15: services[0].replicas: expected an integer, got string "three"`,
	},
	{
		name: "quoted int",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    concurrency: "8"
    service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:6:18: services[0].concurrency: expected an integer, got string "8"; remove the quotes`,
	},
	{
		name: "bad duration",
		yaml: `version: 1
duration: 10 minutes
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:2:11: duration: invalid duration "10 minutes"; write 250ms, 1.5s or 2m (units: ns, us, ms, s, m, h)`,
	},
	{
		name: "duration without unit",
		yaml: `version: 1
duration: 600
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:2:11: duration: duration 600 has no unit; write 250ms, 1.5s or 2m (units: ns, us, ms, s, m, h)`,
	},
	{
		name: "negative duration",
		yaml: `version: 1
duration: 1m
warmup: -5s
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:9: warmup: must not be negative, got -5s`,
	},
	{
		name: "rate without unit",
		yaml: `version: 1
duration: 1m
workloads:
  - name: web
    arrival: {rate: 800}
    target: checkout
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:5:21: workloads[0].arrival.rate: rate needs a unit, e.g. 800/s`,
	},
	{
		name: "negative rate",
		yaml: `version: 1
duration: 1m
workloads:
  - name: web
    arrival: {rate: -5/s}
    target: checkout
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:5:21: workloads[0].arrival.rate: rate must be positive, got -5/s`,
	},
	{
		name: "unknown distribution with suggestion",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time:
      dist: expo
      mean: 5ms
`,
		want: `bad.yaml:7:13: services[0].service_time.dist: unknown distribution "expo"; did you mean "exponential"?`,
	},
	{
		name: "poisson is not a service-time distribution",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {dist: poisson, rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:41: workloads[0].arrival.dist: unknown distribution "poisson"; a Poisson process has exponential inter-arrival times: write {rate: 800/s} or {dist: exponential, rate: 800/s}`,
	},
	{
		name: "missing dist parameter",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: erlang, k: 4}
`,
		want: `bad.yaml:6:19: services[0].service_time.mean: erlang needs mean`,
	},
	{
		name: "parameter the distribution does not take",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 5ms, mean: 5ms}
`,
		want: `bad.yaml:6:48: services[0].service_time.mean: constant does not take mean; constant takes value`,
	},
	{
		name: "unknown dist parameter",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: exponential, meen: 5ms}
`,
		want: `bad.yaml:6:39: services[0].service_time.meen: unknown parameter "meen"; did you mean "mean"?`,
	},
	{
		name: "lognormal with an impossible p99",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: lognormal, mean: 10ms, p99: 2s}
`,
		want: `bad.yaml:6:19: services[0].service_time: lognormal: p99 must be in (mean, 14.97*mean] = (10ms, 149.684884ms], got 2s`,
	},
	{
		name: "empirical with decreasing values",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time:
      dist: empirical
      p50: 10ms
      p90: 8ms
      p99.9: 50ms
`,
		want: `bad.yaml:9:12: services[0].service_time.p90: p90 8ms is below p50 10ms; values must not decrease as the percentile grows`,
	},
	{
		name: "same percentile twice",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: empirical, p999: 10ms, p99.9: 12ms}
`,
		want: `bad.yaml:6:49: services[0].service_time.p99.9: p99.9 is the same percentile as p999`,
	},
	{
		name: "missing target",
		yaml: `version: 1
duration: 1m
workloads:
  - name: web
    arrival: {rate: 100/s}
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:4:5: workloads[0].target: missing required field; name the service that receives the requests (or publish: a topic)`,
	},
	{
		name: "target typo with suggestion",
		yaml: `version: 1
duration: 1m
workloads:
  - name: web
    arrival: {rate: 100/s}
    target: chekout
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:6:13: workloads[0].target: unknown service "chekout"; did you mean "checkout"?`,
	},
	{
		name: "duplicate service names",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 1ms}
  - name: checkout
    service_time: {dist: constant, value: 2ms}
`,
		want: `bad.yaml:7:11: services[1].name: duplicate service name "checkout"; first defined at line 5`,
	},
	{
		name: "bad name characters",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: Check Out}]
services: [{name: Check Out, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:4:19: services[0].name: invalid name "Check Out"; use lowercase letters, digits, - and _, starting with a letter or digit, e.g. "check-out"`,
	},
	{
		name: "bad scenario name",
		yaml: `version: 1
name: Slow Pod!
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:2:7: name: invalid name "Slow Pod!"; use lowercase letters, digits, - and _, starting with a letter or digit, e.g. "slow-pod"`,
	},
	{
		name: "unknown failure kind",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, replicas: 3, service_time: {dist: constant, value: 1ms}}]
failures: [{at: 10s, kind: slo, target: checkout, factor: 2}]
`,
		want: `bad.yaml:5:28: failures[0].kind: unknown failure kind "slo"; did you mean "slow"?`,
	},
	{
		name: "failure on a missing instance",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, replicas: 3, service_time: {dist: constant, value: 1ms}}]
failures: [{at: 10s, kind: slow, target: "checkout[3]", factor: 2}]
`,
		want: `bad.yaml:5:42: failures[0].target: no instance checkout[3]; checkout has instances 0 to 2`,
	},
	{
		name: "slow without a factor",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
failures: [{at: 70s, kind: slow, target: checkout}]
`,
		want: "bad.yaml:5:12: failures[0].factor: slow needs a factor > 0, got 0; e.g. factor: 10 for ten times slower\nbad.yaml:5:17: failures[0].at: at 1m10s is not before the end of the run (1m0s)",
	},
	{
		name: "replicas 0",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    replicas: 0
    service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:6:15: services[0].replicas: must be between 1 and 100000, got 0`,
	},
	{
		name: "warmup not shorter than duration",
		yaml: `version: 1
duration: 1m
warmup: 60s
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:9: warmup: warmup 1m0s must be shorter than duration 1m0s`,
	},
	{
		name: "version 2",
		yaml: `version: 2
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:1:10: version: unsupported version 2; this meshsim reads version 1`,
	},
	{
		name: "missing version",
		yaml: `duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:1:1: version: missing required field; add "version: 1" at the top of the file`,
	},
	{
		name: "syntax error",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:1: syntax: did not find expected ',' or ']'`,
	},
	{
		name: "tab indentation",
		yaml: "version: 1\nduration: 1m\nworkloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]\nservices:\n  - name: checkout\n\tservice_time: {dist: constant, value: 1ms}\n",
		want: `bad.yaml:6:1: syntax: found a tab character that violates indentation; indent with spaces: YAML does not allow tabs in indentation`,
	},
	{
		name: "empty file",
		yaml: "",
		want: `bad.yaml:1:1: empty file; a scenario needs at least version, duration, workloads and services`,
	},
	{
		name: "comments only",
		yaml: "# nothing yet\n",
		want: `bad.yaml:1:1: empty file; a scenario needs at least version, duration, workloads and services`,
	},
	{
		name: "unknown lb policy with suggestion",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 1ms}
    sidecar: {lb: {policy: roundrobin}}
`,
		want: `bad.yaml:7:28: services[0].sidecar.lb.policy: unknown load-balancing policy "roundrobin"; did you mean "round_robin"?`,
	},
	{
		name: "variant overriding an unknown service",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
variants:
  - name: more
    set: {services.chekout.replicas: 4}
`,
		want: `bad.yaml:7:11: variants[0].set.services.chekout.replicas: services has no entry named "chekout"; did you mean "checkout"?`,
	},
	{
		name: "variant setting seed",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
variants:
  - name: lucky
    set:
      seed: 7
`,
		want: `bad.yaml:8:7: variants[0].set.seed: a variant cannot set seed; variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy`,
	},
	{
		name: "variant setting an invalid value",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
variants:
  - name: p2c
    set: {services.checkout.sidecar.lb.policy: least_requets}
`,
		want: `bad.yaml:7:48: variant p2c: services[0].sidecar.lb.policy: unknown load-balancing policy "least_requets"; did you mean "least_request"?`,
	},
	{
		name: "queue infinite",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    queue: infinite
    service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:6:12: services[0].queue: invalid queue "infinite"; did you mean "unbounded"?`,
	},
	{
		name: "list where a mapping was expected",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: constant, value: 1ms}
    sidecar:
      - lb: {policy: random}
`,
		want: `bad.yaml:8:7: services[0].sidecar: expected a mapping, got a list`,
	},
	{
		name: "mapping where a list was expected",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  name: checkout
  service_time: {dist: constant, value: 1ms}
`,
		want: `bad.yaml:5:3: services: expected a list, got a mapping; start each entry on its own line with "- "`,
	},
	{
		name: "no services",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
`,
		want: `bad.yaml:1:1: services: missing required field`,
	},
	{
		name: "duplicate field",
		yaml: `version: 1
duration: 1m
duration: 2m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services: [{name: checkout, service_time: {dist: constant, value: 1ms}}]
`,
		want: `bad.yaml:3:1: duration: duplicate field "duration"; first given at line 2`,
	},
	{
		name: "not a mapping",
		yaml: "- version: 1\n",
		want: `bad.yaml:1:1: expected a mapping of scenario fields, got a list`,
	},
	{
		name: "two documents",
		yaml: validYAML + "---\nversion: 1\n",
		want: `bad.yaml:12:1: a second YAML document; a scenario file holds one document; remove the --- separator or split the file`,
	},
	{
		name: "hyperexponential scv below 1",
		yaml: `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: checkout}]
services:
  - name: checkout
    service_time: {dist: hyperexponential, mean: 5ms, scv: 0.5}
`,
		want: `bad.yaml:6:60: services[0].service_time.scv: scv must be at least 1, got 0.5; for less variable times use erlang, whose scv is 1/k`,
	},
	{
		name: "several errors in position order",
		yaml: `version: 3
duration: 1m
workloads:
  - name: web
    arrival: {rate: 100}
    target: checkout
services:
  - name: checkout
    replicas: -1
    service_time: {dist: uniform, min: 9ms, max: 1ms}
`,
		want: `bad.yaml:1:10: version: unsupported version 3; this meshsim reads version 1
bad.yaml:5:21: workloads[0].arrival.rate: rate needs a unit, e.g. 100/s
bad.yaml:9:15: services[0].replicas: must be between 1 and 100000, got -1
bad.yaml:10:40: services[0].service_time.min: min 9ms is greater than max 1ms`,
	},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("bad.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Nil(t, doc)
			assert.Equal(t, tc.want, err.Error())
			assert.ErrorIs(t, err, ErrInvalid)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			require.NotEmpty(t, list)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, list[0], e)
			assert.Equal(t, "bad.yaml", e.File)
			assert.Positive(t, e.Line)
			assert.Positive(t, e.Col)
		})
	}
}

// decodeScalar decodes the YAML text of one value into a T with a fresh
// decoder and returns it with the errors, as MSG|HINT.
func decodeScalar[T any](t *testing.T, text string) (T, []string) {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("v: "+text+"\n"), &doc))
	sk := newSink("t.yaml")
	d := newDecoder(sk, "")
	var v T
	d.value(doc.Content[0].Content[1], reflect.ValueOf(&v).Elem(), "v")
	var msgs []string
	for _, e := range sk.errs {
		msgs = append(msgs, e.Msg+"|"+e.Hint)
	}
	return v, msgs
}

func TestDecodeDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"250ms":    250 * time.Millisecond,
		"1.5s":     1500 * time.Millisecond,
		"2m":       2 * time.Minute,
		"1h30m":    90 * time.Minute,
		"0":        0,
		"0.0":      0,
		"0s":       0,
		`"10us"`:   10 * time.Microsecond,
		"1h0m0s":   time.Hour,
		" 5s":      5 * time.Second,
		"100ns":    100,
		"1.5µs":    1500,
		"2562047h": 2562047 * time.Hour,
	}
	for in, want := range ok {
		got, errs := decodeScalar[Duration](t, in)
		assert.Empty(t, errs, in)
		assert.Equal(t, Duration(want), got, in)
	}
	bad := map[string]string{
		"250":      "duration 250 has no unit|" + durationHint,
		"1.5":      "duration 1.5 has no unit|" + durationHint,
		"-3":       "must not be negative, got -3|",
		"-1s":      "must not be negative, got -1s|",
		"1d":       `invalid duration "1d"|` + durationHint,
		"fast":     `invalid duration "fast"|` + durationHint,
		"[1s]":     "expected a duration, got a list|" + durationHint,
		"true":     "expected a duration, got boolean true|" + durationHint,
		"9999999h": `invalid duration "9999999h"|` + durationHint,
	}
	for in, want := range bad {
		_, errs := decodeScalar[Duration](t, in)
		assert.Equal(t, []string{want}, errs, in)
	}
}

func TestDecodeRate(t *testing.T) {
	ok := map[string]float64{
		"800/s":    800,
		"50/ms":    50_000,
		"3000/min": 50,
		"2/h":      2.0 / 3600,
		"0.5/s":    0.5,
		"1_000/s":  1000,
		"3/us":     3e6,
		"1 / s":    1,
	}
	for in, want := range ok {
		got, errs := decodeScalar[Rate](t, in)
		assert.Empty(t, errs, in)
		assert.InDelta(t, want, float64(got), want*1e-12, in)
	}
	bad := map[string]string{
		"800":      "rate needs a unit, e.g. 800/s|",
		`"800"`:    "rate needs a unit, e.g. 800/s|",
		"0/s":      "rate must be positive, got 0/s|",
		"-2/s":     "rate must be positive, got -2/s|",
		"-2":       "rate must be positive, got -2|",
		"5/m":      `unknown rate unit "/m"|write /min for per minute or /ms for per millisecond`,
		"5/day":    `unknown rate unit "/day"|` + rateHint,
		"fast/s":   `invalid rate "fast/s"|` + rateHint,
		"NaN/s":    `invalid rate "NaN/s"|` + rateHint,
		"1e309/s":  `invalid rate "1e309/s"|` + rateHint,
		"1e308/us": "rate 1e308/us is too large|",
		"{a: 1}":   "expected a rate, got a mapping|" + rateHint,
	}
	for in, want := range bad {
		_, errs := decodeScalar[Rate](t, in)
		assert.Equal(t, []string{want}, errs, in)
	}
}

func TestDecodeQueue(t *testing.T) {
	ok := map[string]Queue{
		"unbounded": {Unbounded: true, Set: true},
		"0":         {Set: true},
		"100":       {Bound: 100, Set: true},
		"~":         {},
	}
	for in, want := range ok {
		got, errs := decodeScalar[Queue](t, in)
		assert.Empty(t, errs, in)
		assert.Equal(t, want, got, in)
	}
	bad := map[string]string{
		"infinite": `invalid queue "infinite"|did you mean "unbounded"?`,
		"-1":       `invalid queue "-1"|did you mean "unbounded"?`,
		"-5":       "queue must not be negative, got -5|write unbounded for no limit",
		"unbouned": `invalid queue "unbouned"|did you mean "unbounded"?`,
		"lots":     `invalid queue "lots"|write a non-negative number of requests, or unbounded`,
		"1.5":      `invalid queue "1.5"|write a non-negative number of requests, or unbounded`,
		"[1]":      "expected a queue bound, got a list|write a non-negative number of requests, or unbounded",
	}
	for in, want := range bad {
		_, errs := decodeScalar[Queue](t, in)
		assert.Equal(t, []string{want}, errs, in)
	}
}

func TestDecodeNumbers(t *testing.T) {
	i, errs := decodeScalar[int](t, "0x10")
	assert.Empty(t, errs)
	assert.Equal(t, 16, i)
	i, errs = decodeScalar[int](t, "1_000")
	assert.Empty(t, errs)
	assert.Equal(t, 1000, i)
	i64, errs := decodeScalar[int64](t, "2e9")
	assert.Empty(t, errs)
	assert.Equal(t, int64(2e9), i64)
	_, errs = decodeScalar[int](t, "2.5")
	assert.Equal(t, []string{"expected an integer, got number 2.5|"}, errs)
	_, errs = decodeScalar[int](t, "1e300")
	assert.Equal(t, []string{"1e300 is out of range|"}, errs)
	u, errs := decodeScalar[uint64](t, "18446744073709551615")
	assert.Empty(t, errs)
	assert.Equal(t, uint64(18446744073709551615), u)
	f, errs := decodeScalar[float64](t, "3")
	assert.Empty(t, errs)
	assert.InDelta(t, 3.0, f, 0)
	_, errs = decodeScalar[float64](t, ".inf")
	assert.Equal(t, []string{"expected a finite number, got .inf|"}, errs)
	_, errs = decodeScalar[float64](t, `"0.5"`)
	assert.Equal(t, []string{`expected a number, got string "0.5"|remove the quotes`}, errs)
	s, errs := decodeScalar[string](t, "42")
	assert.Empty(t, errs)
	assert.Equal(t, "42", s)
	_, errs = decodeScalar[string](t, "{a: 1}")
	assert.Equal(t, []string{"expected a string, got a mapping|"}, errs)
	b, errs := decodeScalar[bool](t, "True")
	assert.Empty(t, errs)
	assert.True(t, b)
	_, errs = decodeScalar[bool](t, "yes")
	assert.Equal(t, []string{`expected true or false, got string "yes"|`}, errs)
}

func TestPercentileKey(t *testing.T) {
	ok := map[string]float64{"p50": 0.5, "p5": 0.05, "p90": 0.9, "p99": 0.99, "p999": 0.999, "p99.9": 0.999, "p9999": 0.9999, "p99.99": 0.9999, "p25.5": 0.255}
	for key, want := range ok {
		got, isKey := percentileKey(key)
		assert.True(t, isKey, key)
		assert.Equal(t, want, got, key) // exact: parsed from decimal text
	}
	for _, key := range []string{"p0", "p100", "p500", "p", "p-1", "q50", "p50.", "p999.9", "mean"} {
		_, isKey := percentileKey(key)
		assert.False(t, isKey, key)
	}
}

func TestSyntaxErrorPositions(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown anchor", "version: 1\nduration: *nope\n", "s.yaml:2:11: syntax: unknown anchor 'nope' referenced"},
		{"control character", "version: 1\x01\n", "s.yaml:1:1: syntax: control characters are not allowed"},
		{"unterminated string", "version: 1\nname: \"x\n", "s.yaml:2:1: syntax: found unexpected end of stream"},
		{"bad indentation", "version: 1\nname: x\n  seed: 2\n", "s.yaml:3:1: syntax: mapping values are not allowed in this context"},
		{"tab in a nested block", "services:\n  - name: a\n\treplicas: 2\n", "s.yaml:3:1: syntax: found a tab character that violates indentation; indent with spaces: YAML does not allow tabs in indentation"},
		{"tab at the start", "\tversion: 1\n", "s.yaml:1:1: syntax: found character that cannot start any token; indent with spaces: YAML does not allow tabs in indentation"},
		{"only null", "~\n", "s.yaml:1:1: empty scenario; a scenario needs at least version, duration, workloads and services"},
		{"bad merge", "version: 1\n<<: 5\n", "s.yaml:2:5: a merge (<<) takes a mapping or a list of mappings, got integer 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestMappingPairs(t *testing.T) {
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(`
a: &a {x: 1, y: 2}
b: &b {y: 3, z: 4}
c: {<<: [*a, *b], x: 0, w: 5}
`), &doc))
	c := doc.Content[0].Content[5]
	budget := 100
	pairs, bad, _ := mappingPairs(c, &budget)
	require.Nil(t, bad)
	var got []string
	for _, p := range pairs {
		got = append(got, p.key.Value+"="+p.val.Value)
	}
	// Explicit keys win; of the merged ones the earlier mapping wins; the
	// merged entries stand where << stands.
	assert.Equal(t, []string{"y=2", "z=4", "x=0", "w=5"}, got)
}
