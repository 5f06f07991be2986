package scenarios_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/bus"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// TestLibraryIsDeterministic runs every shipped scenario twice, on one
// worker and on two, and requires byte-identical summaries.
func TestLibraryIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every shipped scenario twice")
	}
	for _, e := range scenarios.Library() {
		t.Run(e.Name, func(t *testing.T) {
			doc, err := scenarios.Load(e.Name)
			require.NoError(t, err)
			var out [][]byte
			for _, workers := range []int{1, 2} {
				exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: workers, Replications: 2})
				require.NoError(t, err)
				b, err := json.Marshal(results.Summarize(exp))
				require.NoError(t, err)
				out = append(out, b)
			}
			assert.Equal(t, string(out[0]), string(out[1]))
		})
	}
}

// TestSlowPodShowsTheEffect runs the shipped slow-pod scenario as users
// do and checks the effect its description promises: least request's and
// peak EWMA's p99 below round robin's, with unpaired 95% intervals that do
// not overlap, and round robin retrying the slow pod's overflow.
func TestSlowPodShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "slow-pod", 0)
	s := results.Summarize(exp)
	p99 := map[string]results.Interval{}
	for _, v := range s.Variants {
		l := v.Workloads[0].LatencyS
		require.NotNil(t, l.CI95)
		p99[v.Name] = l.CI95.P99
	}
	rr := p99["round-robin"]
	for _, name := range []string{"least-request", "peak-ewma"} {
		assert.Less(t, p99[name].Hi, rr.Lo, "%s p99 %v overlaps round robin's %v", name, p99[name], rr)
	}
	for _, c := range s.Comparisons {
		assert.Less(t, c.LatencyP99S.CI95.Hi, 0.0, "%s: paired p99 difference must be below zero", c.Variant)
	}
	assert.Greater(t, *s.Variants[0].Sidecars[0].Amplification, 1.05, "round robin retries the slow pod's 503s")
}

// TestFastFailingPodShowsTheEffect checks fast-failing-pod's promise: least
// request sends the fast-failing pod more than a sixth of the traffic (so
// more errors than round robin), and outlier detection all but removes them.
func TestFastFailingPodShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "fast-failing-pod", 0)
	errRate := map[string]results.Estimate{}
	for _, v := range results.Summarize(exp).Variants {
		errRate[v.Name] = *v.Workloads[0].ErrorRate
	}
	lr, rr, od := errRate["least-request"], errRate["round-robin"], errRate["outlier-detection"]
	assert.Greater(t, lr.CI95.Lo, rr.CI95.Hi, "least request errs more than round robin")
	assert.InDelta(t, 1.0/6, rr.Mean, 0.005, "round robin: a sixth of the requests reach the failing pod")
	assert.Less(t, od.CI95.Hi, 0.01, "outlier detection: under 1%% errors")
}

// TestRetryStormShowsTheEffect checks retry-storm's promise: retries at
// every layer amplify the load on payments and blow up the p99; a retry
// budget keeps both down.
func TestRetryStormShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "retry-storm", 0)
	p99 := map[string]results.Interval{}
	amp := map[string]float64{}
	for _, v := range results.Summarize(exp).Variants {
		p99[v.Name] = v.Workloads[0].LatencyS.CI95.P99
		for _, sc := range v.Sidecars {
			if sc.Caller == "checkout" && sc.Service == "payments" {
				amp[v.Name] = *sc.Amplification
			}
		}
	}
	assert.Greater(t, p99["retries-everywhere"].Lo, 5*p99["retry-budget"].Hi, "the storm multiplies the p99")
	assert.Greater(t, amp["retries-everywhere"], amp["retry-budget"]+0.1, "the budget caps the retries at payments")
	assert.Equal(t, 1.0, amp["edge-only"], "no retries below the edge")
}

