// Package roundrobin implements Envoy's ROUND_ROBIN policy.
//
// Equal weights: hosts[index++ % n], with the index of each balancer
// initialised from its own random stream (Envoy seeds rr_index with a
// per-LB random value, round_robin_lb.h), so that many sidecars do not march
// over the hosts in lockstep. Round robin is therefore per balancer, not
// global across sidecars or workers.
//
// Different weights (at least two hosts whose weights differ): Envoy's
// earliest-deadline-first scheduler (edf_scheduler.h, see
// models/lb/internal/edf), where a host of weight w gets deadlines 1/w
// apart, so over sum(weights) picks each host is picked weight times. Like
// newer Envoy (EdfScheduler::createWithPicks in load_balancer_impl.cc), the
// schedule starts uint32(seed)%429496729 picks in, where seed is the same
// per-balancer random value that starts the unweighted index; either way a
// Build draws exactly one value from the balancer's stream.
//
// Weights are read once, at Build: hosts' weights are static for now, and a
// weight change is expected to rebuild the picker, as Envoy rebuilds its
// schedulers on every host-set update (EdfLoadBalancerBase::refresh).
//
// Slow start (lb.Config.SlowStartWindow, models/lb/internal/slowstart): a
// host that reports lb.Warming has its weight scaled by the ramp while its
// window lasts. As in Envoy, a host in slow start at Build (BuildOptions.Now)
// forces the EDF path even when all weights are equal, and the choice of
// path is kept until the next Build, even after every window has ended
// (Envoy decides it in refresh, on host-set updates only). The initial
// schedule is built from the ramped weights at Build; afterwards, like
// Envoy's pickAndAdd, only the picked host is re-added, with its weight
// ramped at the pick's PickInfo.Now, while the others keep the deadlines of
// their last add. Envoy reads its monotonic clock at the same two moments;
// this picker reads the virtual clock passed in instead. With the window
// unset (the default) nothing of this runs and picks are exactly those of a
// build without slow start.
package roundrobin

import (
	"fmt"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/edf"
	"github.com/meshsim/meshsim/models/lb/internal/slowstart"
)

// Name is the policy name used in scenarios.
const Name = "round_robin"

func init() { lb.Register(Name, builder{}) }

type builder struct{}

// Build validates the slow start settings and makes a picker. It draws one
// value from opts.Rand and allocates O(n) for the weighted path.
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	ramp, err := slowstart.Parse(Name, opts.Config)
	if err != nil {
		return nil, err
	}
	n := len(opts.Hosts)
	var seed uint64
	if opts.Rand != nil {
		seed = opts.Rand.Uint64()
	}
	weights := make([]float64, n)
	equal := true
	for i, h := range opts.Hosts {
		w := h.Weight()
		if w == 0 {
			return nil, fmt.Errorf("%w: %s: host %d has weight 0, must be >= 1", lb.ErrConfig, Name, i)
		}
		weights[i] = float64(w)
		equal = equal && w == opts.Hosts[0].Weight()
	}
	warm := slowstart.NewHosts(ramp, opts.Hosts)
	// Envoy builds no scheduler for 0 or 1 host (edf_lb_host_scheduler_init_fix).
	if n <= 1 || (equal && !warm.Any(opts.Now)) {
		return &picker{n: uint64(n), next: seed}, nil
	}
	initial := weights
	if warm != nil {
		initial = make([]float64, n)
		for i, w := range weights {
			initial[i] = warm.Scale(i, w, opts.Now)
		}
	}
	// Envoy passes its 64-bit seed_ to createWithPicks' uint32 parameter,
	// which keeps the low 32 bits.
	return &weighted{sched: edf.New(initial, uint32(seed)), weights: weights, warm: warm}, nil
}

type picker struct {
	n    uint64
	next uint64
}

// Pick returns the next host in cyclic order. The complexity is O(1).
func (p *picker) Pick(lb.PickInfo) (int, error) {
	if p.n == 0 {
		return -1, lb.ErrNoHost
	}
	i := p.next % p.n
	p.next++
	return int(i), nil
}

// weighted is Envoy's EDF round robin. It is only built for two or more
// hosts, since one host has nothing to differ from.
type weighted struct {
	sched   *edf.Scheduler
	weights []float64
	warm    *slowstart.Hosts // nil without slow start
}

// Pick returns the host with the earliest deadline and re-adds it with its
// weight, ramped at info.Now if the host is in slow start. The complexity is
// O(log n).
func (p *weighted) Pick(info lb.PickInfo) (int, error) {
	id := p.sched.Pick()
	p.sched.Add(id, p.warm.Scale(id, p.weights[id], info.Now))
	return id, nil
}
