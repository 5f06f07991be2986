package scenarios_test

import (
	"context"
	"fmt"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// ExampleRun sweeps the load on two policies, runs replications until the
// p99 is known to ±10%, and judges each point against an SLO.
func ExampleRun() {
	doc, err := scenarios.Parse("example.yaml", []byte(`version: 1
duration: 10s
warmup: 1s
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services:
  - {name: api, replicas: 4, concurrency: 1, queue: 100, service_time: {dist: exponential, mean: 8ms}}
variants:
  - {name: random, set: {services.api.sidecar.lb.policy: random}}
  - {name: p2c, set: {services.api.sidecar.lb.policy: least_request}}
sweep: {workloads.web.arrival.rate: [200/s, 400/s]}
precision: {metric: p99, workload: web, half_width: 10%}
report: {slo: {p99: 80ms}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := results.Summarize(exp)
	fmt.Println("replications:", exp.Replications, "rounds:", exp.Precision.Rounds, "reached:", exp.Precision.Reached)
	for _, r := range s.SLO.Results {
		fmt.Printf("%-17s p99 %5.1f ms  %s\n", r.Variant, *r.Value*1000, r.Verdict)
	}
	// Output:
	// replications: 11 rounds: [5 10 11] reached: true
	// random rate=200/s p99  57.9 ms  met
	// random rate=400/s p99 164.9 ms  violated
	// p2c rate=200/s    p99  43.0 ms  met
	// p2c rate=400/s    p99  80.5 ms  uncertain
}
