package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const msNs = int64(time.Millisecond)

const source = `version: 1
name: slow-pod
seed: 42
duration: 110s
warmup: 10s
replications: 3
workloads:
  - {name: web, arrival: {dist: poisson, rate: 10/s}, target: checkout}
  - {name: batch, arrival: {dist: constant, rate: 5/s}, target: checkout}
variants:
  - {name: round-robin, set: {services.checkout.sidecar.lb.policy: round_robin}}
  - {name: p2c, set: {services.checkout.sidecar.lb.policy: least_request}}
`

// linear records the latencies (k*num/den + offsetMs) ms for k = 1..1000.
func linear(num, den, offsetMs int64) *stats.Histogram {
	h := stats.NewHistogram()
	for k := int64(1); k <= 1000; k++ {
		h.Record(k*num*msNs/den + offsetMs*msNs)
	}
	return h
}

// testExperiment is two variants by three replications with numbers that
// are easy to check by hand:
//
//   - round-robin, replication i: web has 1000 ok requests with latencies
//     (k + 10i) ms for k = 1..1000, i errors, 2 timeouts and 1 in flight;
//     batch is rejected 5+i times and never completes.
//   - p2c, replication i: web has 1000 ok requests with latencies
//     (0.8k + 10i) ms and 1 timeout; batch completes 10 requests at 5 ms.
//
// The measured window is 100 s.
//
// Each workload also has a timeline in 11 windows of 10 s (warm-up
// included): web completes 100 ok requests per window at (10 + i) ms,
// except in windows 5 and 6, during a slow failure of checkout[2] from 50 s
// to 70 s, where round-robin's are at (100 + 10i) ms and its errors
// happen; batch is rejected in window 3 under round robin. Round robin's
// proxy has outlier detection and ejects host 2 from 52 s to 75 s.
func testExperiment() *results.Experiment {
	e := &results.Experiment{
		Scenario:     "slow-pod",
		Description:  "Round-robin against p2c, with one slow pod & a <batch> job.",
		Source:       source,
		Seed:         42,
		Version:      "v0.1.0-test",
		Duration:     110 * time.Second,
		Warmup:       10 * time.Second,
		Replications: 3,
		Variants:     []results.Variant{{Name: "round-robin"}, {Name: "p2c"}},
	}
	for i := range int64(3) {
		e.Variants[0].Replications = append(e.Variants[0].Replications, results.Replication{
			Index:  int(i),
			Events: 50_000 + uint64(i),
			Workloads: []results.Workload{
				{Name: "web", Outcomes: results.Outcomes{OK: 1000, Error: i, Timeout: 2, InFlight: 1}, Latency: linear(1, 1, 10*i),
					EndToEnd: linear(3, 2, 10*i),
					Series: testSeries(100, func(k int) (int64, int64) {
						if k == 5 || k == 6 {
							return 100 + 10*i, i
						}
						return 10 + i, 0
					})},
				{Name: "batch", Outcomes: results.Outcomes{Rejected: 5 + i}, Latency: stats.NewHistogram(),
					Series: testSeries(0, func(k int) (int64, int64) {
						if k == 3 {
							return 0, 5 + i
						}
						return 0, 0
					})},
			},
			Sidecars: []results.Sidecar{{Caller: "web", Service: "checkout", Calls: 1006 + i, Attempts: 1100 + i,
				Retries: 94, RetryOverflows: 3, PerTryTimeouts: 40, RouteTimeouts: 2, HostAttempts: []int64{400, 400, 300 + i},
				Outlier: true, Ejected: []results.Ejection{{Host: 2, From: 52 * time.Second, To: 75 * time.Second}}}},
			Failures: []results.Failure{{Kind: "slow", Target: "checkout[2]", From: 50 * time.Second, To: 70 * time.Second}},
			Services: []results.Service{
				{Name: "checkout", Instances: 3, Concurrency: 4, Utilisation: 0.5 + 0.1*float64(i),
					QueueLengthMean: 1.5 + 0.5*float64(i), Completed: 1000, Latency: linear(1, 1, i),
					InstanceCompleted: []int64{300 + i, 300, 400 - i}},
				{Name: "payments", Instances: 1, Concurrency: 1, InstanceCompleted: []int64{0}},
			},
			Bus: testBus(i),
		})
		batch := stats.NewHistogram()
		batch.RecordN(5*msNs, 10)
		e.Variants[1].Replications = append(e.Variants[1].Replications, results.Replication{
			Index:  int(i),
			Events: 40_000 + uint64(i),
			Workloads: []results.Workload{
				{Name: "web", Outcomes: results.Outcomes{OK: 1000, Timeout: 1}, Latency: linear(4, 5, 10*i),
					Series: testSeries(100, func(k int) (int64, int64) {
						if k == 5 || k == 6 {
							return 20 + i, 0
						}
						return 8 + i, 0
					})},
				{Name: "batch", Outcomes: results.Outcomes{OK: 10}, Latency: batch,
					Series: testSeries(1, func(int) (int64, int64) { return 5, 0 })},
			},
			Failures: []results.Failure{{Kind: "slow", Target: "checkout[2]", From: 50 * time.Second, To: 70 * time.Second}},
			Services: []results.Service{
				{Name: "checkout", Instances: 3, Concurrency: 4, Utilisation: 0.45 + 0.05*float64(i),
					QueueLengthMean: 0.5, Completed: 1010, Latency: linear(4, 5, i),
					InstanceCompleted: []int64{336, 337, 337}},
				{Name: "payments", Instances: 1, Concurrency: 1, InstanceCompleted: []int64{0}},
			},
		})
	}
	conserve(e)
	return e
}

