package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

func runYAML(t *testing.T, text string) *results.Experiment {
	t.Helper()
	doc, err := Parse("t.yaml", []byte(text))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	return exp
}

func TestGatewayHeadersAuthAndRouteTimeouts(t *testing.T) {
	// Two workloads hit the same path; the one with x-canary: "true"
	// goes to the canary route (most header matches wins at equal path
	// length). The edge authenticates locally (1ms) and denies none; the
	// canary route has its own 20ms timeout, shorter than the canary's
	// 50ms service time, so every canary request times out at 1 + 1 + 20
	// ms, while the stable route has the destination's settings (none).
	exp := runYAML(t, `version: 1
name: gw
duration: 10s
workloads:
  - {name: stable, arrival: {dist: constant, value: 10ms}, target: edge, route: /api/x}
  - {name: canary, arrival: {dist: constant, value: 10ms}, target: edge, route: /api/x, headers: [{name: X-Canary, value: "true"}]}
services:
  - name: edge
    concurrency: 100
    service_time: {dist: constant, value: 1ms}
    auth: {cost: {dist: constant, value: 1ms}}
    routes:
      - {match: /api, to: api}
      - {match: /api, headers: [{name: x-canary, value: "true"}], to: api-canary, timeout: 20ms}
  - {name: api, concurrency: 100, service_time: {dist: constant, value: 5ms}}
  - {name: api-canary, concurrency: 100, service_time: {dist: constant, value: 50ms}}
`)
	rep := exp.Variants[0].Replications[0]
	stable, canary := rep.Workloads[0], rep.Workloads[1]
	assert.Equal(t, int64(7*time.Millisecond), stable.Latency.Min())
	assert.Equal(t, int64(7*time.Millisecond), stable.Latency.Max())
	assert.Zero(t, stable.Outcomes.Error+stable.Outcomes.Timeout)
	// The edge answers 500 when its call fails (a timeout downstream).
	assert.Zero(t, canary.Outcomes.OK)
	assert.Equal(t, canary.Arrived, canary.Outcomes.Error+canary.Outcomes.InFlight)
	var routeTimeouts int64
	for _, sc := range rep.Sidecars {
		if sc.Service == "api-canary" {
			routeTimeouts += sc.RouteTimeouts
		}
	}
	assert.Equal(t, canary.Outcomes.Error, routeTimeouts)
}

func TestAuthServiceDeniesAShare(t *testing.T) {
	// 20% of the requests are denied after the call to the auth service;
	// the rest reach the backend. Denied requests are neither errors nor
	// retried.
	exp := runYAML(t, `version: 1
name: auth
duration: 20s
workloads: [{name: web, arrival: {rate: 500/s}, target: edge, route: /}]
services:
  - name: edge
    concurrency: 100
    service_time: {dist: constant, value: 100us}
    auth: {service: authz, deny: 0.2}
    routes: [{match: /, to: api}]
    sidecar: {retries: {attempts: 2}}
  - {name: authz, concurrency: 100, service_time: {dist: constant, value: 300us}}
  - {name: api, concurrency: 100, service_time: {dist: constant, value: 1ms}}
`)
	rep := exp.Variants[0].Replications[0]
	o := rep.Workloads[0].Outcomes
	done := float64(o.OK + o.Denied)
	// Binomial(~10000, 0.2): sd 40.
	assert.InDelta(t, 0.2*done, float64(o.Denied), 200)
	assert.Zero(t, o.Error)
	assert.Equal(t, int64(1400*time.Microsecond), rep.Workloads[0].Latency.Min(), "edge 100us + auth 300us + api 1ms")
	for _, sc := range rep.Sidecars {
		assert.Equal(t, sc.Calls, sc.Attempts, "%s->%s: a 403 is not retried", sc.Caller, sc.Service)
	}
}

