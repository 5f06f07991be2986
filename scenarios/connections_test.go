package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

func TestMTLSCostsAndConnectionReuse(t *testing.T) {
	// Requests every 10ms to one instance 1ms away (5ms of service). With
	// mTLS over HTTP/2 the first request pays the connection set-up (TCP
	// and TLS round trips, 2ms each, plus 1ms of handshake) and every
	// request 2 x 5us of encryption; the one connection is reused.
	const base = `version: 1
name: mtls
duration: 10s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - name: api
    service_time: {dist: constant, value: 5ms}
    sidecar: SIDECAR
network: {same_zone: {dist: constant, value: 1ms}}
`
	plain := runYAML(t, replace(base, "SIDECAR", "{}")).Variants[0].Replications[0]
	tls := runYAML(t, replace(base, "SIDECAR", "{mtls: {}}")).Variants[0].Replications[0]
	assert.Equal(t, int64(7*time.Millisecond), plain.Workloads[0].Latency.Max())
	assert.Equal(t, int64(7*time.Millisecond+10*time.Microsecond), tls.Workloads[0].Latency.Min())
	assert.Equal(t, int64(12*time.Millisecond+10*time.Microsecond), tls.Workloads[0].Latency.Max(), "the first request waits 5ms for the connection")
	assert.Equal(t, int64(1), tls.Sidecars[0].ConnectionsOpened)
	assert.Zero(t, plain.Sidecars[0].ConnectionsOpened, "no connection pool without connection_pool or mtls")

	// HTTP/1 with a 1ms idle timeout, and requests 20ms apart, closes the
	// connection between requests: every request pays the handshake.
	h1text := replace(base, "SIDECAR", "{mtls: {}, connection_pool: {protocol: http1, idle_timeout: 1ms}}")
	h1 := runYAML(t, replace(h1text, "value: 10ms}, target", "value: 20ms}, target")).Variants[0].Replications[0]
	assert.Equal(t, int64(12*time.Millisecond+10*time.Microsecond), h1.Workloads[0].Latency.Min())
	assert.Equal(t, h1.Workloads[0].Arrived, h1.Sidecars[0].ConnectionsOpened)
}

func TestConnectFailuresAreRetried(t *testing.T) {
	// A third of connection attempts fail. Istio's default retries
	// (connect-failure) hide most of them; without retries the failures
	// reach the client as 503s.
	const base = `version: 1
name: cf
duration: 20s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - name: api
    service_time: {dist: constant, value: 1ms}
    sidecar: {preset: istio, connection_pool: {protocol: http1, idle_timeout: 1ms}, retries: {attempts: ATTEMPTS}}
network: {connect_failure: 0.3333}
`
	none := runYAML(t, replace(base, "ATTEMPTS", "0")).Variants[0].Replications[0]
	two := runYAML(t, replace(base, "ATTEMPTS", "2")).Variants[0].Replications[0]
	n := float64(none.Workloads[0].Arrived)
	require.Positive(t, n)
	// Binomial(2000, 1/3): sd 21; with two retries 1/27: sd 8.
	assert.InDelta(t, n/3, float64(none.Workloads[0].Outcomes.Rejected), 100)
	assert.InDelta(t, n/27, float64(two.Workloads[0].Outcomes.Rejected), 40)
	assert.Positive(t, two.Sidecars[0].ConnectFailures)
}

