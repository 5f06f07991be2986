// Package leastrequest implements Envoy's LEAST_REQUEST policy
// (source/extensions/load_balancing_policies/least_request/least_request_lb.cc,
// api/envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto).
//
// Envoy switches algorithm on the endpoint weights:
//
//   - All weights equal, N_CHOICES (the default): sample ChoiceCount hosts
//     (default 2) uniformly WITH replacement, random() % n per choice, so the
//     same host may be drawn twice; keep the first sample and replace it only
//     by a sample with strictly fewer active requests, so ties keep the
//     first. With 2 hosts, the host with more active requests is returned
//     when both draws hit it: 25% of the time, as the proto documents.
//   - All weights equal, FullScan: the minimum of ActiveRequests over all
//     hosts, ties broken uniformly by reservoir sampling (one random draw per
//     tie met while scanning).
//   - Weights differ: Envoy's EDF scheduler (models/lb/internal/edf) over
//     weight / (active+1)^ActiveRequestBias, bias default 1.0; an explicit
//     bias of 0 (ActiveRequestBiasSet) is plain weighted round robin. A
//     loaded host is picked less often but, unlike P2C, never drained.
//
// Weight recomputation: Envoy's pickAndAdd pops the host with the earliest
// deadline and re-adds only that host, with the weight computed from its
// active requests at that moment (before the new request is counted, since
// rq_active is incremented when the request is sent). The other hosts keep
// the deadlines they got when they were last added, so a host whose load
// changes is noticed only when it is next picked. This picker does the same
// thing, not an approximation of it; what it approximates is the initial
// schedule: Envoy builds it (createWithPicks) when the host set changes,
// from the weights at that moment, and this picker builds it at Build time
// from the hosts' ActiveRequests then, so a rebuild restarts the schedule.
// Envoy's newest builds also take the EDF path with equal weights when
// active_request_bias is set explicitly (runtime flag
// least_request_lb_active_request_bias_forces_weighted); this picker follows
// the documented rule (EDF only when weights differ).
//
// gRPC's least_request (gRFC A48, grpc-go balancer/leastrequest) differs:
// choiceCount defaults to 2, values below 2 are rejected and values above 10
// are clamped to 10, and weights are ignored. This package models Envoy
// only and does not clamp.
//
// Slow start (lb.Config.SlowStartWindow, models/lb/internal/slowstart), as
// in Envoy's LeastRequestLoadBalancer::hostWeight: the weight of a host in
// slow start is the biased weight above times the ramp factor. A host in
// slow start at Build (BuildOptions.Now) forces the EDF path even when all
// weights are equal, and the path is kept until the next Build, even after
// every window has ended (Envoy chooses it in refresh, on host-set updates
// only). The ramp is evaluated when a weight is: for every host at Build
// (the initial schedule) and for the picked host at each pick, at
// PickInfo.Now, exactly when the load term is refreshed. With the window
// unset (the default) nothing of this runs and picks are exactly those of a
// build without slow start.
//
// Envoy's random() is a 64-bit value; every draw here is one Uint64 from the
// balancer's stream, reduced the same way (% n). Weights are read at Build
// time; a weight change is expected to rebuild the picker.
package leastrequest

import (
	"fmt"
	"math"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/edf"
	"github.com/meshsim/meshsim/models/lb/internal/slowstart"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Name is the policy name used in scenarios.
const Name = "least_request"

// Defaults, from least_request.proto.
const (
	DefaultChoiceCount       = 2
	DefaultActiveRequestBias = 1.0
)

// maxChoiceCount is the largest choice_count Envoy can hold (a uint32 in the
// proto). Each choice costs one random draw per pick.
const maxChoiceCount = math.MaxUint32

func init() { lb.Register(Name, builder{}) }

type builder struct{}

type config struct {
	choices  int
	bias     float64
	fullScan bool
	ramp     slowstart.Ramp
}

// parse fills the defaults of zero fields and validates the result.
func parse(c lb.Config) (config, error) {
	cfg := config{choices: c.ChoiceCount, bias: c.ActiveRequestBias, fullScan: c.FullScan}
	if cfg.choices == 0 {
		cfg.choices = DefaultChoiceCount
	}
	if !c.ActiveRequestBiasSet && cfg.bias == 0 {
		cfg.bias = DefaultActiveRequestBias
	}
	switch {
	case cfg.choices < 2:
		return config{}, fmt.Errorf("%w: %s: choice_count must be >= 2, got %d", lb.ErrConfig, Name, cfg.choices)
	case cfg.choices > maxChoiceCount:
		return config{}, fmt.Errorf("%w: %s: choice_count must be <= %d, got %d", lb.ErrConfig, Name, maxChoiceCount, cfg.choices)
	case !(cfg.bias >= 0) || math.IsInf(cfg.bias, 1):
		// Envoy logs a warning and uses 1.0 for a negative or NaN runtime
		// value; a scenario is validated up front instead.
		return config{}, fmt.Errorf("%w: %s: active_request_bias must be a finite number >= 0, got %v", lb.ErrConfig, Name, cfg.bias)
	}
	ramp, err := slowstart.Parse(Name, c)
	if err != nil {
		return config{}, err
	}
	cfg.ramp = ramp
	return cfg, nil
}

// Build validates the configuration and makes a picker. It draws one value
// from opts.Rand (Envoy's per-balancer seed_, which starts the EDF schedule)
// and allocates O(n) for weighted hosts.
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	cfg, err := parse(opts.Config)
	if err != nil {
		return nil, err
	}
	if opts.Rand == nil {
		return nil, fmt.Errorf("lb: %s: BuildOptions.Rand is nil", Name)
	}
	seed := opts.Rand.Uint64()
	p := &picker{hosts: opts.Hosts, rnd: opts.Rand, choices: cfg.choices, fullScan: cfg.fullScan, bias: cfg.bias}
	n := len(opts.Hosts)
	lbWeights := make([]float64, n)
	equal := true
	for i, h := range opts.Hosts {
		w := h.Weight()
		if w == 0 {
			return nil, fmt.Errorf("%w: %s: host %d has weight 0, must be >= 1", lb.ErrConfig, Name, i)
		}
		lbWeights[i] = float64(w)
		equal = equal && w == opts.Hosts[0].Weight()
	}
	p.warm = slowstart.NewHosts(cfg.ramp, opts.Hosts)
	if equal && !p.warm.Any(opts.Now) {
		return p, nil
	}
	p.lbWeights = lbWeights
	initial := make([]float64, n)
	for i := range initial {
		initial[i] = p.weight(i, opts.Now)
	}
	p.sched = edf.New(initial, uint32(seed))
	return p, nil
}

