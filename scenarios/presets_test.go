package scenarios

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/sidecar"
)

func presetScenario(sidecarBlock string) []byte {
	return []byte(fmt.Sprintf(`version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services:
  - name: api
    service_time: {dist: constant, value: 1ms}
    sidecar: %s
`, sidecarBlock))
}

func resolvedPolicy(t *testing.T, sidecarBlock string) sidecar.Policy {
	t.Helper()
	doc, err := Parse("p.yaml", presetScenario(sidecarBlock))
	require.NoError(t, err)
	p, err := doc.Scenario.Services[0].Sidecar.Policy()
	require.NoError(t, err)
	return p
}

func TestPresets(t *testing.T) {
	on := func(names ...string) sidecar.RetryOn {
		r, err := sidecar.ParseRetryOn(names)
		require.NoError(t, err)
		return r
	}
	for _, tc := range []struct {
		block string
		want  sidecar.Policy
	}{
		{"{}", sidecar.Policy{LB: "round_robin", Workers: 1, PanicThreshold: 50, MaxRequests: 1024,
			Retries: sidecar.RetryPolicy{BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: 3}}},
		{"{preset: envoy}", sidecar.Policy{LB: "round_robin", Workers: 1, PanicThreshold: 50, RouteTimeout: 15 * time.Second, MaxRequests: 1024,
			Retries: sidecar.RetryPolicy{BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: 3}}},
		{"{preset: istio}", sidecar.Policy{LB: "least_request", Workers: 1, PanicThreshold: 50, MaxRequests: math.MaxUint32,
			Retries: sidecar.RetryPolicy{NumRetries: 2, RetryOn: on("connect-failure", "retriable-status-codes"),
				BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: math.MaxUint32,
				PreviousHosts: true, HostSelectionAttempts: 5}}},
		// Explicit fields override the preset, the rest stays Istio's.
		{"{preset: istio, timeout: 2s, retries: {attempts: 1, retry_on: [5xx]}, lb: {policy: random}}",
			sidecar.Policy{LB: "random", Workers: 1, PanicThreshold: 50, RouteTimeout: 2 * time.Second, MaxRequests: math.MaxUint32,
				Retries: sidecar.RetryPolicy{NumRetries: 1, RetryOn: on("5xx"),
					BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: math.MaxUint32,
					PreviousHosts: true, HostSelectionAttempts: 5}}},
		{"{preset: linkerd}", sidecar.Policy{LB: "peak_ewma", Workers: 1, PanicThreshold: 50, MaxRequests: math.MaxUint32,
			Retries: sidecar.RetryPolicy{BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: math.MaxUint32,
				Ratio: &sidecar.RatioBudget{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}}}},
		{"{preset: grpc}", sidecar.Policy{LB: "round_robin", Workers: 1, PanicThreshold: 50, MaxRequests: math.MaxUint32,
			Retries: sidecar.RetryPolicy{BaseInterval: 25 * time.Millisecond, MaxInterval: 250 * time.Millisecond, MaxRetries: math.MaxUint32}}},
	} {
		t.Run(tc.block, func(t *testing.T) {
			got := resolvedPolicy(t, tc.block)
			got.LBConfig = tc.want.LBConfig
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUnknownPreset(t *testing.T) {
	_, err := Parse("p.yaml", presetScenario("{preset: istoi}"))
	assert.EqualError(t, err, `p.yaml:7:23: services[0].sidecar.preset: unknown preset "istoi"; did you mean "istio"?`)
}

func TestPresetNamesMatchTheTable(t *testing.T) {
	var keys []string
	for k := range presets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	assert.Equal(t, keys, PresetNames())
}