func TestResetStatus(t *testing.T) {
	// An instance that resets 10% of its streams: retry_on reset retries
	// them, retriable-status-codes does not.
	const base = `version: 1
name: reset
duration: 20s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - name: api
    service_time: {dist: constant, value: 1ms}
    errors: {probability: 0.1, status: reset}
    sidecar: {retries: {attempts: 2, retry_on: [RETRY_ON]}}
`
	reset := runYAML(t, replace(base, "RETRY_ON", "reset")).Variants[0].Replications[0]
	codes := runYAML(t, replace(base, "RETRY_ON", "retriable-status-codes")).Variants[0].Replications[0]
	n := float64(reset.Workloads[0].Arrived)
	assert.InDelta(t, n*0.001, float64(reset.Workloads[0].Outcomes.Rejected), 8)
	assert.InDelta(t, n*0.1, float64(codes.Workloads[0].Outcomes.Rejected), 50)
	assert.Equal(t, codes.Sidecars[0].Calls, codes.Sidecars[0].Attempts)

	_, err := parseText(`version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}, errors: {probability: 0.1, status: rest}}]
`)
	assert.EqualError(t, err, `t.yaml:4:103: services[0].errors.status: unsupported status "rest"; did you mean "reset"?`)
	_, err = parseText(`version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}, sidecar: {connection_pool: {protocol: http3}}}]
`)
	assert.EqualError(t, err, `t.yaml:4:106: services[0].sidecar.connection_pool.protocol: unknown protocol "http3" (http1 or http2); did you mean "http1"?`)
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

func parseText(text string) (*Document, error) { return Parse("t.yaml", []byte(text)) }

func TestAdaptiveConcurrencySheds(t *testing.T) {
	// One instance with 10 slots and 10ms of work (1000/s) offered 2000/s
	// for 20s. Without a limit the queue grows without bound and latency
	// with it; the adaptive concurrency filter keeps the latency near the
	// minRTT and answers the excess 503.
	const base = `version: 1
name: ac
duration: 20s
warmup: 5s
workloads: [{name: web, arrival: {rate: 2000/s}, target: api}]
services:
  - name: api
    concurrency: 10
    service_time: {dist: constant, value: 10ms}
ADAPTIVE`
	plain := runYAML(t, replace(base, "ADAPTIVE", "")).Variants[0].Replications[0]
	ac := runYAML(t, replace(base, "ADAPTIVE", "    adaptive_concurrency: {}\n")).Variants[0].Replications[0]
	assert.Greater(t, plain.Workloads[0].Latency.Quantile(0.5), int64(time.Second), "without a limit the queue grows")
	assert.Less(t, ac.Workloads[0].Latency.Quantile(0.99), int64(40*time.Millisecond))
	o := ac.Workloads[0].Outcomes
	assert.InDelta(t, 0.5, float64(o.Rejected)/float64(o.Total()), 0.1, "about half is shed")
	assert.Positive(t, o.OK)
}

func TestZoneAwareRouting(t *testing.T) {
	// front has 2 instances in each of zones a, b, c; back has 3 in a, 2
	// in b, 1 in c. Zone-aware routing keeps a's and b's calls local and
	// sends half of c's to a (c has half the capacity its callers need):
	// 1/6 of the calls cross zones, 18ms slower, instead of 2/3 with plain
	// round robin.
	const base = `version: 1
name: za
duration: 20s
workloads: [{name: web, arrival: {rate: 600/s}, target: front}]
services:
  - {name: front, replicas: 6, concurrency: 100, zones: [a, b, c], service_time: {dist: constant, value: 1ms}, calls: [{to: back}]}
  - {name: back, replicas: 6, concurrency: 100, zones: [a, a, a, b, b, c], service_time: {dist: constant, value: 1ms}, sidecar: SIDECAR}
network: {same_zone: {dist: constant, value: 1ms}, cross_zone: {dist: constant, value: 10ms}}
`
	za := runYAML(t, replace(base, "SIDECAR", "{zone_aware: {}}")).Variants[0].Replications[0]
	rr := runYAML(t, replace(base, "SIDECAR", "{}")).Variants[0].Replications[0]
	local := int64(6 * time.Millisecond) // 2 + 1 + 2 + 1
	h := za.Workloads[0].Latency
	assert.InDelta(t, local, h.Quantile(0.8), 0.01*float64(local), "histogram buckets are within 0.4%")
	assert.Greater(t, h.Quantile(0.9), local+int64(15*time.Millisecond))
	assert.Greater(t, rr.Workloads[0].Latency.Quantile(0.5), local+int64(15*time.Millisecond))
	// The load stays even: each back instance gets a sixth.
	for _, s := range za.Services {
		if s.Name == "back" {
			var total int64
			for _, n := range s.InstanceCompleted {
				total += n
			}
			for i, n := range s.InstanceCompleted {
				assert.InDelta(t, 1.0/6, float64(n)/float64(total), 0.02, "back[%d]", i)
			}
		}
	}
}

func TestLocalityFailover(t *testing.T) {
	// Clients in zone a; api has 3 instances in a and 3 in b. With the
	// istio preset and outlier detection, traffic stays in a (2ms of
	// network) until errors in a eject its instances; then it spills to b
	// (20ms). Two of a's three instances fail from 10s: a keeps 1/3
	// healthy, 1/3 x 1.4 = 47% of the load, and the rest goes to b.
	const base = `version: 1
name: lf
duration: 40s
workloads: [{name: web, zone: a, arrival: {rate: 200/s}, target: api}]
services:
  - name: api
    replicas: 6
    concurrency: 100
    zones: [a, a, a, b, b, b]
    service_time: {dist: constant, value: 1ms}
    sidecar: {preset: istio, retries: {attempts: 0}, outlier_detection: {consecutive_5xx: 5, max_ejection_percent: 100}SIDECAR}
failures:
  - {at: 10s, kind: errors, target: "api[0]", probability: 1}
  - {at: 10s, kind: errors, target: "api[1]", probability: 1}
network: {same_zone: {dist: constant, value: 1ms}, cross_zone: {dist: constant, value: 10ms}}
`
	lf := runYAML(t, replace(base, "SIDECAR", "")).Variants[0].Replications[0]
	off := runYAML(t, replace(base, "SIDECAR", ", locality_failover: null")).Variants[0].Replications[0]
	share := func(rep results.Replication) []float64 {
		var total int64
		for _, n := range rep.Services[0].InstanceCompleted {
			total += n
		}
		out := make([]float64, 6)
		for i, n := range rep.Services[0].InstanceCompleted {
			out[i] = float64(n) / float64(total)
		}
		return out
	}
	s := share(lf)
	// Before 10s (a quarter of the run) all in a; after, api[2] takes
	// 47% and b the other 53%.
	assert.InDelta(t, 0.25/3+0.75*0.47, s[2], 0.05, "api[2] %v", s)
	assert.InDelta(t, 0.75*0.53/3, s[3], 0.03, "b instances %v", s)
	o := off.Services[0].InstanceCompleted
	assert.Positive(t, o[3], "without failover round robin uses b from the start")
	assert.InDelta(t, 1.0/6, share(off)[3], 0.05)
}

func TestCrashClosesConnections(t *testing.T) {
	// TestCrashAndDiscoveryLag's run with connection pools: requests every
	// 10ms, round robin over 3 instances (60ms each, so an instance serves
	// 2 at a time); api[1] crashes at 5.002s holding two requests,
	// restarts at 15s and is back in the proxy's endpoints at 18s. The
	// crash closes the proxy's connections to api[1]. While it is down
	// its port is closed, so the connections the proxy tries to open to
	// it (until it learns of the crash at 7.002s) are refused; after the
	// restart the proxy opens new ones. Over HTTP/2 that is one connection
	// per instance and one more to api[1]; over HTTP/1, 2 per instance,
	// one more to each of the two others while they take api[1]'s share
	// (3 requests at a time each), and two new ones to api[1]. The
	// requests end as they do without pools: the two held ones reset, and
	// the others sent to api[1] during the lag refused (503).
	const base = `version: 1
name: crash
duration: 30s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, replicas: 3, concurrency: 4, readiness_delay: 1s, service_time: {dist: constant, value: 60ms},
     sidecar: {connection_pool: {protocol: PROTO}}}
FAILURES
control_plane: {discovery: {delay: {dist: constant, value: 2s}}}
`
	crash := "failures: [{at: 5002ms, for: 10s, kind: crash, target: \"api[1]\"}]"
	for _, tc := range []struct {
		proto        string
		calm, opened int64
		closed       int64 // by the crash: api[1]'s connections
	}{
		{"http2", 3, 3 + 1, 1},
		{"http1", 6, 6 + 2 + 2, 2},
	} {
		text := replace(base, "PROTO", tc.proto)
		calm := runYAML(t, replace(text, "FAILURES", "")).Variants[0].Replications[0]
		rep := runYAML(t, replace(text, "FAILURES", crash)).Variants[0].Replications[0]
		assert.Equal(t, tc.calm, calm.Sidecars[0].ConnectionsOpened, tc.proto)
		assert.Zero(t, calm.Sidecars[0].ConnectFailures, tc.proto)
		assert.Equal(t, tc.opened, rep.Sidecars[0].ConnectionsOpened, "%s: reconnected after the restart", tc.proto)
		assert.InDelta(t, 67, rep.Sidecars[0].ConnectFailures, 1, "%s: connections to the crashed instance are refused", tc.proto)
		assert.Equal(t, int64(2), rep.Services[0].Lost, tc.proto)
		assert.InDelta(t, 69, rep.Workloads[0].Outcomes.Rejected, 1, tc.proto)

		// Connections closed: none while calm (idle_timeout is 1h), only
		// the crashed instance's after the crash; the rest are open at the
		// end, and never more than the peak.
		sc := rep.Sidecars[0]
		assert.True(t, calm.Sidecars[0].Pooled && sc.Pooled, tc.proto)
		assert.Zero(t, calm.Sidecars[0].ConnectionsClosed, tc.proto)
		assert.Equal(t, int(tc.calm), calm.Sidecars[0].MaxOpenConnections, tc.proto)
		assert.Equal(t, tc.closed, sc.ConnectionsClosed, "%s: the crash closes api[1]'s connections", tc.proto)
		assert.LessOrEqual(t, sc.ConnectionsOpened-sc.ConnectionsClosed, int64(sc.MaxOpenConnections), tc.proto)
		assert.Zero(t, sc.ConnectionOverflows+sc.PendingOverflows, "%s: far from the default limits", tc.proto)
	}
}

func TestConnectionOverflows(t *testing.T) {
	// Requests every 10ms to one instance serving each in 60ms, over
	// HTTP/1 with max_connections 2 and max_pending_requests 1: two
	// connections carry two requests, one waits, and the others are
	// refused at max_pending_requests (a local 503). Each request that
	// waits wants a third connection and counts a connection overflow.
	const text = `version: 1
name: overflow
duration: 10s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, concurrency: 8, service_time: {dist: constant, value: 60ms},
     sidecar: {connection_pool: {protocol: http1}, circuit_breakers: {max_connections: 2, max_pending_requests: 1}}}
`
	rep := runYAML(t, text).Variants[0].Replications[0]
	sc := rep.Sidecars[0]
	require.True(t, sc.Pooled)
	assert.Equal(t, 2, sc.MaxOpenConnections)
	assert.Equal(t, int64(2), sc.ConnectionsOpened)
	assert.Zero(t, sc.ConnectionsClosed)
	// The pools count every request; Overflows only the measured ones,
	// which leave out one request at the run's edge: the pools saw 1000,
	// the window 999.
	assert.Positive(t, sc.Overflows)
	assert.InDelta(t, sc.Overflows, sc.PendingOverflows, 1, "every overflow here is a pending overflow")
	assert.Equal(t, rep.Workloads[0].Outcomes.Rejected, sc.Overflows)
	assert.Equal(t, sc.Attempts-2, sc.ConnectionOverflows, "every attempt after the first two found both connections busy")
}
