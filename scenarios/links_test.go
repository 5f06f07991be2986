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

// linksYAML has two callers of checkout: frontend (called by web) and the
// workload admin, each sending a request every 10ms, with a 100ms route
// timeout to checkout and no retries. Every failure is on the link from
// frontend to checkout: a partition from 10s to 20s, 30ms more on every
// answer from 25s to 35s, a fifth of the requests lost from 40s to 50s.
const linksYAML = `version: 1
name: links
duration: 1m
workloads:
  - {name: web, arrival: {dist: constant, value: 10ms}, target: frontend}
  - {name: admin, arrival: {dist: constant, value: 10ms}, target: checkout}
services:
  - {name: frontend, replicas: 2, concurrency: 10, service_time: {dist: constant, value: 1ms}, calls: [{to: checkout}]}
  - {name: checkout, replicas: 2, concurrency: 10, service_time: {dist: constant, value: 1ms}, sidecar: {timeout: 100ms}}
failures:
  - {at: 10s, for: 10s, kind: partition, target: "frontend -> checkout"}
  - {at: 25s, for: 10s, kind: latency, target: "frontend->checkout", delay: {dist: constant, value: 30ms}}
  - {at: 40s, for: 10s, kind: loss, target: "frontend ->checkout", probability: 0.2}
timeline: {window: 1s}
`

func TestLinkFailuresActOnOneCaller(t *testing.T) {
	exp := runYAML(t, linksYAML)
	rep := exp.Variants[0].Replications[0]
	require.Len(t, rep.Workloads, 2)
	web, admin := rep.Workloads[0], rep.Workloads[1]
	require.Equal(t, "admin", admin.Name)

	// admin calls checkout directly: no failure touches it.
	assert.Equal(t, admin.Arrived, admin.Outcomes.OK, "admin: every request ok")
	assert.Zero(t, admin.Outcomes.Timeout)

	var timeouts int64
	for _, sc := range rep.Sidecars {
		switch sc.Caller + " -> " + sc.Service {
		case "frontend -> checkout":
			timeouts += sc.RouteTimeouts
		case "admin -> checkout":
			assert.Zero(t, sc.RouteTimeouts, "admin's proxy")
		}
	}
	// The partition: all 1000 calls in 10s; the loss: about a fifth of
	// 1000.
	s := web.Series
	lost := int64(0)
	for k := 41; k < 50; k++ {
		lost += s.NotOK[k]
	}
	t.Logf("route timeouts on the link %d, not ok during the loss %d (of 900)", timeouts, lost)
	assert.InDelta(t, 1000+200, timeouts, 60)
	assert.InDelta(t, 180, lost, 40, "a fifth of 9s of requests")
	for k := range s.NotOK {
		switch {
		case k >= 11 && k < 20:
			assert.Equal(t, int64(100), s.NotOK[k], "window %d: web cut off from checkout", k)
		case k >= 41 && k < 50, k == 10 || k == 20 || k == 40 || k == 50:
		default:
			assert.Zero(t, s.NotOK[k], "window %d", k)
		}
		assert.Zero(t, admin.Series.NotOK[k], "admin window %d", k)
	}

	// The latency: web's answers take 30ms more, admin's none.
	p50 := func(s *results.Series, k int) time.Duration {
		h, err := s.LatencyHistogram(k)
		require.NoError(t, err)
		return time.Duration(h.Quantile(0.5))
	}
	before, during := p50(web.Series, 22), p50(web.Series, 30)
	t.Logf("web p50 %v before, %v during; admin %v, %v", before, during, p50(admin.Series, 22), p50(admin.Series, 30))
	assert.InDelta(t, float64(30*time.Millisecond), float64(during-before), float64(time.Millisecond))
	assert.Equal(t, p50(admin.Series, 22), p50(admin.Series, 30), "admin's latency unchanged")

	assert.Equal(t, []results.Failure{
		{Kind: "partition", Target: "frontend -> checkout", From: 10 * time.Second, To: 20 * time.Second},
		{Kind: "latency", Target: "frontend -> checkout", From: 25 * time.Second, To: 35 * time.Second},
		{Kind: "loss", Target: "frontend -> checkout", From: 40 * time.Second, To: 50 * time.Second},
	}, rep.Failures)
}