// TestHedgingTailShowsTheEffect checks hedging-tail's promise: hedging after
// 40 ms cuts the p99.9 for a few percent more attempts.
func TestHedgingTailShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "hedging-tail", 3)
	s := results.Summarize(exp)
	none, hedged := s.Variants[0], s.Variants[1]
	require.Equal(t, "hedge-after-40ms", hedged.Name)
	assert.Less(t, hedged.Workloads[0].LatencyS.CI95.P999.Hi, none.Workloads[0].LatencyS.CI95.P999.Lo/2, "p99.9 at least halved")
	amp := *hedged.Sidecars[0].Amplification
	assert.True(t, amp > 1.02 && amp < 1.15, "a few percent more attempts, got %.3f", amp)
	assert.Positive(t, hedged.Sidecars[0].HedgeWins)
}

// TestSmallClusterPanicShowsTheEffect checks small-cluster-panic's promise:
// Envoy's defaults eject nothing in 3 hosts, panic mode brings the ejected
// hosts back, and Istio's panic threshold of 0 keeps them out.
func TestSmallClusterPanicShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "small-cluster-panic", 3)
	rate := map[string]float64{}
	ejections := map[string]int64{}
	for _, v := range results.Summarize(exp).Variants {
		rate[v.Name] = v.Workloads[0].ErrorRate.Mean
		ejections[v.Name] = v.Sidecars[0].Ejections
	}
	assert.InDelta(t, 2.0/3, rate["envoy-defaults"], 0.002)
	assert.Zero(t, ejections["envoy-defaults"], "10% of 3 hosts allows no ejection")
	assert.InDelta(t, 2.0/3, rate["eject-up-to-100pct"], 0.002, "panic mode sends traffic back to the ejected hosts")
	assert.Positive(t, ejections["eject-up-to-100pct"])
	assert.Less(t, rate["istio-no-panic"], 0.005)
}

// TestCanarySplitShowsTheEffect checks canary-split's promise: the error
// rate of /checkout is the canary's share times its 20% failure rate, and
// /catalog is untouched by the split.
func TestCanarySplitShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "canary-split", 3)
	want := map[string]float64{"canary-0pct": 0, "canary-10pct": 0.02, "canary-50pct": 0.10}
	var catalog []float64
	for _, v := range results.Summarize(exp).Variants {
		for _, w := range v.Workloads {
			switch w.Name {
			case "shoppers":
				assert.InDelta(t, want[v.Name], w.ErrorRate.Mean, 0.003, v.Name)
			case "browsers":
				assert.Zero(t, w.ErrorRate.Mean)
				catalog = append(catalog, w.LatencyS.Mean)
			}
		}
	}
	require.Len(t, catalog, 3)
	assert.Equal(t, catalog[0], catalog[1], "the split does not touch /catalog")
	assert.Equal(t, catalog[0], catalog[2])
}

// TestReadmeLibraryExample checks the README's "As a Go library" snippet
// (Load and Run as in runShipped, then its Compare and Quantile), so that
// the claim it makes stays true.
func TestReadmeLibraryExample(t *testing.T) {
	exp := runShipped(t, "slow-pod", 0)
	cmp, err := exp.Compare("least-request", "round-robin")
	require.NoError(t, err)
	d, err := cmp.Quantile("web", 0.99)
	require.NoError(t, err)
	require.Less(t, d.Hi, 0.0)
}

// runShipped runs a shipped scenario on two workers, with its own
// replications when reps is 0; it skips under -short.
func runShipped(t *testing.T, name string, reps int) *results.Experiment {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a shipped scenario")
	}
	doc, err := scenarios.Load(name)
	require.NoError(t, err)
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 2, Replications: reps})
	require.NoError(t, err)
	return exp
}

