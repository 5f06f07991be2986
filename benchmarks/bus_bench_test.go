package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// bus12x4 is a 12-partition topic read by a group of 4 consumers at
// 100,000 messages/s of virtual time: a Poisson workload publishes through
// its producer (acks all, uniform keys, linger 0), each consumer processes
// a message in 20 us on average (exponential: 50% busy), auto-commit
// every 5 s, heartbeats every 3 s. The duration is set from the number of
// messages.
const bus12x4 = `version: 1
name: bus-12x4
seed: 7
duration: %dns
workloads:
  - {name: orders, arrival: {rate: 100000/s}, publish: orders}
bus:
  topics:
    - {name: orders, partitions: 12, producer: {keys: uniform, key_space: 100000}}
  consumer_groups:
    - {name: fulfilment, topic: orders, consumers: 4, processing_time: {dist: exponential, mean: 20us}}
`

// runBus12x4 runs bus12x4 for about messages messages and returns its
// replication.
func runBus12x4(tb testing.TB, messages int) results.Replication {
	tb.Helper()
	doc, err := scenarios.Parse("bus-12x4.yaml", []byte(fmt.Sprintf(bus12x4, int64(durationFor(messages, 100000)))))
	if err != nil {
		tb.Fatal(err)
	}
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return exp.Variants[0].Replications[0]
}

// BenchmarkBus12x4 runs bus12x4 through scenarios.Run (one worker); one
// op is one message published. It reports time, CPU time and kernel events
// per message and events per second of wall time; allocs/op is per message.
func BenchmarkBus12x4(b *testing.B) {
	b.ReportAllocs()
	m := startMeter()
	rep := runBus12x4(b, b.N)
	published := rep.Bus.Readers[0].Ledger.Published
	m.report(b, published, "message")
	if published > 0 {
		b.ReportMetric(float64(rep.Events)/float64(published), "events/message")
		b.ReportMetric(float64(rep.Events)/b.Elapsed().Seconds(), "events/s")
	}
}

// TestBusSteadyStateAllocatesNothing runs bus12x4 for 1M and for 3M
// messages: the 2M messages more may cost at most 0.001 allocations per
// message. Messages, batches and events are pooled, but a message returns
// to its pool only once its offset is committed, which auto-commit does
// every 5 s: the pool grows to about 6 s of messages (600k) first, so both
// runs are longer than that.
func TestBusSteadyStateAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4M messages")
	}
	mallocs := func(n int) (uint64, int64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rep := runBus12x4(t, n)
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs, rep.Bus.Readers[0].Ledger.Published
	}
	small, ns := mallocs(1_000_000)
	large, nl := mallocs(3_000_000)
	extra := float64(int64(large)-int64(small)) / float64(nl-ns)
	t.Logf("allocations: %d for %d messages, %d for %d: %.5f per extra message", small, ns, large, nl, extra)
	if extra > 0.001 {
		t.Errorf("%.5f allocations per message in steady state; want none", extra)
	}
}