func TestZoneLinkLatencyAndLoss(t *testing.T) {
	// Clients in zones a, b and c each send round robin to api, one
	// instance per zone: a request takes 1ms in its zone and 5ms across
	// zones each way, plus 1ms of service. From 10s to 20s the links
	// between a and b take 20ms more; from 25s to 35s they lose every
	// request (100ms route timeout). Only the third of a's and b's
	// requests that cross between them are affected; c's never are.
	exp := runYAML(t, `version: 1
name: zone-links
duration: 40s
workloads:
  - {name: wa, zone: a, arrival: {dist: constant, value: 10ms}, target: api}
  - {name: wb, zone: b, arrival: {dist: constant, value: 10ms}, target: api}
  - {name: wc, zone: c, arrival: {dist: constant, value: 10ms}, target: api}
services:
  - {name: api, replicas: 3, zones: [a, b, c], concurrency: 10, service_time: {dist: constant, value: 1ms}, sidecar: {timeout: 100ms}}
network:
  same_zone: {dist: constant, value: 1ms}
  cross_zone: {dist: constant, value: 5ms}
failures:
  - {at: 10s, for: 10s, kind: latency, zones: [a], other_zones: [b], delay: {dist: constant, value: 20ms}}
  - {at: 25s, for: 10s, kind: loss, zones: [a], other_zones: [b], probability: 1}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	q := func(wl, k int, p float64) time.Duration {
		h, err := rep.Workloads[wl].Series.LatencyHistogram(k)
		require.NoError(t, err)
		return time.Duration(h.Quantile(p)).Round(time.Millisecond)
	}
	for _, tc := range []struct {
		wl                   int
		name                 string
		p90Before, p90During time.Duration
		notOKDuringLoss      int64
		p30Before, p30During time.Duration
	}{
		{0, "wa", 11 * time.Millisecond, 31 * time.Millisecond, 33, 3 * time.Millisecond, 3 * time.Millisecond},
		{1, "wb", 11 * time.Millisecond, 31 * time.Millisecond, 33, 3 * time.Millisecond, 3 * time.Millisecond},
		{2, "wc", 11 * time.Millisecond, 11 * time.Millisecond, 0, 3 * time.Millisecond, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, rep.Workloads[tc.wl].Name)
			assert.Equal(t, tc.p30Before, q(tc.wl, 5, 0.3), "in-zone calls before")
			assert.Equal(t, tc.p30During, q(tc.wl, 15, 0.3), "in-zone calls unchanged")
			assert.Equal(t, tc.p90Before, q(tc.wl, 5, 0.9), "cross-zone calls before")
			assert.Equal(t, tc.p90During, q(tc.wl, 15, 0.9), "cross-zone calls between a and b 20ms later")
			assert.InDelta(t, tc.notOKDuringLoss, rep.Workloads[tc.wl].Series.NotOK[30], 1, "lost between a and b")
			assert.Zero(t, rep.Workloads[tc.wl].Series.NotOK[5])
		})
	}
	assert.Equal(t, []results.Failure{
		{Kind: "latency", Target: "zones a -> b", From: 10 * time.Second, To: 20 * time.Second},
		{Kind: "loss", Target: "zones a -> b", From: 25 * time.Second, To: 35 * time.Second},
	}, rep.Failures)
}

func TestLinkFailuresAreDeterministic(t *testing.T) {
	// Two replications, with random loss and delay on both kinds of link,
	// give the same results on one worker and on two.
	text := linksYAML + `replications: 2
network: {same_zone: {dist: exponential, mean: 1ms}}
`
	text = strings.Replace(text, "{dist: constant, value: 30ms}", "{dist: exponential, mean: 30ms}", 1)
	doc, err := Parse("t.yaml", []byte(text))
	require.NoError(t, err)
	one, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	two, err := Run(context.Background(), doc, Options{Workers: 2})
	require.NoError(t, err)
	require.Len(t, one.Variants[0].Replications, 2)
	assert.Equal(t, one.Variants[0].Replications, two.Variants[0].Replications)
	assert.NotEqual(t, one.Variants[0].Replications[0].Workloads, one.Variants[0].Replications[1].Workloads, "replications draw differently")
}

func TestLinkFailureErrors(t *testing.T) {
	const base = `version: 1
duration: 1m
workloads:
  - {name: web, arrival: {rate: 10/s}, target: frontend}
  - {name: admin, zone: a, arrival: {rate: 10/s}, target: checkout}
services:
  - {name: frontend, zones: [a, b], service_time: {dist: constant, value: 1ms}, calls: [{to: checkout}]}
  - {name: checkout, zones: [a, b], service_time: {dist: constant, value: 1ms}}
failures:
`
	for _, tc := range []struct {
		name, failure, want string
	}{
		{"unknown caller", `{at: 1s, kind: loss, target: "frontnd -> checkout", probability: 0.1}`,
			`t.yaml:10:34: failures[0].target: no service or workload named "frontnd"; did you mean "frontend"?`},
		{"unknown service", `{at: 1s, kind: loss, target: "frontend -> chekout", probability: 0.1}`,
			`t.yaml:10:34: failures[0].target: no service named "chekout"; did you mean "checkout"?`},
		{"to itself", `{at: 1s, kind: partition, target: "checkout->checkout"}`,
			`t.yaml:10:39: failures[0].target: a link joins two services, got checkout to itself; for every caller of checkout, write target: checkout`},
		{"no such call", `{at: 1s, kind: partition, target: "admin -> frontend"}`,
			`t.yaml:10:39: failures[0].target: admin does not call frontend; admin calls checkout`},
		{"caller calls nothing", `{at: 1s, kind: partition, target: "checkout -> frontend"}`,
			`t.yaml:10:39: failures[0].target: checkout does not call frontend; checkout calls no service`},
		{"instance", `{at: 1s, kind: loss, target: "frontend[1] -> checkout", probability: 0.1}`,
			`t.yaml:10:34: failures[0].target: a link joins services, not instances: "frontend[1] -> checkout"; write "frontend -> checkout"`},
		{"malformed", `{at: 1s, kind: loss, target: " -> checkout", probability: 0.1}`,
			`t.yaml:10:34: failures[0].target: malformed link " -> checkout"; write "frontend -> checkout"`},
		{"slow", `{at: 1s, kind: slow, target: "frontend -> checkout", factor: 2}`,
			`t.yaml:10:34: failures[0].target: slow does not act on a link (latency, loss and partition do); target a service ("checkout") or one instance ("checkout[2]")`},
		{"crash", `{at: 1s, kind: crash, target: "frontend -> checkout"}`,
			`t.yaml:10:35: failures[0].target: crash does not act on a link (latency, loss and partition do); target a service ("checkout") or one instance ("checkout[2]")`},
		{"zones and a service", `{at: 1s, kind: latency, target: checkout, zones: [a], delay: {dist: constant, value: 1ms}}`,
			`t.yaml:10:37: failures[0].target: latency between zones takes no target, got "checkout"; drop target:, or zones: to act on every caller of checkout`},
		{"zones and a link", `{at: 1s, kind: latency, target: "frontend -> checkout", zones: [a], delay: {dist: constant, value: 1ms}}`,
			`t.yaml:10:61: failures[0].zones: latency on the link "frontend -> checkout" takes no zones; drop zones:, or target: for the links between zones`},
		{"partition of a service", `{at: 1s, kind: partition, target: checkout}`,
			`t.yaml:10:39: failures[0].target: partition takes no service target, got "checkout"; a partition cuts zones (zones: [a]) or a link (target: "frontend -> checkout")`},
		{"partition of nothing", `{at: 1s, kind: partition}`,
			`t.yaml:10:5: failures[0].zones: missing required field; the zones on one side of the cut, e.g. zones: [a]; or a link, target: "frontend -> checkout"`},
		{"slow in zones", `{at: 1s, kind: slow, target: checkout, factor: 2, zones: [a]}`,
			`t.yaml:10:55: failures[0].zones: slow takes no zones; zones are for latency, loss and partition`},
		{"unknown zone", `{at: 1s, kind: loss, zones: [a], other_zones: [c], probability: 0.5}`,
			`t.yaml:10:52: failures[0].other_zones[0]: no service or workload is in zone "c"`},
		{"other zones alone", `{at: 1s, kind: loss, other_zones: [b], probability: 0.5}`,
			`t.yaml:10:5: failures[0].zones: missing required field; the zones on one side, e.g. zones: [a]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseText(base + "  - " + tc.failure + "\n")
			assert.EqualError(t, err, tc.want)
		})
	}
	// The links that are valid: a workload's and a service's, to a service
	// they call; zone links for latency and loss.
	for _, f := range []string{
		`{at: 1s, kind: loss, target: "web -> frontend", probability: 0.1}`,
		`{at: 1s, kind: latency, target: "frontend->checkout", delay: {dist: constant, value: 1ms}}`,
		`{at: 1s, kind: partition, target: "admin -> checkout"}`,
		`{at: 1s, kind: latency, zones: [a], delay: {dist: constant, value: 1ms}}`,
		`{at: 1s, kind: loss, zones: [a], other_zones: [b], probability: 1}`,
	} {
		_, err := parseText(base + "  - " + f + "\n")
		assert.NoError(t, err, f)
	}
}

