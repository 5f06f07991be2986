package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/concurrency"
	"github.com/meshsim/meshsim/models/failure"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"

	// The load-balancing policies a scenario can name.
	_ "github.com/meshsim/meshsim/models/lb/leastrequest"
	_ "github.com/meshsim/meshsim/models/lb/maglev"
	_ "github.com/meshsim/meshsim/models/lb/peakewma"
	_ "github.com/meshsim/meshsim/models/lb/random"
	_ "github.com/meshsim/meshsim/models/lb/ringhash"
	_ "github.com/meshsim/meshsim/models/lb/roundrobin"
)

// world is one replication of one variant: the scheduler and every model
// built from a resolved scenario. It holds no simulation logic of its own.
type world struct {
	s         *sim.Scheduler
	services  []*mesh.Service
	workloads []*workload.Open
	// publishers[i] says whether workload i publishes to the bus (its
	// requests are held by a producer, not a proxy).
	publishers []bool
	clusters   []clusterOf // every proxy cluster, in build order
	bus        *busWorld   // nil without a bus
	// tracer follows each workload request's trace across the bus; nil
	// without a bus (a trace would end with its request).
	tracer   *mesh.Tracer
	failures *failure.Timeline
	cuts     []*netFault   // the partitions on, in start order
	cp       *controlPlane // nil when instances never come and go
	pushes   []*configPush
	fleets   []*fleet  // services whose pods come and go, in service order
	probers  []*prober // active health checkers, one per proxy cluster with one
	warmup   sim.Time
	until    sim.Time
}