// testSeries is a series of 11 windows of 10 s over 110 s in which every
// window has ok requests completed ok, at latencyMs ms, and notOK others,
// as at(k) gives for window k.
func testSeries(ok int64, at func(k int) (latencyMs, notOK int64)) *results.Series {
	s := &results.Series{Width: 10 * time.Second, End: 110 * time.Second}
	for k := range 11 {
		latency, notOK := at(k)
		h := stats.NewHistogram()
		h.RecordN(latency*msNs, ok)
		b, err := h.MarshalBinary()
		if err != nil {
			panic(err)
		}
		s.OK = append(s.OK, ok)
		s.NotOK = append(s.NotOK, notOK)
		s.Latency = append(s.Latency, b)
	}
	return s
}

// testBus is replication i's bus: a group of a 3-partition topic whose
// third partition lags, a queue with a dead-letter queue, and two
// producers.
func testBus(i int64) *results.Bus {
	timeline := make([]int64, 64)
	staleSum, staleN := make([]int64, 64), make([]int64, 64)
	for k := range timeline {
		timeline[k] = int64(k) * (10 + i)
		if k != 10 { // a slice without commands
			staleN[k] = 100
			staleSum[k] = 100 * (int64(k%16) + i) * msNs
		}
	}
	return &results.Bus{
		Readers: []results.BusReader{
			{Kind: "group", Name: "fulfilment", Source: "orders", Consumers: 2,
				Ledger: results.Ledger{Published: 3000, Consumed: 2800 - i, Duplicated: 10 + i, Lost: 5,
					LostBy: results.LossReasons{Failover: 5}, Pending: 185, Deliveries: 3010, Redeliveries: 10 + i,
					Processed: 2820, Duplicates: 10 + i, Reordered: 3},
				Latency: linear(1, 1, 5*i), PartitionLag: []int64{2, 3, 400 + 10*i}, LagTimeline: timeline,
				LagStep: 110 * time.Second / 64, Rebalances: 2 + i, Paused: time.Duration(3+i) * time.Second},
			{Kind: "queue", Name: "emails", Source: "emails", Consumers: 3,
				Ledger: results.Ledger{Published: 500, Consumed: 480 - i, DeadLettered: 15, Dropped: 4 + i,
					DroppedBy: results.DropReasons{TTL: 4 + i}, Pending: 1, Deliveries: 560, Redeliveries: 60, Processed: 480 - i},
				Latency: linear(4, 5, i), PartitionLag: []int64{1}, LagTimeline: timeline, LagStep: 110 * time.Second / 64,
				ReadModel: "email-view", Staleness: linear(2, 3, i), StalenessSum: staleSum, StalenessCount: staleN},
		},
		Producers: []results.BusProducer{
			{Caller: "checkout", Destination: "orders", Producers: 3, Published: 2000, Acked: 1995, Refused: 5,
				Retries: 12, DedupedRetries: 12, RequestErrors: 4, OutOfOrder: 2 + i, AckLatency: linear(1, 2, i)},
			{Caller: "web", Destination: "emails", Producers: 1, Published: 500, Acked: 500, AckLatency: linear(1, 4, i)},
		},
	}
}

func render(t *testing.T, e *results.Experiment) map[string][]byte {
	t.Helper()
	files, err := Render(e)
	require.NoError(t, err)
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		m[f.Name] = f.Data
	}
	return m
}