// TestDeadlinePropagationShowsTheEffect checks deadline-propagation's
// promise: with deadlines passed on, the same arrivals complete far more
// often, and the slow service's queue is shorter.
func TestDeadlinePropagationShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "deadline-propagation", 3)
	s := results.Summarize(exp)
	off, on := s.Variants[0], s.Variants[1]
	require.Equal(t, "propagate-deadline", on.Name)
	gOn, gOff := on.Workloads[0].ThroughputPerS, off.Workloads[0].ThroughputPerS
	assert.Greater(t, gOn.Mean, 1.5*gOff.Mean, "goodput at least 1.5x")
	assert.Greater(t, gOn.CI95.Lo, gOff.CI95.Hi, "intervals apart")
	inventory := func(v results.VariantSummary) results.ServiceSummary {
		for _, sv := range v.Services {
			if sv.Name == "inventory" {
				return sv
			}
		}
		t.Fatal("no inventory service")
		return results.ServiceSummary{}
	}
	assert.Less(t, inventory(on).QueueLengthMean.Mean, inventory(off).QueueLengthMean.Mean/2)
}

// TestMTLSConnectionChurnShowsTheEffect checks mtls-connection-churn's
// promise: over HTTP/1.1 every per-try timeout costs a new connection,
// over HTTP/2 connections are reused.
func TestMTLSConnectionChurnShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "mtls-connection-churn", 2)
	s := results.Summarize(exp)
	h2, h1 := s.Variants[0].Sidecars[0], s.Variants[1].Sidecars[0]
	require.Equal(t, "http1", s.Variants[1].Name)
	assert.Zero(t, h2.ConnectionsOpened, "HTTP/2 opened its connections in the warm-up")
	assert.Positive(t, h1.PerTryTimeouts)
	assert.InDelta(t, float64(h1.PerTryTimeouts), float64(h1.ConnectionsOpened), 0.01*float64(h1.PerTryTimeouts),
		"one handshake per reset HTTP/1.1 request")
	// Each reset closes its connection: about as many close as open (the
	// difference is those open at the window's edges).
	require.NotNil(t, h1.MaxOpenConnections)
	require.NotNil(t, h2.MaxOpenConnections, "HTTP/2 has connection pools too")
	assert.InDelta(t, float64(h1.ConnectionsOpened), float64(h1.ConnectionsClosed), 0.01*float64(h1.ConnectionsOpened))
	assert.Zero(t, h2.ConnectionsClosed, "HTTP/2 keeps its connections")
	assert.Greater(t, *h1.MaxOpenConnections, *h2.MaxOpenConnections)
}

// TestZoneAwareRoutingShowsTheEffect checks zone-aware-routing's promise:
// zone-aware routing lowers the median and keeps the load even; locality
// failover overloads the zone with one backend.
func TestZoneAwareRoutingShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "zone-aware-routing", 3)
	s := results.Summarize(exp)
	rr, za, lf := s.Variants[0], s.Variants[1], s.Variants[2]
	require.Equal(t, "locality-failover", lf.Name)
	assert.Less(t, za.Workloads[0].LatencyS.CI95.P50.Hi, rr.Workloads[0].LatencyS.CI95.P50.Lo-0.005, "the median drops by at least 5ms")
	for i, share := range za.Services[1].InstanceShare {
		assert.InDelta(t, 1.0/6, share, 0.01, "backend[%d]", i)
	}
	assert.InDelta(t, 1.0/3, lf.Services[1].InstanceShare[5], 0.05, "zone c's one backend serves zone c's callers")
	assert.Greater(t, lf.Workloads[0].LatencyS.P99, 10*za.Workloads[0].LatencyS.P99)
}