// build makes the models of sc for one replication. Every component draws
// from its own stream of sim.NewStreams(seed, replication), named after the
// component, so variants see the same arrivals and service times (common
// random numbers).
func build(sc *Scenario, seed uint64, replication int) (*world, error) {
	w := &world{
		s: sim.NewScheduler(sim.Config{
			Until:     sim.Time(sc.Duration),
			MaxEvents: uint64(sc.Limits.MaxEvents),
		}),
		warmup: sim.Time(sc.Warmup),
		until:  sim.Time(sc.Duration),
	}
	streams := sim.NewStreams(seed, replication)
	pool := &mesh.Pool{}
	var err error
	if !sc.Bus.empty() {
		w.tracer = mesh.NewTracer(w.s, len(sc.Workloads))
	}
	if w.bus, err = buildBus(w.s, streams, sc, w.warmup, w.tracer); err != nil {
		return nil, err
	}
	byName := make(map[string]*mesh.Service, len(sc.Services))
	targets := make([][]callTarget, len(sc.Services)) // each service's call targets, in order of first appearance
	// Each distinct workload path and headers gets a route id, in workload
	// order.
	var classes []requestClass
	routeID := map[string]int32{}
	for _, wl := range sc.Workloads {
		k := classKey(wl)
		if _, ok := routeID[k]; wl.Route != "" && !ok {
			routeID[k] = int32(len(classes))
			classes = append(classes, requestClass{wl.Route, wl.Headers})
		}
	}
	policies := make(map[string]Sidecar, len(sc.Services))
	for _, svcSpec := range sc.Services {
		st, err := svcSpec.ServiceTime.Build()
		if err != nil {
			return nil, fmt.Errorf("scenario: service %s: service_time: %w", svcSpec.Name, err)
		}
		bound := mesh.Unbounded
		if !svcSpec.Queue.Unbounded {
			bound = svcSpec.Queue.Bound
		}
		steps, tgts, err := callSteps(svcSpec, classes)
		if err != nil {
			return nil, err
		}
		targets[len(w.services)] = tgts
		var limit mesh.RateLimit
		if rl := svcSpec.RateLimit; rl != nil {
			limit = mesh.RateLimit{MaxTokens: int64(rl.MaxTokens), TokensPerFill: int64(max(rl.TokensPerFill, 1)), FillInterval: time.Duration(rl.FillInterval)}
		}
		var adaptive *concurrency.Config
		if a := svcSpec.AdaptiveConcurrency; a != nil {
			c := a.config()
			adaptive = &c
		}
		svc, err := mesh.NewService(w.s, streams, mesh.ServiceConfig{
			RateLimit:    limit,
			Name:         svcSpec.Name,
			Replicas:     svcSpec.Replicas,
			Instances:    poolSize(sc, len(w.services)),
			Concurrency:  svcSpec.Concurrency,
			QueueBound:   bound,
			ServiceTime:  st,
			ErrorProb:    svcSpec.Errors.Probability,
			ErrorOutcome: statusOutcome(svcSpec.Errors.Status),
			Steps:        steps,
			Pool:         pool,

			PropagateDeadline: svcSpec.PropagateDeadline,
			Adaptive:          adaptive,
		})
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		w.services = append(w.services, svc)
		byName[svcSpec.Name] = svc
		policies[svcSpec.Name] = svcSpec.Sidecar
	}
	net, err := newNetwork(sc.Network)
	if err != nil {
		return nil, err
	}
	svcZones := make([][]string, len(sc.Services))
	byIndex := make(map[string]int, len(sc.Services))
	for i, sp := range sc.Services {
		svcZones[i] = sp.Zones
		byIndex[sp.Name] = i
	}
	if needsControlPlane(sc) {
		if w.cp, err = newControlPlane(w, sc); err != nil {
			return nil, err
		}
		for i, svcSpec := range sc.Services {
			if !needsFleet(sc, i) {
				continue
			}
			st, _ := svcSpec.ServiceTime.Build() // built above
			f, err := newFleet(w, sc, i, mesh.Version{ServiceTime: st, ErrorProb: svcSpec.Errors.Probability, ErrorOutcome: statusOutcome(svcSpec.Errors.Status)})
			if err != nil {
				return nil, err
			}
			w.cp.fleets[i] = f
			w.fleets = append(w.fleets, f)
		}
	}
	dynamic := w.cp != nil
	// Each instance that makes calls has its own sidecar: one cluster per
	// target service, configured by the target's sidecar block.
	for i, svc := range w.services {
		for k, in := range svc.Instances() {
			var callers []mesh.Caller
			clusters := map[string]*sidecar.Cluster{} // one per target service, shared by its routes
			probers := map[string]*prober{}
			for _, t := range targets[i] {
				if t.publish != "" {
					p, err := w.bus.producer(svc.Name(), in.Name(), t.publish)
					if err != nil {
						return nil, err
					}
					callers = append(callers, p)
					continue
				}
				c, ok := clusters[t.to]
				if !ok {
					var err error
					zones := clusterZones(zoneOf(svcZones[i], k), svcZones[i], len(svc.Instances()), svcZones[byIndex[t.to]], len(byName[t.to].Instances()))
					lat := net.latencies(zoneOf(svcZones[i], k), svcZones[byIndex[t.to]], len(byName[t.to].Instances()))
					c, err = newCluster(w.s, streams, in.Name(), byName[t.to], policies[t.to], sc.Network, pool, lat, zones, dynamic)
					if err != nil {
						return nil, err
					}
					clusters[t.to] = c
					p, err := w.newProber(streams, in.Name(), c, byIndex[t.to], policies[t.to], lat)
					if err != nil {
						return nil, err
					}
					probers[t.to] = p
					w.clusters = append(w.clusters, clusterOf{caller: svc.Name(), service: t.to, c: c, p: p, name: in.Name() + "->" + t.to,
						zone: zoneOf(svcZones[i], k), hostZones: instanceZones(svcZones[byIndex[t.to]], len(byName[t.to].Instances()))})
				}
				if t.route == nil {
					callers = append(callers, c)
					continue
				}
				p, err := t.route.over(policies[t.to]).Policy()
				if err != nil {
					return nil, fmt.Errorf("scenario: service %s: route %s to %s: %w", svc.Name(), t.route.Match, t.to, err)
				}
				rc, err := c.WithRoute(p)
				if err != nil {
					return nil, fmt.Errorf("scenario: service %s: route %s: %w", svc.Name(), t.route.Match, err)
				}
				callers = append(callers, rc)
			}
			if len(callers) > 0 {
				in.SetCallers(callers)
			}
			if w.cp != nil {
				var names []string
				for _, t := range targets[i] {
					if t.publish == "" { // a publish goes to the bus, not to a service to watch
						names = append(names, t.to)
					}
				}
				if err := w.cp.subscribe(in.Name(), streams, clusters, probers, names); err != nil {
					return nil, err
				}
			}
		}
	}
	// Consumers whose processing calls a service have their own sidecars,
	// under the target's policy, as any caller.
	err = w.bus.connect(pool, func(reader, consumer, to string) (mesh.Caller, error) {
		svc, ok := byName[to]
		if !ok {
			return nil, fmt.Errorf("scenario: bus consumer %s calls %q, which is not a service", reader, to)
		}
		c, err := newCluster(w.s, streams, consumer, svc, policies[to], sc.Network, pool, net.latencies("", svcZones[byIndex[to]], len(svc.Instances())), nil, dynamic)
		if err != nil {
			return nil, err
		}
		w.clusters = append(w.clusters, clusterOf{caller: reader, service: to, c: c, bus: true, name: consumer + "->" + to,
			hostZones: instanceZones(svcZones[byIndex[to]], len(svc.Instances()))})
		if w.cp != nil {
			if err := w.cp.subscribe(consumer, streams, map[string]*sidecar.Cluster{to: c}, nil, []string{to}); err != nil {
				return nil, err
			}
		}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	var specs []failure.Spec
	var surges []namedSurge // overloads, given their workloads once built
	for i, f := range sc.Failures {
		spec := failure.Spec{At: sim.Time(f.At), For: time.Duration(f.For), Label: f.Target,
			Factor: f.Factor, Prob: f.Probability, Outcome: statusOutcome(f.Status)}
		from, to, isLink := parseLink(f.Target)
		kind := f.Kind
		if kind == "partition" || ((kind == "latency" || kind == "loss") && (isLink || len(f.Zones) > 0)) {
			kind = "link" // on a link between services or zones
		}
		switch kind {
		case "link":
			nf := &netFault{w: w, kind: f.Kind, caller: from, service: to, side: f.Zones, other: f.OtherZones, loss: f.Probability, streams: streams}
			if isLink {
				spec.Label = from + " -> " + to
			} else {
				spec.Label = zoneLinkLabel(f.Zones, f.OtherZones)
			}
			switch f.Kind {
			case "partition":
				spec.Kind = failure.Partition
			case "loss":
				spec.Kind = failure.Loss
			case "latency":
				spec.Kind = failure.Latency
				if spec.Delay, err = f.Delay.Build(); err != nil {
					return nil, fmt.Errorf("scenario: failures[%d].delay: %w", i, err)
				}
				nf.delay = spec.Delay
			}
			// The failure's own stream, named by what it is rather than by
			// its place in the list: adding a failure shifts no other.
			nf.stream = fmt.Sprintf("%s %s at %v", f.Kind, spec.Label, time.Duration(f.At))
			spec.Outages = []failure.Outage{nf}
		case "slow", "errors", "latency", "loss":
			targets, err := instancesOf(byName, f.Target)
			if err != nil {
				return nil, fmt.Errorf("scenario: failures[%d]: %w", i, err)
			}
			spec.Targets = targets
			switch f.Kind {
			case "slow":
				spec.Kind = failure.Slow
			case "errors":
				spec.Kind = failure.Errors
			case "loss":
				spec.Kind = failure.Loss
			case "latency":
				spec.Kind = failure.Latency
				if spec.Delay, err = f.Delay.Build(); err != nil {
					return nil, fmt.Errorf("scenario: failures[%d].delay: %w", i, err)
				}
			}
		case "crash":
			outages, _, err := w.cp.pods(f.Target)
			if err != nil {
				return nil, fmt.Errorf("scenario: failures[%d]: %w", i, err)
			}
			spec.Outages, spec.Kind = outages, failure.Crash
		case "overload":
			sg := &surge{factor: f.Factor}
			surges = append(surges, namedSurge{f.Target, sg})
			spec.Outages, spec.Kind = []failure.Outage{sg}, failure.Overload
		case "broker_down", "consumer_crash":
			outages, err := w.bus.outages(f.Kind, f.Target)
			if err != nil {
				return nil, fmt.Errorf("scenario: failures[%d]: %w", i, err)
			}
			spec.Outages = outages
			spec.Kind = failure.BrokerDown
			if f.Kind == "consumer_crash" {
				spec.Kind = failure.ConsumerCrash
			}
		}
		specs = append(specs, spec)
		// every: the same failure again, every so long, until the end.
		for at := spec.At.Add(time.Duration(f.Every)); f.Every > 0 && at < w.until; at = at.Add(time.Duration(f.Every)) {
			again := spec
			again.At = at
			specs = append(specs, again)
		}
	}
	if len(specs) > 0 {
		tl, err := failure.New(w.s, specs)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		w.failures = tl
	}
	window := time.Duration(sc.Timeline.Window)
	if window == 0 { // a scenario written in Go rather than parsed
		window = DefaultWindow(time.Duration(sc.Duration))
	}
	for wi, wl := range sc.Workloads {
		if wl.Publish != "" {
			inter, err := wl.Arrival.Build()
			if err != nil {
				return nil, fmt.Errorf("scenario: workload %s: arrival: %w", wl.Name, err)
			}
			p, err := w.bus.producer(wl.Name, wl.Name, wl.Publish)
			if err != nil {
				return nil, err
			}
			open, err := workload.NewOpen(w.s, streams, workload.OpenConfig{
				Name: wl.Name, Interarrival: inter, Target: p, Pool: pool, Warmup: w.warmup, End: w.until, Route: -1,
				Window: window, Tracer: w.tracer, TraceOrigin: wi,
			})
			if err != nil {
				return nil, fmt.Errorf("scenario: %w", err)
			}
			w.workloads = append(w.workloads, open)
			w.publishers = append(w.publishers, true)
			continue
		}
		svc, ok := byName[wl.Target]
		if !ok {
			return nil, fmt.Errorf("scenario: workload %s: unknown target %q", wl.Name, wl.Target)
		}
		var zones *sidecar.Zones
		if wl.Zone != "" {
			// A workload has a zone but no local cluster: locality
			// failover applies, zone-aware routing does not (nil callers).
			zones = clusterZones(wl.Zone, []string{wl.Zone}, 1, svcZones[byIndex[wl.Target]], len(svc.Instances()))
			if zones != nil {
				zones.Callers = nil
			}
		}
		lat := net.latencies(wl.Zone, svcZones[byIndex[wl.Target]], len(svc.Instances()))
		cluster, err := newCluster(w.s, streams, wl.Name, svc, policies[wl.Target], sc.Network, pool, lat, zones, dynamic)
		if err != nil {
			return nil, err
		}
		p, err := w.newProber(streams, wl.Name, cluster, byIndex[wl.Target], policies[wl.Target], lat)
		if err != nil {
			return nil, err
		}
		w.clusters = append(w.clusters, clusterOf{caller: wl.Name, service: wl.Target, c: cluster, p: p, fromWorkload: true, name: wl.Name + "->" + wl.Target,
			zone: wl.Zone, hostZones: instanceZones(svcZones[byIndex[wl.Target]], len(svc.Instances()))})
		if w.cp != nil {
			if err := w.cp.subscribe(wl.Name, streams, map[string]*sidecar.Cluster{wl.Target: cluster}, map[string]*prober{wl.Target: p}, []string{wl.Target}); err != nil {
				return nil, err
			}
		}
		inter, err := wl.Arrival.Build()
		if err != nil {
			return nil, fmt.Errorf("scenario: workload %s: arrival: %w", wl.Name, err)
		}
		open, err := workload.NewOpen(w.s, streams, workload.OpenConfig{
			Name:         wl.Name,
			Interarrival: inter,
			Target:       cluster,
			Pool:         pool,
			Warmup:       w.warmup,
			End:          w.until,
			Route:        routeOf(routeID, wl),
			Deadline:     time.Duration(wl.Deadline),
			Window:       window,
			Tracer:       w.tracer,
			TraceOrigin:  wi,
		})
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		w.workloads = append(w.workloads, open)
		w.publishers = append(w.publishers, false)
	}
	for _, ns := range surges {
		for k, wl := range sc.Workloads {
			if wl.Name == ns.workload {
				ns.surge.open = w.workloads[k]
			}
		}
		if ns.surge.open == nil {
			return nil, fmt.Errorf("scenario: overload: no workload %q", ns.workload)
		}
	}
	if w.cp != nil {
		if err := w.cp.randomFailures(sc, streams); err != nil {
			return nil, err
		}
	}
	for i, push := range sc.ConfigPushes {
		p, err := push.Sidecar.Policy()
		if err != nil {
			return nil, fmt.Errorf("scenario: config_pushes[%d]: %w", i, err)
		}
		delay := dist.Dist(nil)
		if w.cp != nil {
			delay = w.cp.delay
		}
		if delay == nil {
			delay, _ = dist.Constant(100 * time.Millisecond) // discovery's default
		}
		w.pushes = append(w.pushes, &configPush{w: w, index: i, at: sim.Time(push.At), service: push.Service, policy: p, delay: delay, streams: streams})
	}
	return w, nil
}

// instancesOf returns the instances a target names: a service ("svc",
// all of them) or one instance ("svc[i]").
func instancesOf(byName map[string]*mesh.Service, target string) ([]*mesh.Instance, error) {
	name, idx, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	svc, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("no service %q", name)
	}
	if idx >= 0 {
		return svc.Instances()[idx : idx+1], nil
	}
	return svc.Instances(), nil
}

// parseLink splits a link target "from -> to" (spaces optional) into its
// two ends; ok is false when target is not a link.
func parseLink(target string) (from, to string, ok bool) {
	from, to, ok = strings.Cut(target, "->")
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(from), strings.TrimSpace(to), true
}

// zoneLinkLabel names a zone link on the report's timelines: "zones a, b
// -> c" between two sets, "zones a" between a set and every other zone.
func zoneLinkLabel(side, other []string) string {
	label := "zones " + strings.Join(side, ", ")
	if len(other) > 0 {
		label += " -> " + strings.Join(other, ", ")
	}
	return label
}

// namedSurge is an overload failure waiting for its workload.
type namedSurge struct {
	workload string
	surge    *surge
}

// statusOutcome maps a modelled HTTP status to the outcome an instance
// answers with: 503 is unavailable (what a full queue answers too), and
// anything else an error (500).
func statusOutcome(status Status) mesh.Outcome {
	switch status {
	case 503:
		return mesh.OutcomeRejected
	case StatusReset:
		return mesh.OutcomeReset
	}
	return mesh.OutcomeError
}

// clusterOf is one caller's proxy cluster towards one service. The caller
// is a workload, or a service (for each of its instances' sidecars).
type clusterOf struct {
	caller, service string
	c               *sidecar.Cluster
	p               *prober // its active health checker, or nil
	fromWorkload    bool
	bus             bool // caller is a bus consumer's (links name services and workloads)
	// name is the proxy's own name (caller instance -> service); zone is
	// the caller's zone and hostZones its hosts' ("" for none), for
	// partitions.
	name      string
	zone      string
	hostZones []string
}

// newProber returns the active health checker of caller's cluster c
// towards service i, or nil if the service's sidecar has no health_check.
func (w *world) newProber(streams sim.Streams, caller string, c *sidecar.Cluster, i int, sc Sidecar, lat []dist.Dist) (*prober, error) {
	if sc.HealthCheck == nil {
		return nil, nil
	}
	svc := w.services[i]
	uneject := true
	if od := sc.OutlierDetection; od != nil && od.SuccessfulActiveHealthCheckUnejectHost != nil {
		uneject = *od.SuccessfulActiveHealthCheckUnejectHost
	}
	p, err := newProber(w.s, streams, caller+"->"+svc.Name(), c, svc, lat, *sc.HealthCheck, uneject, w.cp.reg.Endpoints(i).Endpoints)
	if err != nil {
		return nil, err
	}
	w.probers = append(w.probers, p)
	return p, nil
}

// newCluster builds caller's proxy towards svc under the target's sidecar
// policy.
func newCluster(s *sim.Scheduler, streams sim.Streams, caller string, svc *mesh.Service, sc Sidecar, n Network, pool *mesh.Pool, latency []dist.Dist, zones *sidecar.Zones, dynamic bool) (*sidecar.Cluster, error) {
	policy, err := sc.Policy()
	if err == nil && n.ConnectFailure > 0 {
		// Connections that can fail need a connection pool to fail in.
		if policy.Connections == nil {
			policy.Connections = &sidecar.Connections{
				MaxConnections:     sc.CircuitBreakers.MaxConnections,
				MaxPendingRequests: sc.CircuitBreakers.MaxPendingRequests,
			}
		}
		policy.Connections.ConnectFailure = n.ConnectFailure
		err = policy.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("scenario: service %s: sidecar: %w", svc.Name(), err)
	}
	ups := make([]sidecar.Upstream, len(svc.Instances()))
	for i, in := range svc.Instances() {
		ups[i] = in
	}
	c, err := sidecar.NewCluster(s, streams, sidecar.Config{
		Name: caller + "->" + svc.Name(), Upstreams: ups, Policy: policy, Pool: pool, Latency: latency, Zones: zones, Dynamic: dynamic,
	})
	if err != nil {
		return nil, fmt.Errorf("scenario: %s: %w", caller, err)
	}
	if policy.Connections != nil {
		for i, in := range svc.Instances() {
			in.WatchCrash(crashLink{c: c, host: i})
		}
	}
	return c, nil
}

// crashLink tells a proxy's cluster that one of its hosts crashed, so
// that it closes its connections to it.
type crashLink struct {
	c    *sidecar.Cluster
	host int
}

func (l crashLink) Crashed(*mesh.Instance) { l.c.HostCrashed(l.host) }

// network holds the built latency distributions; nil means no delay.
type network struct{ same, cross dist.Dist }

func newNetwork(n Network) (*network, error) {
	if n.SameZone == nil && n.CrossZone == nil {
		return nil, nil
	}
	var net network
	var err error
	if n.SameZone != nil {
		if net.same, err = n.SameZone.Build(); err != nil {
			return nil, fmt.Errorf("scenario: network.same_zone: %w", err)
		}
	}
	if n.CrossZone != nil {
		if net.cross, err = n.CrossZone.Build(); err != nil {
			return nil, fmt.Errorf("scenario: network.cross_zone: %w", err)
		}
	}
	if net.same == nil {
		net.same = net.cross
	}
	if net.cross == nil {
		net.cross = net.same
	}
	return &net, nil
}

// latencies returns the one-way delay from a caller in zone from to each
// of n instances placed over zones, or nil without a network.
func (net *network) latencies(from string, zones []string, n int) []dist.Dist {
	if net == nil {
		return nil
	}
	out := make([]dist.Dist, n)
	for i := range out {
		to := zoneOf(zones, i)
		if from == "" || to == "" || from == to {
			out[i] = net.same
		} else {
			out[i] = net.cross
		}
	}
	return out
}

// clusterZones numbers the zones of a calling service (callerZones, n
// instances; this caller in zone local) and of its target (hostZones, m
// instances) together, in order of first appearance, for zone-aware
// routing. It returns nil when either service has no zones.
func clusterZones(local string, callerZones []string, n int, hostZones []string, m int) *sidecar.Zones {
	if len(callerZones) == 0 || len(hostZones) == 0 {
		return nil
	}
	var names []string
	index := func(z string) int {
		for i, x := range names {
			if x == z {
				return i
			}
		}
		names = append(names, z)
		return len(names) - 1
	}
	z := &sidecar.Zones{Local: index(local), HostZones: make([]int, m)}
	callerZone := make([]int, n)
	for i := range callerZone {
		callerZone[i] = index(zoneOf(callerZones, i))
	}
	for i := range z.HostZones {
		z.HostZones[i] = index(zoneOf(hostZones, i))
	}
	z.Callers = make([]int, len(names))
	for _, zi := range callerZone {
		z.Callers[zi]++
	}
	return z
}

// instanceZones lists the zones of n instances placed over zones.
func instanceZones(zones []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = zoneOf(zones, i)
	}
	return out
}