func TestRenderFileOrder(t *testing.T) {
	files, err := Render(testExperiment())
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		assert.NotEmpty(t, f.Data, f.Name)
	}
	assert.Equal(t, []string{"summary.json", "report.md", "report.html", "latency-cdf.svg", "latency-cdf.png",
		"percentiles.svg", "percentiles.png", "instance-load.svg", "instance-load.png",
		"timeline-web.svg", "timeline-web.png", "timeline-batch.svg", "timeline-batch.png",
		"lag-fulfilment.svg", "lag-fulfilment.png", "lag-emails.svg", "lag-emails.png",
		"workloads.csv", "services.csv", "sidecars.csv", "timeline.csv", "events.csv"}, names)
}

func TestRenderGolden(t *testing.T) {
	files := render(t, testExperiment())
	for _, name := range []string{SummaryJSON, ReportMarkdown, ReportHTML, LatencyCDFSVG, PercentilesSVG, InstanceLoadSVG, "timeline-web.svg", "lag-emails.svg", WorkloadsCSV, SidecarsCSV, TimelineCSV} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, files[name], 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./report/ -update to create it")
			if !bytes.Equal(want, files[name]) {
				t.Errorf("%s differs from %s; review the change and run go test ./report/ -update", name, path)
				assert.Equal(t, string(want), string(files[name]))
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	first, err := Render(testExperiment())
	require.NoError(t, err)
	second, err := Render(testExperiment())
	require.NoError(t, err)
	require.Len(t, second, len(first))
	for i := range first {
		assert.True(t, bytes.Equal(first[i].Data, second[i].Data), "%s differs between two renders", first[i].Name)
	}
}

func TestSummaryJSONValues(t *testing.T) {
	files := render(t, testExperiment())
	js := files[SummaryJSON]
	require.True(t, bytes.HasSuffix(js, []byte("}\n")), "trailing newline")
	require.True(t, bytes.HasPrefix(js, []byte("{\n  \"schema\": \"meshsim/summary/v1\",\n")), "two-space indent")

	var s results.Summary
	require.NoError(t, json.Unmarshal(js, &s))
	assert.Equal(t, "slow-pod", s.Scenario)
	assert.Equal(t, uint64(42), s.Seed)
	assert.Equal(t, 110.0, s.DurationS)
	assert.Equal(t, 10.0, s.WarmupS)
	require.Len(t, s.Variants, 2)

	rr := s.Variants[0]
	assert.Equal(t, "round-robin", rr.Name)
	assert.Equal(t, uint64(150_003), rr.Events)
	web := rr.Workloads[0]
	assert.Equal(t, int64(3012), web.Requests)
	assert.Equal(t, results.Outcomes{OK: 3000, Error: 3, Timeout: 6, InFlight: 3}, web.Outcomes)
	assert.Equal(t, 10.0, web.ThroughputPerS.Mean)
	// Replication means 500.5, 510.5, 520.5 ms: mean 510.5, sd 10,
	// half-width t(0.975, 2) * 10 / sqrt(3) = 24.841 ms.
	half := 4.30265273 * 0.010 / math.Sqrt(3)
	assert.InDelta(t, 0.5105, web.LatencyS.Mean, 1e-12)
	assert.InDelta(t, 0.5105-half, web.LatencyS.CI95.Mean.Lo, 1e-9)
	assert.InDelta(t, 0.5105+half, web.LatencyS.CI95.Mean.Hi, 1e-9)
	assert.InEpsilon(t, 0.510, web.LatencyS.P50, 0.005)
	assert.InEpsilon(t, 0.910, web.LatencyS.P90, 0.005)
	assert.InEpsilon(t, 1.000, web.LatencyS.P99, 0.005)
	assert.InEpsilon(t, 1.009, web.LatencyS.P999, 0.005)

	batch := rr.Workloads[1]
	assert.Nil(t, batch.LatencyS, "no ok requests: no latency")
	assert.Equal(t, 1.0, batch.ErrorRate.Mean)
	assert.Equal(t, int64(18), batch.Outcomes.Rejected)

	checkout := rr.Services[0]
	assert.InDelta(t, 0.6, checkout.Utilisation.Mean, 1e-12)
	assert.InDelta(t, 2.0, checkout.QueueLengthMean.Mean, 1e-12)
	assert.InDeltaSlice(t, []float64{0.301, 0.3, 0.399}, checkout.InstanceShare, 1e-12)
	assert.Nil(t, rr.Services[1].LatencyS)
	assert.Nil(t, rr.Services[1].InstanceShare)

	p2c := s.Variants[1]
	// Mean of 0.8k over k = 1..1000 is 400.4 ms; plus 10 ms on average.
	assert.InDelta(t, 0.4104, p2c.Workloads[0].LatencyS.Mean, 1e-12)
	assert.InDelta(t, 0.005, p2c.Workloads[1].LatencyS.P99, 1e-12)
	assert.Equal(t, Interval(0.005, 0.005), p2c.Workloads[1].LatencyS.CI95.P99)
}

// Interval is a shorthand for a results.Interval literal.
func Interval(lo, hi float64) results.Interval { return results.Interval{Lo: lo, Hi: hi} }

func TestRenderNoNaNOrInf(t *testing.T) {
	files := render(t, testExperiment())
	for _, name := range []string{SummaryJSON, ReportMarkdown, ReportHTML, LatencyCDFSVG, "timeline-web.svg", "timeline-batch.svg"} {
		for _, bad := range []string{"NaN", "Inf"} {
			assert.NotContains(t, string(files[name]), bad, name)
		}
	}
	// null marks a window without data in the timeline's arrays and a
	// slice without commands in a read model's staleness timeline, and
	// appears nowhere else.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(files[SummaryJSON], &doc))
	for _, v := range doc["variants"].([]any) {
		delete(v.(map[string]any), "timeline")
		if b, ok := v.(map[string]any)["bus"]; ok {
			for _, r := range b.(map[string]any)["readers"].([]any) {
				delete(r.(map[string]any), "staleness_timeline_s")
			}
		}
	}
	rest, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.NotContains(t, string(rest), "null")
	assert.Contains(t, string(files[SummaryJSON]), "null", "batch has no ok request under round robin")
}

func TestMarkdownContent(t *testing.T) {
	md := string(render(t, testExperiment())[ReportMarkdown])
	for _, want := range []string{
		"# slow-pod\n",
		"seed 42 · version v0.1.0-test · duration 1m50s · warm-up 10s · 3 replications",
		"![slow-pod: latency CDF](latency-cdf.svg)",
		"## Variant round-robin",
		"### Workload web",
		"| requests | 3012 |",
		"| ok | 3000 |",
		"| error | 3 |",
		"| timeout | 6 |",
		"| in_flight | 3 |",
		"| throughput | 10.0 ± 0 /s |",
		"| latency mean | 510 ± 25 ms |", // 510.5 ± 24.84, ties to even
		"| throughput | 0.100 ± 0 /s |",  // a constant rate: the float noise in the half-width is not shown
		"| error rate | 0.299 ± 0.25 % |",
		"| latency p99 | 5.00 ± 0 ms |",
		"| latency | no completed requests |",
		"| rejected | 18 |",
		"| checkout | 3 × 4 | 3000 | 60.0 ± 25 % | 2.00 ± 1.2 | 501 ± 2.5 ms |",
		"30.1% / 30.0% / 39.9%",
		"| payments | 1 × 1 | 0 | 0 ± 0 % | 0 ± 0 | no completed requests | - | - |",
		"- Conservation (web): requests 3012 = sum of outcomes 3012, conserved.",
		"- Conservation (batch): requests 18 = sum of outcomes 18, conserved.",
		"```yaml\nversion: 1\n",
	} {
		assert.Contains(t, md, want)
	}
	// Zero outcomes are left out.
	assert.NotContains(t, md, "| shed |")
	assert.NotContains(t, md, "| dropped |")
}

func TestMarkdownSingleReplicationHasNoHalfWidths(t *testing.T) {
	e := testExperiment()
	e.Replications = 1
	for i := range e.Variants {
		e.Variants[i].Replications = e.Variants[i].Replications[:1]
	}
	md := string(render(t, e)[ReportMarkdown])
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			assert.NotContains(t, line, "±")
		}
	}
	assert.Contains(t, md, "| latency mean | 500 ms |") // 500.5, ties to even
	assert.Contains(t, md, "1 replication, 50000 kernel events")
}

