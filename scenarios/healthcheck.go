package scenarios

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/health"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// prober is one proxy cluster's active health checker (models/health)
// and the network its probes cross. A probe takes a one-way network delay
// to the instance (the cluster's latency to it, drawn from the cluster's
// own "health-net" stream so that requests' draws do not move), is
// answered at once, without queueing behind requests (Envoy checks a
// health endpoint that a server answers on its own), 200 if the instance
// is up and connection refused if it is down, and the answer takes another
// delay back. A probe or answer that finds a partition between the proxy
// and the instance is lost, as requests are, and the probe times out. The
// mTLS cost of requests is not charged to probes.
//
// The checker covers the hosts the proxy knows (discovery): a host that
// appears is added, unknown and so not routable until its first probe
// passes (Envoy's FAILED_ACTIVE_HC on a new host); a host that disappears
// is removed. Hosts present at the start begin routable, as Envoy holds a
// cluster's traffic until its first round of checks completes. The
// verdicts reach the cluster through SetChecked: a host is routable only
// when it is present, its checks pass and outlier detection has not
// ejected it. With successful_active_health_check_uneject_host (Envoy's
// default), a passing probe of an ejected host unejects it.
type prober struct {
	s       *sim.Scheduler
	c       *sidecar.Cluster
	hc      *health.Checker
	svc     *mesh.Service
	latency []dist.Dist // by cluster host; nil: none
	rnd     *sim.Rand
	uneject bool
	hostOf  []int // checker host -> cluster host
	idxOf   []int // cluster host -> checker host, or -1
	// unhealthy holds the intervals during which a host was marked
	// unhealthy; open[h] is the index of host h's open one, or -1.
	unhealthy []results.Ejection
	open      []int
}

// The prober's event kinds.
const (
	evProbeArrive  int32 = iota + 1 // Arg: probe id << 20 | checker host
	evProbeOK                       // the answer is back: 200
	evProbeRefused                  // the answer is back: connection refused
)

// maxProbeHosts bounds the checker hosts of one prober (AddHost makes a
// new one on every return of a host), so that host and id pack into an
// event argument.
const maxProbeHosts = 1 << 20

// newProber checks the hosts of c that eps lists.
func newProber(s *sim.Scheduler, streams sim.Streams, name string, c *sidecar.Cluster, svc *mesh.Service, latency []dist.Dist, hc HealthCheck, uneject bool, eps []int) (*prober, error) {
	p := &prober{s: s, c: c, svc: svc, latency: latency, rnd: streams.Get(name, "health-net"), uneject: uneject}
	p.idxOf = make([]int, len(svc.Instances()))
	p.open = make([]int, len(svc.Instances()))
	for i := range p.idxOf {
		p.idxOf[i], p.open[i] = -1, -1
	}
	for _, h := range eps {
		p.idxOf[h] = len(p.hostOf)
		p.hostOf = append(p.hostOf, h)
	}
	var err error
	p.hc, err = health.New(s, streams.Get(name, "health-check"), len(p.hostOf), hc.config(), p, p)
	if err != nil {
		return nil, fmt.Errorf("scenario: %s: health_check: %w", name, err)
	}
	return p, nil
}

// Probe sends probe id to checker host h. It implements health.Prober.
func (p *prober) Probe(h int, id health.ProbeID) {
	if p.c.Cut(p.hostOf[h]) {
		return // lost in a partition: the checker's timeout ends it
	}
	p.s.After(p.wire(p.hostOf[h]), p, sim.Event{Kind: evProbeArrive, Arg: int64(id)<<20 | int64(h)})
}

func (p *prober) wire(host int) time.Duration {
	if p.latency == nil {
		return 0
	}
	return p.latency[host].Sample(p.rnd)
}

// Handle moves probes and answers. It implements sim.Handler.
func (p *prober) Handle(ev sim.Event) {
	h, id := int(ev.Arg&(maxProbeHosts-1)), health.ProbeID(ev.Arg>>20)
	host := p.hostOf[h]
	switch ev.Kind {
	case evProbeArrive:
		if p.c.Cut(host) {
			return // the answer is lost in a partition
		}
		kind := evProbeOK
		if p.svc.Instances()[host].State() != mesh.StateUp {
			kind = evProbeRefused
		}
		p.s.After(p.wire(host), p, sim.Event{Kind: kind, Arg: ev.Arg})
	case evProbeOK:
		p.hc.Answer(h, id, health.Success)
		if d := p.c.Detector(); p.uneject && d != nil && p.idxOf[host] == h {
			d.Uneject(host)
		}
	case evProbeRefused:
		p.hc.Answer(h, id, health.ConnectFailure)
	default:
		panic(fmt.Sprintf("scenario: prober: unknown event kind %d", ev.Kind))
	}
}

// HealthChanged passes a verdict to the cluster. It implements
// health.Watcher.
func (p *prober) HealthChanged(tr health.Transition) {
	host := p.hostOf[tr.Host]
	if tr.To == health.StateRemoved || p.idxOf[host] != tr.Host {
		return
	}
	p.c.SetChecked(host, tr.To == health.StateHealthy)
	p.mark(host, tr.To == health.StateUnhealthy, tr.At)
}

// mark opens or closes host's unhealthy interval.
func (p *prober) mark(host int, unhealthy bool, at sim.Time) {
	switch {
	case unhealthy && p.open[host] < 0:
		p.open[host] = len(p.unhealthy)
		p.unhealthy = append(p.unhealthy, results.Ejection{Host: host, From: time.Duration(at), To: -1})
	case !unhealthy && p.open[host] >= 0:
		p.unhealthy[p.open[host]].To = time.Duration(at)
		p.open[host] = -1
	}
}

// endpoints follows a discovery change: hosts that appear are checked
// from now on, unknown until their first probe passes; hosts that
// disappear are no longer checked.
func (p *prober) endpoints(eps []int) {
	k := 0
	now := p.s.Now()
	for host := range p.idxOf {
		in := k < len(eps) && eps[k] == host
		if in {
			k++
		}
		switch {
		case in && p.idxOf[host] < 0:
			if len(p.hostOf) >= maxProbeHosts {
				panic(fmt.Sprintf("scenario: prober: more than %d hosts added", maxProbeHosts))
			}
			p.idxOf[host] = p.hc.AddHost()
			p.hostOf = append(p.hostOf, host)
			p.c.SetChecked(host, false)
		case !in && p.idxOf[host] >= 0:
			h := p.idxOf[host]
			p.idxOf[host] = -1
			p.hc.RemoveHost(h)
			p.mark(host, false, now)
		}
	}
}

// intervals returns the unhealthy intervals, open ones ending at now.
func (p *prober) intervals(now sim.Time) []results.Ejection {
	out := make([]results.Ejection, len(p.unhealthy))
	for i, e := range p.unhealthy {
		if e.To < 0 {
			e.To = time.Duration(now)
		}
		out[i] = e
	}
	return out
}