// busReader returns the bus reader named name of variant v.
func busReader(t *testing.T, v results.VariantSummary, name string) results.BusReaderSummary {
	t.Helper()
	require.NotNil(t, v.Bus, v.Name)
	for _, r := range v.Bus.Readers {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("variant %s has no bus reader %s", v.Name, name)
	return results.BusReaderSummary{}
}

// TestHotPartitionShowsTheEffect checks hot-partition's promise: with
// Zipf keys the partition of the hottest key (murmur2 of key 0) lags far
// behind every partition of the uniform run, and the tail latency grows.
func TestHotPartitionShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "hot-partition", 0))
	uni, zipf := busReader(t, s.Variants[0], "sessionizer"), busReader(t, s.Variants[1], "sessionizer")
	require.Equal(t, "zipf-keys", s.Variants[1].Name)
	assert.Greater(t, zipf.LagMax.CI95.Lo, 4*uni.LagMax.CI95.Hi, "the hot partition's lag")
	hot := bus.PartitionForKey(0, 12)
	for p, lag := range zipf.LagByPartition {
		if p != hot {
			assert.Less(t, lag, zipf.LagByPartition[hot]/2, "partition %d against the hot partition %d", p, hot)
		}
	}
	assert.Greater(t, zipf.LatencyS.CI95.P99.Lo, 10*uni.LatencyS.CI95.P99.Hi, "p99 at least ten times higher")
	assert.Zero(t, zipf.Ledger.Duplicated+zipf.Ledger.Lost+zipf.Ledger.Dropped, "skew delays messages, it loses none")
}

// TestRebalanceStormShowsTheEffect checks rebalance-storm's promise: the
// crash loop rebalances the group twice per crash, and eager rebalancing
// pauses more partition-time and has a higher tail latency than
// cooperative, with 95% intervals apart.
func TestRebalanceStormShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "rebalance-storm", 0))
	eager, coop := busReader(t, s.Variants[0], "fulfilment"), busReader(t, s.Variants[1], "fulfilment")
	require.Equal(t, "cooperative-sticky", s.Variants[1].Name)
	assert.Equal(t, 10.0, eager.Rebalances.Mean, "five crashes, two rebalances each")
	assert.Greater(t, coop.Rebalances.Mean, eager.Rebalances.Mean, "cooperative takes a second round to hand out what was revoked")
	assert.Greater(t, eager.PausedS.CI95.Lo, coop.PausedS.CI95.Hi, "stop-the-world pauses every partition")
	assert.Greater(t, eager.LatencyS.CI95.P99.Lo, coop.LatencyS.CI95.P99.Hi)
	assert.Greater(t, eager.LatencyS.CI95.Mean.Lo, coop.LatencyS.CI95.Mean.Hi)
	for _, r := range []results.BusReaderSummary{eager, coop} {
		assert.Positive(t, r.Ledger.Duplicated, "the crashed member's uncommitted work is processed again")
		assert.Zero(t, r.Ledger.Lost, "auto-commit after processing loses nothing")
	}
}

// TestPoisonMessageShowsTheEffect checks poison-message's promise: without
// a delivery limit the poison messages loop and the backlog grows without
// bound; with one, each is delivered exactly 5 times and dead-lettered
// exactly once, and the queue stays short.
func TestPoisonMessageShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "poison-message", 0))
	loop, dlq := busReader(t, s.Variants[0], "jobs"), busReader(t, s.Variants[1], "jobs")
	require.Equal(t, "dead-letter-after-5", s.Variants[1].Name)
	assert.Greater(t, loop.LagMax.CI95.Lo, 1000*dlq.LagMax.CI95.Hi, "the stalled queue's backlog")
	assert.Zero(t, loop.Ledger.DeadLettered)
	assert.Greater(t, loop.Ledger.Redeliveries, loop.Ledger.Published, "the hot loop: more redeliveries than messages")
	assert.Positive(t, dlq.Ledger.DeadLettered)
	assert.Equal(t, 4*dlq.Ledger.DeadLettered, dlq.Ledger.Redeliveries, "5 deliveries per poison message, none for the others")
	assert.Less(t, dlq.LatencyS.CI95.Mean.Hi, loop.LatencyS.CI95.Mean.Lo)
}