func TestMarkdownFenceOutgrowsSource(t *testing.T) {
	e := testExperiment()
	e.Source = "description: |\n  ```\n  a fenced block inside the YAML\n  ````\n"
	md := string(render(t, e)[ReportMarkdown])
	assert.Contains(t, md, "\n`````yaml\ndescription: |\n")
	assert.True(t, strings.HasSuffix(md, "\n`````\n"))
}

func TestMarkdownEscapesTableCells(t *testing.T) {
	e := testExperiment()
	e.Variants[0].Replications[0].Services[0].Name = "a|b"
	md := string(render(t, e)[ReportMarkdown])
	assert.Contains(t, md, `| a\|b |`)
}

// externalRef finds URLs that a browser could fetch.
var externalRef = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)

func TestHTMLIsSelfContained(t *testing.T) {
	html := string(render(t, testExperiment())[ReportHTML])
	allowed := strings.NewReplacer(
		`xmlns="http://www.w3.org/2000/svg"`, "",
		`xmlns:xlink="http://www.w3.org/1999/xlink"`, "",
	).Replace(html)
	assert.NotContains(t, allowed, "http://")
	assert.NotContains(t, allowed, "https://")
	assert.Empty(t, externalRef.FindAllString(allowed, -1))
	for _, tag := range []string{"<script", "<link", "<img", "<iframe", "src=", "@import", "url("} {
		assert.NotContains(t, html, tag)
	}
	assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>\n"))
	assert.NotContains(t, html, "<?xml", "the SVG prolog is stripped")
	assert.Equal(t, 7, strings.Count(html, "<svg"), "the CDF, percentiles, instance load, two timelines and two bus readers' lag")
	assert.Contains(t, html, "seed 42 · version v0.1.0-test")
	assert.Contains(t, html, "<td>latency</td><td>no completed requests</td>")
	assert.Contains(t, html, "<pre>version: 1\n")
	// The description is user text and is escaped.
	assert.Contains(t, html, "one slow pod &amp; a &lt;batch&gt; job.")
}