// zoneOf is the zone of instance i of a service placed over zones.
func zoneOf(zones []string, i int) string {
	if len(zones) == 0 {
		return ""
	}
	return zones[i%len(zones)]
}

// requestClass is what gateways route on: a workload's path and headers.
type requestClass struct {
	path    string
	headers []Header
}

// classKey identifies a workload's request class: its path and its
// headers, sorted, so that workloads listing the same headers in another
// order share a route id.
func classKey(wl Workload) string {
	hs := make([]string, len(wl.Headers))
	for i, h := range wl.Headers {
		hs[i] = strings.ToLower(h.Name) + "=" + h.Value
	}
	slices.Sort(hs)
	return wl.Route + "\x00" + strings.Join(hs, "\x00")
}

// routeOf is the route id of a workload's requests, -1 for none.
func routeOf(ids map[string]int32, wl Workload) int32 {
	if id, ok := ids[classKey(wl)]; ok && wl.Route != "" {
		return id
	}
	return -1
}

// callTarget is one caller of an instance: its sidecar towards service
// to, under the route's own settings when route is set.
type callTarget struct {
	to      string
	route   *RouteSpec
	publish string // a publish to this bus destination instead of a call
}

// callSteps turns a service's auth, call steps and routes into the
// model's steps, with calls as indexes into the service's distinct call
// targets (in order of first appearance), which it also returns. A
// gateway's routing table has one entry per request class, from the route
// that takes it (matchRoute).
func callSteps(svc Service, classes []requestClass) ([]mesh.Step, []callTarget, error) {
	var steps []mesh.Step
	var targets []callTarget
	index := func(t string, rt *RouteSpec) int {
		for i, x := range targets {
			if x.to == t && x.route == rt && x.publish == "" {
				return i
			}
		}
		targets = append(targets, callTarget{to: t, route: rt})
		return len(targets) - 1
	}
	publish := func(dest string) int {
		for i, x := range targets {
			if x.publish == dest {
				return i
			}
		}
		targets = append(targets, callTarget{publish: dest})
		return len(targets) - 1
	}
	if a := svc.Auth; a != nil {
		auth := &mesh.Auth{Caller: -1, Deny: a.Deny, FailOpen: a.FailureModeAllow}
		if a.Service != "" {
			auth.Caller = index(a.Service, nil)
		} else {
			cost, err := a.Cost.Build()
			if err != nil {
				return nil, nil, fmt.Errorf("scenario: service %s: auth.cost: %w", svc.Name, err)
			}
			auth.Cost = cost
		}
		steps = append(steps, mesh.Step{Auth: auth})
	}
	if len(svc.Routes) > 0 {
		table := make([]mesh.Route, len(classes))
		for id, class := range classes {
			k := matchRoute(svc.Routes, class.path, class.headers)
			if k < 0 {
				continue // no route: 404
			}
			rt := &svc.Routes[k]
			var own *RouteSpec
			if rt.ownPolicy() {
				own = rt
			}
			if rt.To != "" {
				table[id] = mesh.Route{Callers: []int{index(rt.To, own)}, Weights: []int{1}}
				continue
			}
			for _, d := range rt.Split {
				table[id].Callers = append(table[id].Callers, index(d.To, own))
				table[id].Weights = append(table[id].Weights, d.Weight)
			}
		}
		return append(steps, mesh.Step{Routes: table}), targets, nil
	}
	for _, st := range svc.Calls {
		if st.To != "" {
			steps = append(steps, mesh.Step{Calls: []int{index(st.To, nil)}, Wait: 1})
			continue
		}
		if st.Publish != "" {
			steps = append(steps, mesh.Step{Calls: []int{publish(st.Publish)}, Wait: 1})
			continue
		}
		step := mesh.Step{Wait: st.Wait}
		for _, c := range st.Parallel {
			if c.Publish != "" {
				step.Calls = append(step.Calls, publish(c.Publish))
				continue
			}
			step.Calls = append(step.Calls, index(c.To, nil))
		}
		if step.Wait == 0 {
			step.Wait = len(step.Calls)
		}
		steps = append(steps, step)
	}
	return steps, targets, nil
}

