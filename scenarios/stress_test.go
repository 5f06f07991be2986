package scenarios

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// stressYAML mixes retries, per-try timeouts, hedging, HTTP/1 and HTTP/2
// connection pools, crashes, partitions, discovery delay, outlier
// detection, health checks, autoscaling, a deploy and a config push, over
// three variants (call path, direct mode, zones); %d is the seed.
const stressYAML = `version: 1
name: stress
seed: %d
duration: 40s
warmup: 2s
replications: 2
workloads:
  - {name: web, zone: a, arrival: {rate: 300/s}, target: edge, deadline: 400ms}
  - {name: bulk, zone: b, arrival: {rate: 150/s}, target: api}
services:
  - name: edge
    replicas: 2
    zones: [a, b]
    concurrency: 8
    queue: 20
    service_time: {dist: exponential, mean: 1ms}
    propagate_deadline: true
    auth: {cost: {dist: constant, value: 1ms}, deny: 0.01}
    calls:
      - {to: api}
      - {parallel: [{to: db}, {to: cache}], wait: 1}
    sidecar:
      timeout: 300ms
      per_try_timeout: 60ms
      retries: {attempts: 3, retry_on: [5xx, reset, connect-failure], previous_hosts: true, base_interval: 2ms}
      hedging: {delay: 20ms, max_attempts: 3}
      connection_pool: {protocol: http1, idle_timeout: 2s}
      circuit_breakers: {max_connections: 40, max_pending_requests: 30, max_requests: 200}
      outlier_detection: {consecutive_5xx: 3, interval: 1s, base_ejection_time: 2s, max_ejection_percent: 50}
  - name: api
    replicas: 3
    zones: [a, b, c]
    concurrency: 4
    queue: 10
    readiness_delay: 1s
    termination_grace_period: 2s
    service_time: {dist: lognormal, median: 5ms, sigma: 1}
    errors: {probability: 0.02, status: 503}
    autoscale: {min_replicas: 2, max_replicas: 6, metric: utilization, target: 50, sync_period: 3s, scale_down_stabilization: 5s}
    sidecar:
      timeout: 200ms
      per_try_timeout: 40ms
      retries: {attempts: 2, retry_on: [5xx, reset, connect-failure], base_interval: 1ms}
      hedging: {on_per_try_timeout: true}
      connection_pool: {protocol: http2, idle_timeout: 1s}
      mtls: {handshake: {dist: constant, value: 1ms}, per_request: {dist: constant, value: 10us}}
      outlier_detection: {consecutive_5xx: 5, interval: 1s, base_ejection_time: 3s}
      health_check: {interval: 500ms, timeout: 100ms, unhealthy_threshold: 2, healthy_threshold: 1}
  - name: db
    replicas: 3
    zones: [a, b, c]
    concurrency: 2
    queue: 5
    service_time: {dist: exponential, mean: 3ms}
    sidecar:
      timeout: 100ms
      retries: {attempts: 2, retry_on: [5xx, reset, connect-failure], budget: {percent: 20, min_retry_concurrency: 2}}
      hedging: {percentile: 90, window: 5s, min_samples: 20}
      connection_pool: {protocol: http1}
      circuit_breakers: {max_connections: 6, max_pending_requests: 8}
  - name: cache
    replicas: 2
    zones: [a, b]
    concurrency: 4
    service_time: {dist: constant, value: 500us}
    rate_limit: {max_tokens: 50, tokens_per_fill: 10, fill_interval: 100ms}
    adaptive_concurrency: {min_concurrency: 2, min_rtt_requests: 10}
    propagate_deadline: true
    sidecar:
      retries: {attempts: 1, retry_on: [5xx], ratio_budget: {retry_ratio: 0.1}}
network:
  same_zone: {dist: constant, value: 200us}
  cross_zone: {dist: exponential, mean: 1ms}
  connect_failure: 0.005
failures:
  - {at: 5s, for: 3s, kind: crash, target: "api[0]"}
  - {at: 7s, for: 4s, kind: partition, zones: [c]}
  - {at: 9s, for: 3s, kind: loss, target: "db[1]", probability: 0.3}
  - {at: 10s, for: 5s, kind: latency, target: "db[0]", delay: {dist: constant, value: 30ms}}
  - {at: 12s, for: 2s, kind: overload, target: web, factor: 3}
  - {at: 14s, for: 4s, kind: crash, target: "edge[1]"}
  - {at: 16s, for: 3s, kind: errors, target: api, probability: 0.3, status: reset}
  - {at: 20s, for: 2s, kind: slow, target: "cache[0]", factor: 20}
  - {at: 22s, for: 5s, kind: crash, target: db}
  - {at: 25s, for: 6s, kind: partition, zones: [a], other_zones: [b]}
random_failures:
  - {kind: crash, target: cache, mtbf: {dist: exponential, mean: 10s}, mttr: {dist: exponential, mean: 1s}}
  - {kind: crash, target: api, mtbf: {dist: exponential, mean: 15s}, mttr: {dist: exponential, mean: 2s}}
control_plane:
  discovery: {delay: {dist: uniform, min: 50ms, max: 500ms}}
deploys:
  - {at: 18s, service: api, version: {name: v2, service_time: {dist: exponential, mean: 8ms}}, max_surge: 1, max_unavailable: 0}
config_pushes:
  - {at: 28s, service: db, sidecar: {timeout: 80ms, retries: {attempts: 3, retry_on: [5xx, reset]}, connection_pool: {protocol: http1}, circuit_breakers: {max_connections: 6, max_pending_requests: 8}}}
variants:
  - {name: baseline, set: {}}
  - name: direct
    set:
      services.api.sidecar: {lb: {policy: least_request}, workers: 2, connection_pool: {protocol: http1}, circuit_breakers: {max_connections: 5, max_pending_requests: 5}}
      services.db.sidecar: {lb: {policy: peak_ewma}, mtls: {handshake: {dist: constant, value: 1ms}, per_request: {dist: constant, value: 10us}}}
      services.edge.sidecar: {lb: {policy: ring_hash}, outlier_detection: {consecutive_gateway_failure: 2, interval: 500ms, base_ejection_time: 1s}}
  - name: zones
    set:
      services.api.sidecar.zone_aware: {min_cluster_size: 1}
      services.api.sidecar.workers: 3
      services.cache.sidecar.locality_failover: {}
      services.edge.sidecar.connection_pool.protocol: http2
      services.cache.sidecar.hedging: {delay: 1ms, max_attempts: 3}
`

// TestStressConservationAndWorkers runs stressYAML for a few seeds: every
// run must pass the runner's conservation checks (and raise no internal
// error), and one or two workers must give the same results. Seeds 5 to
// 7 once crashed on a local auth check ending after its instance had
// crashed.
func TestStressConservationAndWorkers(t *testing.T) {
	for seed := 1; seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			doc, err := Parse("stress.yaml", []byte(fmt.Sprintf(stressYAML, seed)))
			require.NoError(t, err)
			one, err := Run(context.Background(), doc, Options{Workers: 1})
			require.NoError(t, err)
			two, err := Run(context.Background(), doc, Options{Workers: 2})
			require.NoError(t, err)
			require.Equal(t, one, two)
		})
	}
}