func TestHTMLAndSVGEscapeUserText(t *testing.T) {
	e := testExperiment()
	e.Scenario = `<script>alert("x")</script>`
	e.Variants[0].Name = `<img src=x onerror=alert(1)>`
	e.Source = "name: </pre><script>alert(2)</script>\n"
	files := render(t, e)
	for _, name := range []string{ReportHTML, LatencyCDFSVG} {
		assert.NotContains(t, string(files[name]), "<script", name)
		assert.NotContains(t, string(files[name]), "<img", name)
	}
	assert.Contains(t, string(files[ReportHTML]), "&lt;script&gt;")
}

func TestPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(render(t, testExperiment())[LatencyCDFPNG]))
	require.NoError(t, err)
	// 16 cm x 10 cm at 96 dpi.
	assert.InDelta(t, 605, img.Bounds().Dx(), 1)
	assert.InDelta(t, 378, img.Bounds().Dy(), 1)
}

func TestSVGPlot(t *testing.T) {
	svg := string(render(t, testExperiment())[LatencyCDFSVG])
	assert.True(t, strings.HasPrefix(svg, "<?xml"))
	assert.Contains(t, svg, "slow-pod: latency CDF")
	assert.Contains(t, svg, "latency (ms)")
	assert.Contains(t, svg, "cumulative fraction")
	for _, label := range []string{"round-robin / web", "p2c / web", "p2c / batch"} {
		assert.Contains(t, svg, ">"+label+"<")
	}
	assert.NotContains(t, svg, "round-robin / batch", "no line without data")
	assert.NotContains(t, svg, "@font-face", "fonts are not embedded")
}

