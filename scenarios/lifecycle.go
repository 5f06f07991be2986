package scenarios

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/discovery"
	"github.com/meshsim/meshsim/models/failure"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// ControlPlane is how the mesh's control plane tells proxies about
// changes: instances that crash, restart, or come and go.
//
//	control_plane: {discovery: {delay: {dist: uniform, min: 1s, max: 5s}}}
type ControlPlane struct {
	Discovery *Discovery `yaml:"discovery"`
}

// Discovery is service discovery: an instance is registered when it is
// ready and deregistered when it crashes, and each proxy learns of a
// change after a delay drawn from delay (the path from the Kubernetes
// endpoints controller through istiod to the proxy). Until then it keeps
// sending to an instance that is gone, and gets connection failures.
type Discovery struct {
	// Delay is the propagation delay of one change to one proxy; default
	// a constant 100ms (istiod's PILOT_DEBOUNCE_AFTER, the least it waits).
	Delay *DistSpec `yaml:"delay"`
}

// RandomFailure is a failure process of every targeted instance: each
// runs for a time drawn from mtbf, crashes, restarts after a time drawn
// from mttr, and so on, from its own random stream, so that the failures
// are the same in every variant.
//
//	random_failures: [{kind: crash, target: checkout, mtbf: {dist: exponential, mean: 2h}, mttr: {dist: exponential, mean: 1m}}]
type RandomFailure struct {
	Kind   string    `yaml:"kind"`   // crash, or broker_down
	Target string    `yaml:"target"` // crash: a service, or one instance "svc[i]"; broker_down: "broker[i]"
	MTBF   *DistSpec `yaml:"mtbf"`   // time to failure
	MTTR   *DistSpec `yaml:"mttr"`   // time to repair (restart)
}

// controlPlane is one replication's registry, with what it needs to
// bring crashed instances back.
type controlPlane struct {
	w         *world
	reg       *discovery.Registry
	delay     dist.Dist
	svcIndex  map[string]int
	readiness []time.Duration // per service: restart to ready
	subs      []*discovery.Subscriber
	processes []*failure.Process
	fleets    []*fleet // by service; nil for a service whose pods are fixed
}

// needsControlPlane reports whether instances of sc can come and go.
func needsControlPlane(sc *Scenario) bool {
	if sc.ControlPlane.Discovery != nil || len(sc.RandomFailures) > 0 || len(sc.Deploys) > 0 {
		return true
	}
	for _, svc := range sc.Services {
		if svc.Autoscale != nil || svc.Sidecar.HealthCheck != nil {
			return true
		}
	}
	for _, f := range sc.Failures {
		if f.Kind == "crash" {
			return true
		}
	}
	return false
}

// newControlPlane registers every instance of every service as ready.
func newControlPlane(w *world, sc *Scenario) (*controlPlane, error) {
	reg, err := discovery.NewRegistry(w.s, len(w.services))
	if err != nil {
		return nil, fmt.Errorf("scenario: control plane: %w", err)
	}
	cp := &controlPlane{w: w, reg: reg, svcIndex: map[string]int{}, fleets: make([]*fleet, len(w.services))}
	if d := sc.ControlPlane.Discovery; d != nil && d.Delay != nil {
		if cp.delay, err = d.Delay.Build(); err != nil {
			return nil, fmt.Errorf("scenario: control_plane.discovery.delay: %w", err)
		}
	}
	for i, svc := range w.services {
		cp.svcIndex[svc.Name()] = i
		cp.readiness = append(cp.readiness, time.Duration(sc.Services[i].ReadinessDelay))
		if needsFleet(sc, i) {
			continue // its fleet registers the pods it starts
		}
		for k := range svc.Instances() {
			reg.Register(i, k)
		}
	}
	return cp, nil
}

// subscribe makes a proxy (a caller instance, or a workload's client)
// learn of its target services' changes through clusters, by service
// name, and through their active health checkers, if any. The clusters
// start with the registry's current endpoints.
func (cp *controlPlane) subscribe(name string, streams sim.Streams, clusters map[string]*sidecar.Cluster, probers map[string]*prober, targets []string) error {
	if len(targets) == 0 {
		return nil
	}
	watch := &endpointWatcher{clusters: make([]*sidecar.Cluster, len(cp.w.services)), probers: make([]*prober, len(cp.w.services))}
	var ids []int
	for _, t := range targets {
		i := cp.svcIndex[t]
		if watch.clusters[i] == nil {
			ids = append(ids, i)
		}
		watch.clusters[i] = clusters[t]
		watch.probers[i] = probers[t]
	}
	sub, err := cp.reg.Subscribe(discovery.Config{Name: name, Delay: cp.delay, Services: ids}, streams.Get(name, "discovery"), watch)
	if err != nil {
		return fmt.Errorf("scenario: %s: discovery: %w", name, err)
	}
	for _, i := range ids {
		if eps := sub.View(i).Endpoints; len(eps) != len(cp.w.services[i].Instances()) {
			watch.clusters[i].SetEndpoints(eps) // a pool's instances not started yet
		}
	}
	cp.subs = append(cp.subs, sub)
	return nil
}