// TestAckTimeoutTooShortShowsTheEffect checks ack-timeout-too-short's
// promise: with a 2 s visibility timeout a large share of the jobs is
// processed more than once, and the wasted work makes every job wait.
func TestAckTimeoutTooShortShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "ack-timeout-too-short", 0))
	ok, short := busReader(t, s.Variants[0], "images"), busReader(t, s.Variants[1], "images")
	require.Equal(t, "visibility-2s", s.Variants[1].Name)
	assert.Zero(t, ok.Ledger.Duplicated, "30 s is longer than any processing and wait")
	assert.Greater(t, short.DuplicatedShare.CI95.Lo, 0.2, "a duplicate storm")
	assert.Greater(t, short.Ledger.Processed, short.Ledger.Published*5/4, "a quarter more work, at least")
	assert.Greater(t, short.LatencyS.CI95.Mean.Lo, 5*ok.LatencyS.CI95.Mean.Hi)
}

// TestBrokerFailoverShowsTheEffect checks broker-failover's promise:
// acks=1 publishes in no time and loses acknowledged writes at each
// failover; acks=all waits for replication and loses nothing.
func TestBrokerFailoverShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "broker-failover", 0))
	one, all := s.Variants[0], s.Variants[1]
	require.Equal(t, "acks-all", all.Name)
	lOne, lAll := busReader(t, one, "ledger"), busReader(t, all, "ledger")
	assert.Greater(t, lOne.LostShare.CI95.Lo, 0.0, "acks=1 loses writes at every failover")
	assert.Equal(t, lOne.Ledger.Lost, lOne.Ledger.LostBy.Failover)
	assert.Zero(t, lAll.Ledger.Lost, "acks=all loses nothing acknowledged")
	pOne, pAll := one.Workloads[0].LatencyS, all.Workloads[0].LatencyS
	assert.Less(t, pOne.CI95.P50.Hi, pAll.CI95.P50.Lo, "acks=1 answers before replication")
	assert.Less(t, pOne.CI95.Mean.Hi, pAll.CI95.Mean.Lo)
}

// TestMetastableRetryStormShowsTheEffect checks metastable-retry-storm's
// promise: without a budget the goodput stays near zero long after the
// trigger ends; with one it returns to the offered load.
func TestMetastableRetryStormShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "metastable-retry-storm", 2)
	s := results.Summarize(exp)
	tail := func(v results.VariantSummary) float64 { // mean goodput over the last 30s
		tp := v.Timeline.Workloads[0].ThroughputPerS
		var sum float64
		for _, x := range tp[len(tp)-15:] {
			sum += x
		}
		return sum / 15
	}
	before := s.Variants[0].Timeline.Workloads[0].ThroughputPerS[20] // at 40s, before the trigger
	assert.InDelta(t, 700, before, 70)
	assert.Less(t, tail(s.Variants[0]), 70.0, "no budget: the storm outlives its trigger")
	assert.Greater(t, tail(s.Variants[1]), 630.0, "with the budget: back to the offered load")
}

// TestPodCrashDiscoveryLagShowsTheEffect checks pod-crash-discovery-lag's
// promise: a slower control plane means more refused requests, and
// Istio's retries leave only the requests lost in the crash.
func TestPodCrashDiscoveryLagShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "pod-crash-discovery-lag", 5)
	s := results.Summarize(exp)
	fast, slow, retries := s.Variants[0], s.Variants[1], s.Variants[2]
	require.Equal(t, "slow-discovery-istio-retries", retries.Name)
	assert.Greater(t, slow.Workloads[0].ErrorRate.CI95.Lo, fast.Workloads[0].ErrorRate.CI95.Hi)
	assert.Positive(t, retries.Services[0].Lost)
	assert.Equal(t, retries.Services[0].Lost, retries.Workloads[0].Outcomes.Rejected, "only the lost requests fail")
	assert.Equal(t, fast.Services[0].Lost, slow.Services[0].Lost, "the crash is the same in every variant")
}