func TestRenderDegenerateExperiments(t *testing.T) {
	zero := stats.NewHistogram()
	zero.Record(0)
	for _, tc := range []struct {
		name string
		e    *results.Experiment
	}{
		{"no variants", &results.Experiment{Scenario: "empty"}},
		{"no replications", &results.Experiment{Scenario: "x", Replications: 2, Variants: []results.Variant{{Name: "v"}}}},
		{"no ok requests anywhere", &results.Experiment{Scenario: "x", Duration: time.Second, Replications: 1,
			Variants: []results.Variant{{Name: "v", Replications: []results.Replication{{
				Workloads: []results.Workload{{Name: "w", Outcomes: results.Outcomes{Shed: 3}}},
			}}}}}},
		{"zero latency", &results.Experiment{Scenario: "x", Duration: time.Second, Replications: 1,
			Variants: []results.Variant{{Name: "v", Replications: []results.Replication{{
				Workloads: []results.Workload{{Name: "w", Outcomes: results.Outcomes{OK: 1}, Latency: zero}},
			}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Render(tc.e)
			require.NoError(t, err)
			for _, f := range files {
				assert.NotContains(t, string(f.Data), "NaN", f.Name)
			}
			_, err = png.Decode(bytes.NewReader(files[4].Data))
			require.NoError(t, err)
		})
	}
	_, err := Render(nil)
	require.Error(t, err)
}

func TestSig(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		n    int
		want string
	}{
		{0, 3, "0"},
		{1, 3, "1.00"},
		{510.5, 3, "510"},   // ties to even
		{1234.5, 3, "1234"}, // ties to even
		{511.5, 3, "512"},
		{-0.0001, 2, "-0.00010"},
		{math.Copysign(0, -1), 3, "0"},
		{0.012345, 3, "0.0123"},
		{9.996, 3, "10.0"},
		{99.96, 3, "100"},
		{-2.5, 2, "-2.5"},
		{24.8414, 2, "25"},
		{0.00049, 2, "0.00049"},
		{1e9, 3, "1000000000"},
	} {
		assert.Equal(t, tc.want, sig(tc.x, tc.n), "sig(%v, %d)", tc.x, tc.n)
	}
}

func TestWithCI(t *testing.T) {
	for _, tc := range []struct {
		mean  float64
		ci    *results.Interval
		scale float64
		unit  string
		want  string
	}{
		{0.5105, nil, 1000, "ms", "510 ms"},
		{0.5105, &results.Interval{Lo: 0.4857, Hi: 0.5353}, 1000, "ms", "510 ± 25 ms"},
		{0.1, &results.Interval{Lo: 0.1 - 4e-17, Hi: 0.1 + 4e-17}, 1, "/s", "0.100 ± 0 /s"}, // float noise
		{12.3, &results.Interval{Lo: 12.2959, Hi: 12.3041}, 1, "", "12.3 ± 0"},
		{2, &results.Interval{Lo: 0.758, Hi: 3.242}, 1, "", "2.00 ± 1.2"},
		{0.6, &results.Interval{Lo: 0.3516, Hi: 0.8484}, 100, "%", "60.0 ± 25 %"},
		{-0.004, &results.Interval{Lo: -0.0045, Hi: -0.0035}, 1000, "ms", "-4.00 ± 0.50 ms"},
	} {
		assert.Equal(t, tc.want, withCI(tc.mean, tc.ci, tc.scale, tc.unit))
	}
}

// conserve sets every workload's arrival count to the sum of its outcomes,
// as a run whose accounting is conserved would.
func conserve(e *results.Experiment) {
	for vi := range e.Variants {
		for ri := range e.Variants[vi].Replications {
			ws := e.Variants[vi].Replications[ri].Workloads
			for wi := range ws {
				ws[wi].Arrived = ws[wi].Outcomes.Total()
			}
		}
	}
}

func TestMarkdownFlagsBrokenConservation(t *testing.T) {
	e := testExperiment()
	md := string(render(t, e)["report.md"])
	assert.Contains(t, md, "Conservation (web): requests 3012 = sum of outcomes 3012, conserved.")
	e.Variants[0].Replications[1].Workloads[0].Arrived++ // one request never accounted for
	md = string(render(t, e)["report.md"])
	assert.Contains(t, md, "NOT CONSERVED")
}

func TestPairedDifferencesSection(t *testing.T) {
	files := render(t, testExperiment())
	md := string(files["report.md"])
	assert.Contains(t, md, "## Paired differences against round-robin")
	assert.Contains(t, md, "| variant | workload | Δ latency mean | Δ latency p99 |")
	// p2c's web latencies are lower than round robin's in every
	// replication (see testExperiment); batch has no ok requests under
	// round robin, so it has no row.
	assert.Regexp(t, `\| p2c \| web \| -\d+ ± [\d.]+ ms \(lower\) \| -\d+ ± [\d.]+ ms \(lower\) \|`, md)
	assert.NotContains(t, md, "| p2c | batch |")
	assert.Contains(t, string(files["report.html"]), "Paired differences against round-robin")

	one := testExperiment()
	one.Variants = one.Variants[:1]
	assert.NotContains(t, string(render(t, one)["report.md"]), "Paired differences")
}

func TestSidecarsTable(t *testing.T) {
	md := string(render(t, testExperiment())["report.md"])
	assert.Contains(t, md, "### Sidecars")
	// Sums over the three replications: calls 1006+1007+1008, attempts
	// 1100+1101+1102.
	assert.Contains(t, md, "| web → checkout | 3021 | 3303 | 1.09 | 282 | 9 | 0 | 120 | 6 | 0 | 0 (0) | 36.3% / 36.3% / 27.3% |")
}

// TestConnectionsTable checks that the Connections table, and only it,
// shows the connection pools' counts, and only for a variant where some
// proxy has pools.
func TestConnectionsTable(t *testing.T) {
	t.Run("without pools", func(t *testing.T) {
		files := render(t, testExperiment())
		assert.NotContains(t, string(files[ReportMarkdown]), "### Connections")
		assert.NotContains(t, string(files[ReportHTML]), "<h3>Connections</h3>")
	})
	t.Run("with pools", func(t *testing.T) {
		e := testExperiment()
		for i := range e.Variants[0].Replications {
			sc := &e.Variants[0].Replications[i].Sidecars[0]
			sc.Pooled = true
			sc.ConnectionsOpened, sc.ConnectFailures, sc.ConnectionsClosed = 40, 2, 38
			sc.ConnectionOverflows, sc.PendingOverflows, sc.MaxOpenConnections = 5, 1, 6+i
		}
		files := render(t, e)
		md := string(files[ReportMarkdown])
		require.Equal(t, 1, strings.Count(md, "### Connections"), "only the variant with pools has the table")
		// Sums over three replications; the most open is the largest peak.
		assert.Contains(t, md, "| caller → service | opened (failed) | closed | most open | max_connections overflows | pending overflows |")
		assert.Contains(t, md, "| web → checkout | 120 (6) | 114 | 8 | 15 | 3 |")
		assert.Contains(t, string(files[ReportHTML]), "<h3>Connections</h3>")
		csv := string(files[SidecarsCSV])
		assert.Contains(t, csv, ",120,6,114,15,3,8\n", "the pooled proxy's counts")
	})
}

func TestTimelineFigures(t *testing.T) {
	files := render(t, testExperiment())
	web := string(files["timeline-web.svg"])
	assert.True(t, strings.HasPrefix(web, "<?xml"))
	for _, want := range []string{
		"slow-pod: web over time", "p99 latency (ms)", "throughput (ok/s)", "error rate (%)", "ejected hosts", "time (s)",
		">round-robin<", ">p2c<", ">web → checkout<", // legends: variants, and proxies by dash
		">slow checkout[2]<", // the failure's label
		"fill:#E4E4E4",       // and its shading
	} {
		assert.Contains(t, web, want)
	}
	assert.NotContains(t, web, "@font-face", "fonts are not embedded")
	// The shading spans [50 s, 70 s] in each of the four panels.
	assert.Equal(t, 4, strings.Count(web, "fill:#E4E4E4"))

	// 16 cm wide; four panels of 4 cm plus 1.5 cm, at 96 dpi.
	img, err := png.Decode(bytes.NewReader(files["timeline-web.png"]))
	require.NoError(t, err)
	assert.InDelta(t, 605, img.Bounds().Dx(), 1)
	assert.InDelta(t, 661, img.Bounds().Dy(), 1)

	md := string(files[ReportMarkdown])
	assert.Contains(t, md, "## Timelines")
	assert.Contains(t, md, "![slow-pod: web over time](timeline-web.svg)")
	assert.Contains(t, md, "![slow-pod: batch over time](timeline-batch.svg)")
	html := string(files[ReportHTML])
	assert.Contains(t, html, "<h2>Timelines</h2>")
	assert.Contains(t, html, "<h3>Workload batch</h3>\n<figure>\n<svg")
}

func TestTimelineWithoutOutlierDetectionHasThreePanels(t *testing.T) {
	e := testExperiment()
	for _, v := range e.Variants {
		for i := range v.Replications {
			for j := range v.Replications[i].Sidecars {
				v.Replications[i].Sidecars[j].Outlier = false
			}
		}
	}
	files := render(t, e)
	web := string(files["timeline-web.svg"])
	assert.NotContains(t, web, "ejected hosts")
	assert.Equal(t, 3, strings.Count(web, "fill:#E4E4E4"))
	assert.Contains(t, web, "time (s)")
	img, err := png.Decode(bytes.NewReader(files["timeline-web.png"]))
	require.NoError(t, err)
	assert.InDelta(t, 510, img.Bounds().Dy(), 1) // three panels of 4 cm plus 1.5 cm
}

func TestNoTimelineWithoutSeries(t *testing.T) {
	e := testExperiment()
	for _, v := range e.Variants {
		for i := range v.Replications {
			for j := range v.Replications[i].Workloads {
				v.Replications[i].Workloads[j].Series = nil
			}
		}
	}
	files, err := Render(e)
	require.NoError(t, err)
	require.Len(t, files, 18, "the bar figures, the bus readers' figures and the CSV tables remain")
	for _, f := range files {
		assert.NotContains(t, f.Name, "timeline-")
	}
	assert.NotContains(t, string(files[1].Data), "Timelines")
	assert.NotContains(t, string(files[2].Data), "Timelines")
	assert.NotContains(t, string(files[0].Data), `"timeline"`)
}

func TestTimelineWithGapsAndEmptyWindows(t *testing.T) {
	// No request finishes in any window: every percentile and error rate is
	// null, and throughput is 0; the figure still renders.
	empty := &results.Series{Width: time.Second, End: 3 * time.Second, OK: make([]int64, 3), NotOK: make([]int64, 3), Latency: make([][]byte, 3)}
	e := &results.Experiment{Scenario: "x", Duration: 3 * time.Second, Replications: 1,
		Variants: []results.Variant{{Name: "v", Replications: []results.Replication{{
			Workloads: []results.Workload{{Name: "w", Outcomes: results.Outcomes{InFlight: 3}, Series: empty}},
		}}}}}
	files := render(t, e)
	require.Contains(t, files, "timeline-w.svg")
	_, err := png.Decode(bytes.NewReader(files["timeline-w.png"]))
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, files[SummaryJSON]))
	assert.Contains(t, compact.String(), `"throughput_per_s":[0,0,0],"error_rate":[null,null,null],"p50_s":[null,null,null],"p99_s":[null,null,null]`)
}