// endpointWatcher applies a discovery change to the proxy's cluster of
// the service, and to its health checker.
type endpointWatcher struct {
	clusters []*sidecar.Cluster
	probers  []*prober
}

func (e *endpointWatcher) EndpointsChanged(snap *discovery.Snapshot) {
	if p := e.probers[snap.Service]; p != nil {
		p.endpoints(snap.Endpoints)
	}
	if c := e.clusters[snap.Service]; c != nil {
		c.SetEndpoints(snap.Endpoints)
	}
}

// pod is one instance as the failures see it: Down crashes it and
// deregisters it; Up restarts it, and registers it once it is ready.
type pod struct {
	cp       *controlPlane
	in       *mesh.Instance
	svc, idx int
	ready    sim.Timer
}

func (p *pod) Down() {
	if p.in.State() == mesh.StateDown {
		return
	}
	p.cp.w.s.Cancel(p.ready)
	p.in.Crash()
	p.cp.reg.Deregister(p.svc, p.idx) // the kubelet sees the process exit at once
}

func (p *pod) Up() {
	if p.in.State() == mesh.StateUp {
		return
	}
	p.in.Restart()
	p.ready = p.cp.w.s.After(p.cp.readiness[p.svc], p, sim.Event{})
}

// Handle registers the restarted instance: its readiness probe passed.
func (p *pod) Handle(sim.Event) {
	p.ready = sim.Timer{}
	p.cp.reg.Register(p.svc, p.idx)
}

// pods returns the instances a target names ("svc" or "svc[i]"), tracked
// so that they can crash.
func (cp *controlPlane) pods(target string) ([]failure.Outage, []string, error) {
	name, idx, err := parseTarget(target)
	if err != nil {
		return nil, nil, err
	}
	i, ok := cp.svcIndex[name]
	if !ok {
		return nil, nil, fmt.Errorf("no service %q", name)
	}
	var out []failure.Outage
	var labels []string
	for k, in := range cp.w.services[i].Instances() {
		if idx >= 0 && k != idx {
			continue
		}
		in.Track()
		labels = append(labels, in.Name())
		if f := cp.fleets[i]; f != nil {
			out = append(out, fleetPod{f: f, k: k}) // its pod crashes, wherever it is in its life
			continue
		}
		out = append(out, &pod{cp: cp, in: in, svc: i, idx: k})
	}
	return out, labels, nil
}

// randomFailures makes the failure processes of sc, one per instance.
func (cp *controlPlane) randomFailures(sc *Scenario, streams sim.Streams) error {
	for i, rf := range sc.RandomFailures {
		kind := failure.Crash
		var outages []failure.Outage
		var labels []string
		var err error
		if rf.Kind == "broker_down" {
			kind = failure.BrokerDown
			outages, err = cp.w.bus.outages(rf.Kind, rf.Target)
			labels = []string{rf.Target}
		} else {
			outages, labels, err = cp.pods(rf.Target)
		}
		if err != nil {
			return fmt.Errorf("scenario: random_failures[%d]: %w", i, err)
		}
		up, err := rf.MTBF.Build()
		if err != nil {
			return fmt.Errorf("scenario: random_failures[%d].mtbf: %w", i, err)
		}
		down, err := rf.MTTR.Build()
		if err != nil {
			return fmt.Errorf("scenario: random_failures[%d].mttr: %w", i, err)
		}
		for k, o := range outages {
			p, err := failure.NewProcess(cp.w.s, streams.Get(labels[k], "random-failure"), kind, labels[k], o, up, down)
			if err != nil {
				return fmt.Errorf("scenario: random_failures[%d]: %w", i, err)
			}
			cp.processes = append(cp.processes, p)
		}
	}
	return nil
}

// start schedules the random failures.
func (cp *controlPlane) start() {
	for _, p := range cp.processes {
		p.Start()
	}
}

// surge is a workload as an overload failure sees it: Down multiplies its
// rate by factor, Up restores it. Overlapping surges of one workload do
// not compose: the last to start sets the rate, the first to end restores
// it.
type surge struct {
	open   *workload.Open
	factor float64
}

func (s *surge) Down() { s.open.SetRateFactor(s.factor) }
func (s *surge) Up()   { s.open.SetRateFactor(1) }