// TestZonePartitionShowsTheEffect checks zone-partition's promise: each
// step (retries after a per-try timeout, then outlier detection) removes
// most of the failures the partition causes.
func TestZonePartitionShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "zone-partition", 3)
	s := results.Summarize(exp)
	only, retries, od := s.Variants[0], s.Variants[1], s.Variants[2]
	require.Equal(t, "retries-outlier-detection", od.Name)
	assert.Greater(t, only.Workloads[0].ErrorRate.CI95.Lo, 2*retries.Workloads[0].ErrorRate.CI95.Hi)
	assert.Greater(t, retries.Workloads[0].ErrorRate.CI95.Lo, 10*od.Workloads[0].ErrorRate.CI95.Hi)
	assert.Positive(t, od.Sidecars[0].Ejections)
	assert.Less(t, od.Workloads[0].LatencyS.P99, retries.Workloads[0].LatencyS.P99/2, "ejected hosts cost no per-try timeouts")
}

// TestRandomFailuresShowsTheEffect checks random-failures' promise: the
// same crashes in both variants, errors without retries and none with.
func TestRandomFailuresShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "random-failures", 2)
	for i := range exp.Variants[0].Replications {
		assert.Equal(t, exp.Variants[0].Replications[i].Failures, exp.Variants[1].Replications[i].Failures)
		assert.NotEmpty(t, exp.Variants[0].Replications[i].Failures)
	}
	s := results.Summarize(exp)
	none, retries := s.Variants[0], s.Variants[1]
	assert.Positive(t, none.Workloads[0].Outcomes.Rejected)
	assert.Zero(t, retries.Workloads[0].Outcomes.Rejected+retries.Workloads[0].Outcomes.Error+retries.Workloads[0].Outcomes.Timeout)
}

// TestCQRSStalenessShowsTheEffect checks cqrs-staleness's promise: the
// read model's staleness grows with the command rate, steeply near the
// projector's capacity, while the command latency barely moves; twice the
// projectors bring it back near the low-load figure; each order's trace
// ends with its projection.
func TestCQRSStalenessShowsTheEffect(t *testing.T) {
	s := results.Summarize(runShipped(t, "cqrs-staleness", 0))
	require.Len(t, s.Variants, 4)
	require.Equal(t, "560-per-s-6-consumers", s.Variants[3].Name)
	var stale []*results.Latency
	for _, v := range s.Variants {
		r := busReader(t, v, "projector")
		require.Equal(t, "order-view", r.ReadModel)
		require.NotNil(t, r.StalenessS)
		stale = append(stale, r.StalenessS)
		assert.Len(t, r.StalenessTimelineS, 64)
		assert.Zero(t, r.Ledger.Lost+r.Ledger.Dropped+r.Ledger.Duplicated, v.Name)
		w := v.Workloads[0]
		require.NotNil(t, w.EndToEndS)
		// The trace ends after the projection: its mean is the command's
		// plus the staleness, give or take the projections that came first.
		assert.Greater(t, w.EndToEndS.Mean, w.LatencyS.Mean+0.9*r.StalenessS.Mean, v.Name)
		assert.Less(t, w.LatencyS.Mean, 1.05*s.Variants[0].Workloads[0].LatencyS.Mean, "%s: the write path does not see it", v.Name)
	}
	s300, s450, s560, s6 := stale[0], stale[1], stale[2], stale[3]
	assert.Less(t, s300.CI95.Mean.Hi, s450.CI95.Mean.Lo)
	assert.Less(t, s450.CI95.Mean.Hi, s560.CI95.Mean.Lo)
	assert.Greater(t, s560.Mean, 3*s450.Mean, "near capacity, steeply")
	assert.Greater(t, s560.P99, 5*s300.P99)
	assert.Less(t, s6.CI95.Mean.Hi, s560.CI95.Mean.Lo)
	assert.InDelta(t, s300.Mean, s6.Mean, 0.2*s300.Mean, "6 consumers at 560/s: as fresh as 3 at 300/s")
	assert.LessOrEqual(t, s.Variants[2].Bus.TracesOpen, int64(5*200), "at most the last moments' orders are unfinished")
}

