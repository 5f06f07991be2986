package benchmarks

import (
	"context"
	"fmt"
	"testing"

	"github.com/meshsim/meshsim/scenarios"
)

// slowPod50 is the shipped slow-pod scenario scaled to 50 instances: the
// same 50% load on the healthy capacity (5000 requests/s), Istio's sidecar
// (least request, retries on 503 with previous_hosts), one instance ten
// times slower. The duration is set from b.N, so one op is one request.
const slowPod50 = `version: 1
name: slow-pod-50
seed: 7
duration: %dns
workloads:
  - {name: web, arrival: {rate: 5000/s}, target: checkout}
services:
  - name: checkout
    replicas: 50
    concurrency: 4
    queue: 50
    service_time: {dist: lognormal, mean: 20ms, p99: 120ms}
    sidecar: {preset: istio, lb: {policy: %s}}
failures:
  - {at: 0s, kind: slow, target: "checkout[2]", factor: 10}
`

// BenchmarkSlowPod50 runs slow-pod at 50 instances through scenarios.Run,
// for each policy, and reports time and kernel events per request and
// events per second of wall time.
func BenchmarkSlowPod50(b *testing.B) {
	for _, policy := range []string{"round_robin", "least_request", "peak_ewma"} {
		b.Run(policy, func(b *testing.B) {
			b.ReportAllocs()
			m := startMeter()
			until := durationFor(b.N, 5000)
			doc, err := scenarios.Parse("slow-pod-50.yaml", []byte(fmt.Sprintf(slowPod50, int64(until), policy)))
			if err != nil {
				b.Fatal(err)
			}
			exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 1})
			if err != nil {
				b.Fatal(err)
			}
			rep := exp.Variants[0].Replications[0]
			requests := rep.Workloads[0].Arrived
			m.report(b, requests, "request")
			if requests > 0 {
				b.ReportMetric(float64(rep.Events)/float64(requests), "events/request")
				b.ReportMetric(float64(rep.Events)/b.Elapsed().Seconds(), "events/s")
			}
		})
	}
}