// netFault is a failure of the network between callers' proxies and
// their hosts, on a link: between two services (caller, service: every
// proxy of the caller's instances, or of the workload, towards the
// service), or between the zones of side and the zones of other (all the
// others when other is empty), in either direction. Callers or hosts
// without a zone, or in neither set, are not affected by a zone link.
//
// A partition (kind "partition") cuts the link: requests lost, new
// connections timing out. Partitions compose: a proxy's cut is the union
// of those on, so that one ending does not heal another. Latency and loss
// add a fault to each proxy on the link, drawing from the stream
// (proxy name, stream): one per proxy and failure, so that adding a
// failure shifts no other draw, and every variant sees the same.
type netFault struct {
	w               *world
	kind            string // partition, latency or loss
	caller, service string // a link between services; "" for zones
	side, other     []string
	stream          string
	loss            float64
	delay           dist.Dist
	streams         sim.Streams
	on              bool
	// faults and rnds are per proxy (w.clusters' order), built on the
	// first start and kept across repeats, so that a repeated failure
	// draws on from its streams.
	faults []*sidecar.Fault
	rnds   []*sim.Rand
}

// of returns which set zone z is in: 1 (side), 2 (other) or 0 (neither).
func (f *netFault) of(z string) int {
	switch {
	case z == "":
		return 0
	case slices.Contains(f.side, z):
		return 1
	case len(f.other) == 0 || slices.Contains(f.other, z):
		return 2
	}
	return 0
}

// hosts returns the hosts of proxy co that the link reaches: nil for
// none, all true for every one.
func (f *netFault) hosts(co *clusterOf) []bool {
	if f.service != "" {
		if co.caller != f.caller || co.service != f.service || co.bus {
			return nil
		}
		all := make([]bool, len(co.hostZones))
		for h := range all {
			all[h] = true
		}
		return all
	}
	from := f.of(co.zone)
	if from == 0 {
		return nil
	}
	var on []bool
	for h, z := range co.hostZones {
		if to := f.of(z); to != 0 && to != from {
			if on == nil {
				on = make([]bool, len(co.hostZones))
			}
			on[h] = true
		}
	}
	return on
}

func (f *netFault) Down() {
	if f.on {
		return
	}
	f.on = true
	if f.kind == "partition" {
		f.w.cuts = append(f.w.cuts, f)
		f.w.recut()
		return
	}
	if f.faults == nil {
		f.faults = make([]*sidecar.Fault, len(f.w.clusters))
		f.rnds = make([]*sim.Rand, len(f.w.clusters))
	}
	for k := range f.w.clusters {
		co := &f.w.clusters[k]
		hosts := f.hosts(co)
		if hosts == nil {
			continue
		}
		if f.rnds[k] == nil {
			f.rnds[k] = f.streams.Get(co.name, f.stream)
		}
		if slices.Index(hosts, false) < 0 {
			hosts = nil // every host
		}
		f.faults[k] = &sidecar.Fault{Hosts: hosts, Loss: f.loss, Delay: f.delay, Rnd: f.rnds[k]}
		co.c.AddFault(f.faults[k])
	}
}

func (f *netFault) Up() {
	if !f.on {
		return
	}
	f.on = false
	if f.kind == "partition" {
		f.w.cuts = slices.DeleteFunc(f.w.cuts, func(g *netFault) bool { return g == f })
		f.w.recut()
		return
	}
	for k, ft := range f.faults {
		if ft != nil {
			f.w.clusters[k].c.RemoveFault(ft)
			f.faults[k] = nil
		}
	}
}

// recut sets every proxy's cut to the union of the partitions on.
func (w *world) recut() {
	for k := range w.clusters {
		co := &w.clusters[k]
		var cut []bool
		for _, p := range w.cuts {
			for h, on := range p.hosts(co) {
				if on {
					if cut == nil {
						cut = make([]bool, len(co.hostZones))
					}
					cut[h] = true
				}
			}
		}
		co.c.SetCut(cut)
	}
}

// configPush is a sidecar policy pushed at a given time: each proxy
// calling the service applies it after a delay drawn from the discovery
// delay, from the proxy's own stream.
type configPush struct {
	w       *world
	index   int
	at      sim.Time
	service string
	policy  sidecar.Policy
	delay   dist.Dist
	streams sim.Streams
}

// Handle sends the push on its way to every proxy of the service.
func (p *configPush) Handle(sim.Event) {
	for _, co := range p.w.clusters {
		if co.service != p.service {
			continue
		}
		rnd := p.streams.Get(co.name, fmt.Sprintf("config#%d", p.index))
		p.w.s.After(p.delay.Sample(rnd), &applyPolicy{c: co.c, p: &p.policy}, sim.Event{})
	}
}

// applyPolicy applies a pushed policy to one proxy when it arrives.
type applyPolicy struct {
	c *sidecar.Cluster
	p *sidecar.Policy
}

func (a *applyPolicy) Handle(sim.Event) {
	if err := a.c.SetPolicy(*a.p); err != nil {
		panic(fmt.Sprintf("scenario: config push: %v", err)) // validation checked it against the same policy
	}
}