func TestLinkPartitionFailsNewConnections(t *testing.T) {
	// With HTTP/1 connections closed after 1ms idle, every request opens
	// a connection: across the cut link they fail (at the connect
	// timeout), on admin's link they open as usual.
	exp := runYAML(t, strings.Replace(linksYAML, "sidecar: {timeout: 100ms}",
		"sidecar: {timeout: 100ms, connection_pool: {protocol: http1, idle_timeout: 1ms}}", 1))
	rep := exp.Variants[0].Replications[0]
	failures := map[string]int64{}
	for _, sc := range rep.Sidecars {
		failures[sc.Caller+" -> "+sc.Service] += sc.ConnectFailures
	}
	t.Logf("connect failures %v", failures)
	assert.Positive(t, failures["frontend -> checkout"])
	assert.Zero(t, failures["admin -> checkout"])
	assert.Equal(t, rep.Workloads[1].Arrived, rep.Workloads[1].Outcomes.OK, "admin: every request ok")
}

func TestOverlappingPartitionsCompose(t *testing.T) {
	// Zone b is cut off from 10s to 20s, the link from wa to api from 15s
	// to 25s: the zone partition healing at 20s leaves the link cut.
	exp := runYAML(t, `version: 1
name: overlap
duration: 30s
workloads: [{name: wa, zone: a, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, replicas: 2, zones: [a, b], concurrency: 10, service_time: {dist: constant, value: 1ms}, sidecar: {timeout: 100ms}}
failures:
  - {at: 10s, for: 10s, kind: partition, zones: [b]}
  - {at: 15s, for: 10s, kind: partition, target: "wa -> api"}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	s := rep.Workloads[0].Series
	for _, tc := range []struct {
		from, to int
		notOK    int64
	}{{1, 10, 0}, {11, 15, 50}, {16, 25, 100}, {26, 30, 0}} {
		for k := tc.from; k < tc.to; k++ {
			assert.Equal(t, tc.notOK, s.NotOK[k], "window %d", k)
		}
	}
	assert.Equal(t, []results.Failure{
		{Kind: "partition", Target: "zones b", From: 10 * time.Second, To: 20 * time.Second},
		{Kind: "partition", Target: "wa -> api", From: 15 * time.Second, To: 25 * time.Second},
	}, rep.Failures)
}