// start schedules the first event of every workload and the end of the
// warm-up, in scenario order.
func (w *world) start() {
	if w.warmup > 0 {
		w.s.Schedule(w.warmup, warmupEnd{w}, sim.Event{})
	}
	if w.failures != nil {
		w.failures.Start() // before the workloads: a failure at t applies to events at t
	}
	if w.cp != nil {
		w.cp.start()
	}
	for _, p := range w.pushes {
		w.s.Schedule(p.at, p, sim.Event{})
	}
	for _, f := range w.fleets {
		f.start()
	}
	for _, p := range w.probers {
		p.hc.Start()
	}
	if w.bus != nil {
		w.bus.start()
	}
	for _, wl := range w.workloads {
		wl.Start()
	}
}

// warmupEnd restarts the time-weighted statistics when the warm-up ends.
// Counts and histograms need no reset: they only take requests created
// after the warm-up.
type warmupEnd struct{ w *world }

func (e warmupEnd) Handle(sim.Event) {
	for _, svc := range e.w.services {
		svc.ResetStats(e.w.s.Now())
	}
	for _, co := range e.w.clusters {
		co.c.ResetConnStats()
	}
}

// chunks is the number of slices a replication is run in, to report
// progress and to notice cancellation.
const chunks = 64

// run simulates the world to its end, calling tick after each slice with the
// fraction of virtual time done.
func (w *world) run(tick func(fraction float64) error) error {
	step := time.Duration(math.Ceil(float64(w.until) / chunks))
	if step <= 0 {
		step = 1
	}
	if w.bus != nil {
		w.bus.step = step
	}
	if w.tracer != nil {
		w.tracer.SetTimeline(step, chunks)
	}
	w.start()
	for t := sim.Time(0); t < w.until; {
		t = t.Add(step)
		if t > w.until {
			t = w.until
		}
		if err := w.s.RunUntil(t); err != nil {
			return err
		}
		if w.bus != nil {
			w.bus.sample()
		}
		if tick != nil {
			if err := tick(float64(t) / float64(w.until)); err != nil {
				return err
			}
		}
	}
	return nil
}