type picker struct {
	hosts    []lb.Host
	rnd      *sim.Rand
	choices  int
	fullScan bool
	bias     float64
	// Weighted path; sched is nil when all weights are equal.
	sched     *edf.Scheduler
	lbWeights []float64
	warm      *slowstart.Hosts // nil without slow start
}

// Pick returns a host index. The complexity is O(ChoiceCount) for
// N_CHOICES, O(n) for FullScan and O(log n) for the weighted path.
func (p *picker) Pick(info lb.PickInfo) (int, error) {
	n := len(p.hosts)
	switch {
	case n == 0:
		return -1, lb.ErrNoHost
	case p.sched != nil:
		id := p.sched.Pick()
		p.sched.Add(id, p.weight(id, info.Now))
		return id, nil
	case p.fullScan:
		return p.pickFullScan(), nil
	}
	return p.pickNChoices(), nil
}

// pickNChoices is Envoy's unweightedHostPickNChoices.
func (p *picker) pickNChoices() int {
	n := uint64(len(p.hosts))
	best := int(p.rnd.Uint64() % n)
	bestActive := p.hosts[best].ActiveRequests()
	for c := 1; c < p.choices; c++ {
		i := int(p.rnd.Uint64() % n)
		if a := p.hosts[i].ActiveRequests(); a < bestActive {
			best, bestActive = i, a
		}
	}
	return best
}

// pickFullScan is Envoy's unweightedHostPickFullScan: on the k-th host
// found tied for least, it replaces the candidate with probability 1/k, so
// every tied host is returned with equal probability.
func (p *picker) pickFullScan() int {
	best := 0
	bestActive := p.hosts[0].ActiveRequests()
	tied := uint64(1)
	for i := 1; i < len(p.hosts); i++ {
		a := p.hosts[i].ActiveRequests()
		switch {
		case a < bestActive:
			best, bestActive, tied = i, a, 1
		case a == bestActive:
			tied++
			if p.rnd.Uint64()%tied == 0 {
				best = i
			}
		}
	}
	return best
}

// weight is Envoy's LeastRequestLoadBalancer::hostWeight at time now:
// lb_weight / (active+1)^bias, with bias 1 computed as a plain division and
// bias 0 ignoring load, then scaled by the slow start ramp if the host is in
// slow start. A weight that underflows to 0 (huge bias and load)
// is raised to the smallest positive float, whose deadline is +Inf: the host
// then waits behind every other one, as in Envoy release builds.
//
// For a bias other than 0 and 1 the power is sim/dist's portable Pow, so
// picks are bit-identical on every architecture.
func (p *picker) weight(i int, now sim.Time) float64 {
	w := p.lbWeights[i]
	active := p.hosts[i].ActiveRequests()
	if active < 0 {
		panic(fmt.Sprintf("lb: %s: host %d reports %d active requests", Name, i, active))
	}
	d := float64(active) + 1
	switch p.bias {
	case 0:
		// Load is ignored: plain weighted round robin.
	case 1:
		w /= d
	default:
		w /= dist.Pow(d, p.bias)
	}
	w = p.warm.Scale(i, w, now)
	if w == 0 {
		w = math.SmallestNonzeroFloat64
	}
	return w
}