func TestBusSection(t *testing.T) {
	md := string(render(t, testExperiment())["report.md"])
	assert.Equal(t, 1, strings.Count(md, "### Bus"), "only the variant with a bus has the section")
	// Sums over the three replications; the third partition's lag, 400 +
	// 10 i, averaged.
	assert.Contains(t, md, "| group fulfilment ← orders | 9000 | 8397 | 33 | 0 | 0 | 15 (failover 15) | 555 | 33 | 9 |")
	assert.Contains(t, md, "| queue emails | 1500 | 1437 | 0 | 45 | 15 (ttl 15) | 0 | 3 | 180 | 0 |")
	assert.Contains(t, md, "2.00 / 3.00 / 410")
	assert.Contains(t, md, "| checkout → orders | 3 | 6000 | 5985 | 15 | 36 (36, 0) | 12 (9) |")
	assert.Contains(t, md, "| email-view ← queue emails | ")
	assert.Contains(t, md, "| end to end mean (trace across the bus) | ")
	assert.Contains(t, md, "Conservation (group fulfilment ← orders): published 9000 = consumed + duplicated + dead-lettered + dropped + lost + pending 9000, conserved.")
	html := string(render(t, testExperiment())["report.html"])
	assert.Contains(t, html, "<h3>Bus</h3>")
	assert.Contains(t, html, "<td>group fulfilment ← orders</td><td>9000</td>")
	s := results.Summarize(testExperiment())
	require.NotNil(t, s.Variants[0].Bus)
	assert.Nil(t, s.Variants[1].Bus, "no bus: the key is omitted")
	g := s.Variants[0].Bus.Readers[0]
	assert.InDelta(t, 410, g.LagMax.Mean, 1e-9)
	assert.InDelta(t, 3, g.Rebalances.Mean, 1e-9)
	assert.Len(t, g.LagTimeline, 64)
	q := s.Variants[0].Bus.Readers[1]
	assert.Equal(t, "email-view", q.ReadModel)
	require.Len(t, q.StalenessTimelineS, 64)
	assert.Nil(t, q.StalenessTimelineS[10], "a slice without commands")
	assert.InDelta(t, 0.004, *q.StalenessTimelineS[3], 1e-12, "(3 + i) ms averaged over i = 0, 1, 2")
	require.NotNil(t, s.Variants[0].Workloads[0].EndToEndS)
	assert.Nil(t, s.Variants[1].Workloads[0].EndToEndS, "no trace: omitted")
}

func TestBusFigures(t *testing.T) {
	files := render(t, testExperiment())
	lag := string(files["lag-emails.svg"])
	for _, want := range []string{"slow-pod: queue emails over time", "lag (messages)", "staleness (ms)", "time (s)",
		">round-robin<", ">slow checkout[2]<", "fill:#E4E4E4"} {
		assert.Contains(t, lag, want)
	}
	assert.Equal(t, 2, strings.Count(lag, "fill:#E4E4E4"), "the failure is shaded in both panels")
	g := string(files["lag-fulfilment.svg"])
	assert.Contains(t, g, "lag (messages)")
	assert.NotContains(t, g, "staleness", "not a read model")
	md := string(files[ReportMarkdown])
	assert.Contains(t, md, "## Consumer lag and staleness")
	assert.Contains(t, md, "![slow-pod: queue emails over time](lag-emails.svg)")
	html := string(files[ReportHTML])
	assert.Contains(t, html, "<h2>Consumer lag and staleness</h2>")
	assert.Contains(t, html, "<h3>group fulfilment</h3>\n<figure>\n<svg")
}