// TestAutoscaleRampShowsTheEffect checks autoscale-ramp's promise: the
// HPA follows the ramp (14 pods at the peak), p99 and errors rise while
// new pods start, the 30 s stabilisation window gives pods back minutes
// earlier than the default 5 m one, and a lower target keeps p99 flat with
// more pods.
func TestAutoscaleRampShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "autoscale-ramp", 0)
	s := results.Summarize(exp)
	by := map[string]results.VariantSummary{}
	for _, v := range s.Variants {
		by[v.Name] = v
	}
	def, fast, low := by["default"], by["fast-scale-down"], by["target-40"]
	window := def.Timeline.WindowS
	at := func(v results.VariantSummary, sec float64) float64 {
		return v.Timeline.Services[0].Ready[int(sec/window)]
	}
	p99 := func(v results.VariantSummary, sec float64) float64 {
		return *v.Timeline.Workloads[0].P99S[int(sec/window)]
	}

	assert.Equal(t, 4.0, at(def, 90), "4 pods before the ramp: ceil(3 x 67/60)")
	assert.Equal(t, 14.0, at(def, 6*60), "14 pods at the peak (1600/s at 60% of 200/s each)")
	assert.Greater(t, p99(def, 4*60+15), 2.5*p99(def, 60), "p99 while the new pods start")
	assert.Less(t, p99(def, 6*60), 1.2*p99(def, 60), "p99 back once they are ready")
	// After the ramp: the default keeps its pods for 5 minutes, the short
	// window gives them back.
	assert.Equal(t, 14.0, at(def, 10*60))
	assert.LessOrEqual(t, at(fast, 10*60), 4.0)
	assert.Less(t, fast.Services[0].RunningInstances.CI95.Hi, def.Services[0].RunningInstances.CI95.Lo)
	assert.InDelta(t, def.Workloads[0].LatencyS.P99, fast.Workloads[0].LatencyS.P99, 0.01, "same p99")
	// The lower target: more pods, flat p99, almost no errors.
	assert.Equal(t, 20, low.Autoscalers[0].MaxDesired)
	assert.Less(t, low.Workloads[0].LatencyS.CI95.P99.Hi, def.Workloads[0].LatencyS.CI95.P99.Lo)
	assert.Less(t, low.Workloads[0].ErrorRate.Mean, def.Workloads[0].ErrorRate.Mean/10)
	assert.Greater(t, low.Services[0].RunningInstances.CI95.Lo, def.Services[0].RunningInstances.CI95.Hi)
}

// TestRollingDeployBadVersionShowsTheEffect checks
// rolling-deploy-bad-version's promise: the error rate rises during the
// deploy, faster and higher with Kubernetes' default strategy, and
// outlier detection contains it.
func TestRollingDeployBadVersionShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "rolling-deploy-bad-version", 0)
	s := results.Summarize(exp)
	by := map[string]results.VariantSummary{}
	for _, v := range s.Variants {
		by[v.Name] = v
	}
	one, def, od := by["one-at-a-time"], by["k8s-default"], by["outlier-detection"]
	window := one.Timeline.WindowS
	errAt := func(v results.VariantSummary, sec float64) float64 {
		return *v.Timeline.Workloads[0].ErrorRate[int(sec/window)]
	}
	assert.Zero(t, errAt(one, 50), "no errors before the deploy")
	assert.Greater(t, errAt(one, 230), 0.06, "one at a time: errors climb during the deploy")
	assert.Greater(t, errAt(one, 230), 2*errAt(one, 100))
	assert.InDelta(t, 0.2, errAt(def, 180), 0.03, "the default replaces every pod: 20% fail")
	assert.Zero(t, errAt(one, 400), "none after the rollback")
	assert.Less(t, od.Workloads[0].ErrorRate.CI95.Hi, 0.01, "outlier detection contains it")
	assert.Less(t, one.Workloads[0].ErrorRate.CI95.Hi, def.Workloads[0].ErrorRate.CI95.Lo)
	// The deploys are on the timeline: v2 superseded by the rollback at
	// 4m, except under the default, where it completed first.
	ev := one.Timeline.Events
	require.Len(t, ev, 2)
	assert.Equal(t, results.FailureEvent{Kind: "deploy", Target: "checkout v2", FromS: 60, ToS: 240}, ev[0])
	assert.Equal(t, 0, one.Deploys[0].Completed)
	assert.Equal(t, 5, def.Deploys[0].Completed)
	// Pods by version: at most 11 (max_surge 1) one at a time, 13 (25%)
	// under the default; v2 holds every pod under the default at 3m.
	svc := def.Timeline.Services[0]
	assert.Equal(t, 10.0, svc.Versions[1].Running[int(180/window)])
	for k := range one.Timeline.Services[0].Running {
		assert.LessOrEqual(t, one.Timeline.Services[0].Running[k], 11.0+1e-9)
		assert.LessOrEqual(t, svc.Running[k], 13.0+1e-9)
	}
}

