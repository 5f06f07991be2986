// Package peakewma implements the latency-aware power-of-two-choices policy
// of Linkerd (linkerd/pool/p2c over tower's PeakEwma load,
// tower/src/load/peak_ewma.rs), itself derived from Finagle's PeakEwma.
//
// Pick draws two DISTINCT random hosts, as Linkerd's gen_pair does
// (a = rand(0..n), b = rand(0..n-1), b++ if b >= a), reads each one's cost
// and returns a if cost(a) <= cost(b), else b. With one host it returns it
// without reading any cost, as Linkerd does.
//
// cost = rtt_estimate * (pending + 1), where pending is the host's
// ActiveRequests (tower counts the balancer's in-flight handles to the
// endpoint). The estimate is a peak-sensitive moving average kept per host
// in nanoseconds, exactly as tower's RttEstimate::update:
//
//   - a sample above the estimate replaces it (the peak);
//   - otherwise estimate = estimate*w + sample*(1-w), w = exp(-dt/Decay),
//     dt = time since the estimate was last updated;
//   - reading a cost is itself an update with a sample of 0 at the pick's
//     time (tower's load() calls decay()), so an estimate that is not
//     refreshed by responses decays toward 0 and an idle slow host is
//     eventually retried. Both candidates are read, and so decayed, at
//     every pick.
//
// Observe is the response side (tower's Handle drop): it feeds the measured
// round-trip time to the host's estimate.
//
// A host with no sample starts at DefaultRTT (Linkerd 30 ms, floored at 1
// ms as Linkerd does), and that default decays too, as in tower, where a
// new endpoint's estimate decays from the moment it is created. Pickers
// are built without a clock (lb.BuildOptions has no time), so the picker
// takes the time of its first Pick or Observe as every host's creation time.
// Envoy's peak_ewma extension (default_rtt 10 ms, a penalty for hosts with
// requests but no RTT) and Finagle's (an idle new host costs 0) treat new
// hosts differently; this package follows Linkerd.
//
// Weights are ignored, as in Linkerd's P2C pool. The estimates live in the
// picker: a rebuilt picker starts again from DefaultRTT.
//
// The decay uses sim/dist's portable Exp, so estimates, and the outcome of
// near-ties between two costs, are bit-identical on every architecture.
package peakewma

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Name is the policy name used in scenarios.
const Name = "peak_ewma"

// Defaults, from Linkerd (linkerd/app/outbound/src/http/logical/profile.rs,
// linkerd/app/core/src/control.rs).
const (
	DefaultDecay = 10 * time.Second
	DefaultRTT   = 30 * time.Millisecond
	// MinDefaultRTT is Linkerd's floor on the default RTT.
	MinDefaultRTT = time.Millisecond
)

func init() { lb.Register(Name, builder{}) }

type builder struct{}

type config struct {
	decay      time.Duration
	defaultRTT time.Duration
}

// parse fills the defaults of zero fields and validates the result.
func parse(c lb.Config) (config, error) {
	cfg := config{decay: c.Decay, defaultRTT: c.DefaultRTT}
	if cfg.decay == 0 {
		cfg.decay = DefaultDecay
	}
	if cfg.defaultRTT == 0 {
		cfg.defaultRTT = DefaultRTT
	}
	switch {
	case cfg.decay < 0:
		return config{}, fmt.Errorf("%w: %s: decay must be > 0, got %v", lb.ErrConfig, Name, cfg.decay)
	case cfg.defaultRTT < 0:
		return config{}, fmt.Errorf("%w: %s: default_rtt must be > 0, got %v", lb.ErrConfig, Name, cfg.defaultRTT)
	}
	cfg.defaultRTT = max(cfg.defaultRTT, MinDefaultRTT) // Linkerd: default_rtt.max(MIN_DEFAULT_RTT)
	return cfg, nil
}

// Build validates the configuration and makes a picker. It allocates O(n).
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	cfg, err := parse(opts.Config)
	if err != nil {
		return nil, err
	}
	if opts.Rand == nil {
		return nil, fmt.Errorf("lb: %s: BuildOptions.Rand is nil", Name)
	}
	return &picker{
		hosts:        opts.Hosts,
		rnd:          opts.Rand,
		decayNanos:   float64(cfg.decay),
		defaultNanos: float64(cfg.defaultRTT),
		est:          make([]estimate, len(opts.Hosts)),
	}, nil
}

// estimate is tower's RttEstimate.
type estimate struct {
	rttNanos float64
	at       sim.Time // last update
}

type picker struct {
	hosts        []lb.Host
	rnd          *sim.Rand
	decayNanos   float64
	defaultNanos float64
	est          []estimate
	started      bool
}

var _ lb.Observer = (*picker)(nil)

// Pick returns the cheaper of two distinct random hosts, the first on a
// tie. It updates (decays) both candidates' estimates to info.Now, which
// must not go backwards. The complexity is O(1).
func (p *picker) Pick(info lb.PickInfo) (int, error) {
	n := len(p.hosts)
	switch n {
	case 0:
		return -1, lb.ErrNoHost
	case 1:
		return 0, nil
	}
	p.start(info.Now)
	a := p.rnd.IntN(n)
	b := p.rnd.IntN(n - 1)
	if b >= a {
		b++
	}
	if p.cost(a, info.Now) <= p.cost(b, info.Now) {
		return a, nil
	}
	return b, nil
}

// Observe feeds one measured round-trip time of host to its estimate. It
// panics if host is not an index of the hosts the picker was built with.
// A negative rtt counts as 0. The complexity is O(1).
func (p *picker) Observe(host int, rtt time.Duration, now sim.Time) {
	if host < 0 || host >= len(p.est) {
		panic(fmt.Sprintf("lb: %s: Observe for host %d of %d", Name, host, len(p.est)))
	}
	p.start(now)
	p.update(host, float64(max(rtt, 0)), now)
}

// start gives every host the default estimate, as of now, the first time
// the picker is used.
func (p *picker) start(now sim.Time) {
	if p.started {
		return
	}
	p.started = true
	for i := range p.est {
		p.est[i] = estimate{rttNanos: p.defaultNanos, at: now}
	}
}

// cost is tower's PeakEwma::load: decay the estimate to now, then scale it
// by the requests in flight plus one.
func (p *picker) cost(i int, now sim.Time) float64 {
	rtt := p.update(i, 0, now)
	return rtt * float64(p.hosts[i].ActiveRequests()+1)
}

// update is tower's RttEstimate::update with a sample of sampleNanos at
// now; it returns the new estimate. Elapsed time saturates at 0, as tower's
// saturating_duration_since does.
func (p *picker) update(i int, sampleNanos float64, now sim.Time) float64 {
	e := &p.est[i]
	if e.rttNanos < sampleNanos {
		e.rttNanos = sampleNanos
	} else {
		elapsed := float64(max(now.Sub(e.at), 0))
		w := dist.Exp(-elapsed / p.decayNanos)
		// Two explicitly rounded products, so no fused multiply-add.
		e.rttNanos = float64(e.rttNanos*w) + float64(sampleNanos*(1-w))
	}
	if now > e.at {
		e.at = now
	}
	return e.rttNanos
}