func TestDeadlinePropagationStopsWastedWork(t *testing.T) {
	// The client gives up after 30ms; the front service takes 20ms and
	// then calls the back service, which takes 50ms. With propagation the
	// back call is given the 10ms left and the client's deadline ends it;
	// without, the front's proxy has no timeout and the back service does
	// the whole 50ms of work for an answer no one waits for.
	const tmpl = `version: 1
name: deadline
duration: 10s
workloads: [{name: web, arrival: {dist: constant, value: 100ms}, target: front, deadline: 30ms}]
services:
  - name: front
    concurrency: 10
    service_time: {dist: constant, value: 20ms}
    calls: [{to: back}]
    propagate_deadline: PROPAGATE
  - {name: back, concurrency: 10, service_time: {dist: constant, value: 50ms}}
`
	for _, propagate := range []string{"false", "true"} {
		exp := runYAML(t, strings.ReplaceAll(tmpl, "PROPAGATE", propagate))
		rep := exp.Variants[0].Replications[0]
		o := rep.Workloads[0].Outcomes
		assert.Zero(t, o.OK, "propagate %s: every request misses its deadline", propagate)
		assert.Equal(t, rep.Workloads[0].Arrived, o.Timeout+o.InFlight)
		var backTimeouts int64
		for _, sc := range rep.Sidecars {
			if sc.Service == "back" {
				backTimeouts += sc.RouteTimeouts
			}
		}
		if propagate == "true" {
			assert.Equal(t, o.Timeout, backTimeouts, "the back call times out with the client")
		} else {
			assert.Zero(t, backTimeouts, "without propagation the back call runs to completion")
		}
	}
}

func TestRetryingProxyKeepsTheRoute(t *testing.T) {
	// A workload's proxy that retries (a call, with its own upstream
	// request) must pass the request's route on to the gateway, or every
	// request would be answered 404.
	exp := runYAML(t, `version: 1
name: rr
duration: 2s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: edge, route: /a}]
services:
  - {name: edge, service_time: {dist: constant, value: 1ms}, routes: [{match: /a, to: api}], sidecar: {retries: {attempts: 2}}}
  - {name: api, service_time: {dist: constant, value: 1ms}}
`)
	o := exp.Variants[0].Replications[0].Workloads[0].Outcomes
	assert.Zero(t, o.Error)
	assert.Positive(t, o.OK)
}

func TestGatewayValidation(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"auth with both", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    auth: {service: api, cost: {dist: constant, value: 1ms}}
    routes: [{match: /, to: api}]
  - {name: api, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:7:11: services[0].auth: auth is a call to a service or a local cost, not both; use either service: or cost:`},
		{"auth service unknown", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    auth: {service: authx}
    routes: [{match: /, to: auth}]
  - {name: auth, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:7:21: services[0].auth.service: no service named "authx"; did you mean "auth"?`},
		{"deny out of range", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    auth: {cost: {dist: constant, value: 1ms}, deny: 2}
    routes: [{match: /, to: api}]
  - {name: api, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:7:54: services[0].auth.deny: must be between 0 and 1, got 2`},
		{"route retries invalid", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    routes: [{match: /, to: api, retries: {attempts: 2, retry_on: [5xxx]}}]
  - {name: api, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:7:14: services[0].routes[0]: unknown retry_on condition "5xxx" (valid: 5xx, gateway-error, reset, connect-failure, retriable-status-codes)`},
		{"hedging percentile out of range", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}, sidecar: {hedging: {percentile: 100}}}]
`, `t.yaml:4:77: services[0].sidecar: hedging percentile must be in (0, 100), got 100`},
		{"two retry budgets", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}, sidecar: {retries: {attempts: 1, budget: {}, ratio_budget: {}}}}]
`, `t.yaml:4:77: services[0].sidecar: a retry budget is either Envoy's (percent of active) or Linkerd's (ratio), not both`},
		{"header without a name", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /, headers: [{value: x}]}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    routes: [{match: /, to: api}]
  - {name: api, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:3:82: workloads[0].headers[0].name: missing required field; a header name, e.g. x-canary`},
		{"no route for the headers", `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: edge, route: /a}]
services:
  - name: edge
    service_time: {dist: constant, value: 1ms}
    routes: [{match: /a, headers: [{name: x-beta, value: "1"}], to: api}]
  - {name: api, service_time: {dist: constant, value: 1ms}}
`, `t.yaml:3:69: workloads[0].route: no route of edge matches "/a" with no headers; routes of edge: /a (x-beta: 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