// TestLoadSweepShowsTheEffect checks load-sweep's promise: every policy's
// p99 grows with load, random's the most; least request's stays lowest at
// every point, with a paired difference below zero at the two highest
// loads; and the paired differences pair each variant with random at the
// same load.
func TestLoadSweepShowsTheEffect(t *testing.T) {
	exp := runShipped(t, "load-sweep", 0)
	s := results.Summarize(exp)
	require.Len(t, s.Variants, 3*4)
	p99 := map[string][]float64{}
	for _, v := range s.Variants {
		require.Len(t, v.Sweep, 1)
		p99[v.Base] = append(p99[v.Base], v.Workloads[0].LatencyS.P99)
	}
	for name, ps := range p99 {
		for k := 1; k < len(ps); k++ {
			assert.Greater(t, ps[k], ps[k-1], "%s: p99 grows with load", name)
		}
	}
	for k := range p99["random"] {
		assert.Less(t, p99["least-request"][k], p99["round-robin"][k], "point %d", k)
		assert.Less(t, p99["round-robin"][k], p99["random"][k], "point %d", k)
	}
	assert.Greater(t, p99["random"][3]/p99["random"][0], 5.0, "random's p99 grows steeply near capacity")
	assert.Greater(t, p99["random"][3]/p99["least-request"][3], 3.0, "least request keeps the tail at 95% load")
	// The SLO (p99 <= 100 ms) holds for least request at every load, and
	// random breaks it near capacity.
	verdicts := map[string]string{}
	for _, r := range s.SLO.Results {
		verdicts[r.Variant] = r.Verdict
	}
	for _, rate := range []string{"1000/s", "1400/s", "1700/s", "1900/s"} {
		assert.NotEqual(t, results.VerdictViolated, verdicts["least-request rate="+rate], rate)
	}
	assert.Equal(t, results.VerdictMet, verdicts["random rate=1000/s"])
	assert.Equal(t, results.VerdictViolated, verdicts["random rate=1900/s"])
	for _, c := range s.Comparisons {
		assert.Equal(t, "random "+c.Variant[len(c.Variant)-len("rate=1000/s"):], c.Baseline, "paired at the same load")
		if c.Variant == "least-request rate=1700/s" || c.Variant == "least-request rate=1900/s" {
			assert.Less(t, c.LatencyP99S.CI95.Hi, 0.0, "%s: paired p99 difference below zero", c.Variant)
		}
	}
}

// TestLittlesLawHolds checks the books of shipped scenarios whose
// requests all finish (no deadlines, no crashes) against L = λW: the time
// -weighted number of requests at a service's instances against its
// completion rate times their mean time there.
func TestLittlesLawHolds(t *testing.T) {
	for _, name := range []string{"mm1", "mmc", "quickstart", "retry-storm"} {
		exp := runShipped(t, name, 2)
		for _, v := range results.Summarize(exp).Variants {
			for _, svc := range v.Services {
				c := svc.LittlesLaw
				require.NotNil(t, c, "%s %s %s", name, v.Name, svc.Name)
				assert.InEpsilon(t, c.LambdaW, c.L, 0.005, "%s %s %s: L %v, λW %v", name, v.Name, svc.Name, c.L, c.LambdaW)
			}
		}
	}
}
