package sidecar

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// maxTried bounds the hosts a call remembers for the previous_hosts
// predicate, so that a call allocates nothing.
const maxTried = 8

// Upstream is an endpoint a cluster sends attempts to: a service instance,
// or a test double. Arrive must eventually call r.Origin.Finish exactly
// once, possibly before it returns.
type Upstream interface {
	Arrive(r *mesh.Request)
	Weight() uint32
}

// Event kinds handled by a Cluster.
const (
	evRouteTimeout  int32 = iota + 1 // Ptr is the *call
	evPerTryTimeout                  // Ptr is the *attempt
	evBackoff                        // Ptr is the *call
	evHedge                          // Ptr is the *call
	evDeliver                        // Ptr is the *mesh.Request, Arg the host: it reaches the host
	evReturn                         // Ptr is the *mesh.Request, Arg the outcome: its answer reaches the proxy
)

// Stats counts what a cluster did for measured requests. Attempts minus
// Calls is the retry amplification.
type Stats struct {
	Calls          int64 // requests the proxy received
	Attempts       int64 // upstream requests it sent, retries included
	Retries        int64 // attempts after the first
	RetryOverflows int64 // retries refused by max_retries or the budget
	Overflows      int64 // attempts refused by max_requests (local 503)
	PerTryTimeouts int64 // attempts abandoned at the per-try timeout
	RouteTimeouts  int64 // calls ended by the route timeout
	Hedges         int64 // attempts started while another of the call was in flight
	HedgeWins      int64 // calls answered by such a hedged attempt
	// DeadlineExceeded counts calls failed at once because the request's
	// propagated deadline had already passed (nothing was sent).
	DeadlineExceeded int64
	Outcomes         [mesh.NumOutcomes]int64
	HostAttempts     []int64 // attempts per host, in host order
}

// Cluster is one proxy's view of one upstream service. It implements
// sim.Handler for its timers.
type Cluster struct {
	s       *sim.Scheduler
	name    string
	policy  Policy
	hosts   []*host
	pickers []lb.Picker
	obs     []lb.Observer // nil entries for pickers that do not observe
	rnd     *sim.Rand     // backoff jitter and worker choice
	reqs    *mesh.Pool

	active        int // attempts in flight, counted while not abandoned
	retriesActive int // of which retries
	// openMeasured and unansweredMeasured count measured calls not yet
	// ended and measured attempts not yet answered (abandoned ones
	// included), kept apart from the other books so that the runner can
	// check conservation on both sides of the proxy.
	openMeasured       int64
	unansweredMeasured int64
	calls              []*call
	attempts           []*attempt
	stats              Stats
	// Host selection over the healthy hosts. healthy maps a picker's index
	// to a host index; the pickers are rebuilt over a new subset whenever
	// the outlier detector's ejected set changes (epoch counts rebuilds).
	builder  lb.Builder
	lbRands  []*sim.Rand
	healthy  []int
	epoch    uint32
	detector *outlier.Detector
	seenVer  uint64
	// Zone-aware routing (Envoy's, models/lb/locality): the zones of the
	// hosts and callers, the plan over the healthy hosts (nil: off, or
	// the upstream is in panic), and its stream. pickers holds stride
	// pickers per worker; pickHosts maps each picker's index to hosts;
	// picked is the picker the last pickHost used.
	zones     *Zones
	plan      *locality.Plan
	locRnd    *sim.Rand
	stride    int
	pickHosts [][]int
	picked    int
	// Locality failover (Istio): the priority of each host, 0 in the
	// caller's zone and 1 elsewhere, and the load split over priorities.
	levels []int
	prio   *locality.Priorities
	panics int64 // picks made in panic mode
	// The network: per-host one-way latency, its stream, and the measured
	// requests and answers in transit (neither at the host nor back yet).
	latency        []dist.Dist
	netRnd         *sim.Rand
	transitMeasure int64
	// Connection pools, one per worker and host (conn.go); nil conns
	// means connections are free and always open.
	conns        *Connections
	pools        []connPool
	open         int // connections open or being opened, all pools
	pendingTotal int // requests waiting for a connection, all pools
	connRnd      *sim.Rand
	tlsRnd       *sim.Rand
	connStats    ConnStats
	// ratio is the Linkerd/Finagle retry budget, lat the latencies that
	// percentile hedging draws its delay from; nil when not configured.
	ratio *tokenBudget
	lat   *latencyWindow
	// cut marks the hosts a network partition separates from the proxy
	// (nil: none); limbo and blackholed count the requests lost in it.
	cut        []bool
	limbo      int64
	blackholed int64
	// faults are the network faults on the links to some hosts, in the
	// order they started (AddFault); lagged is set when one of them delays
	// answers, so that answers take the way back over the wire.
	faults []*Fault
	lagged bool
	// routePol is the route settings new calls take (a copy of policy);
	// calls in flight keep the one they started with.
	routePol *Policy
	// plain is set when the pickers are one per worker over all hosts in
	// host order (no outlier detector, no zones): a pick's index is the
	// host's. delayed is set when requests and answers take time on the
	// wire (network latency or mTLS encryption).
	plain, delayed bool
	// direct is set when the policy has no timeouts and no retries: a call
	// is then exactly one attempt, and the proxy forwards the request
	// itself instead of making a call and a second request (the hot path
	// of plain load balancing).
	direct bool
}

// host is the proxy's record of one endpoint: the picker sees this proxy's
// own active count, not the endpoint's global load.
type host struct {
	up     Upstream
	proc   process // up's process state, if it has one
	active int
	joined sim.Time
	// present: the proxy knows the host (discovery); checked: active
	// health checking, if any, finds it healthy.
	present, checked bool
}

func (h *host) ActiveRequests() int { return h.active }

// WarmingSince implements lb.Warming: a host is in slow start from when
// it joined the cluster. Every host of a cluster built at the start joined
// at 0, as Envoy starts slow start for the hosts present when a balancer
// is created (so that, all being new, the ramp changes nothing).
func (h *host) WarmingSince() (sim.Time, bool) { return h.joined, true }
func (h *host) Weight() uint32                 { return h.up.Weight() }

// Config is what NewCluster needs besides the policy.
type Config struct {
	// Name names the cluster in errors and streams: "<caller>-><service>".
	Name      string
	Upstreams []Upstream // in stable host order
	Policy    Policy
	// Pool supplies the upstream requests; it is shared with the models
	// that serve them.
	Pool *mesh.Pool
	// Dynamic allows the host set to change during the run
	// (SetEndpoints, SetChecked); the pickers are then rebuilt over the
	// hosts present and healthy.
	Dynamic bool
	// Zones places the upstreams and the callers in zones, for zone-aware
	// routing (Policy.ZoneAware); nil means no zones.
	Zones *Zones
	// Latency is the one-way network delay to each upstream, in host
	// order (nil: none). A request and its answer each take one draw, from
	// the cluster's own stream "<name>"/"net".
	Latency []dist.Dist
}

// Zones is where a cluster's hosts and callers are: HostZones[i] is the
// zone index of upstream i (-1 for none), Local the zone index of the
// proxy's own instance, and Callers the number of instances of the
// calling service (Envoy's local cluster) in each zone.
type Zones struct {
	HostZones []int
	Local     int
	Callers   []int
}

// NewCluster builds the cluster's pickers, one per worker, each drawing
// from streams.Get(name, "lb#<worker>"), and its own stream for backoff
// jitter, streams.Get(name, "retry").
func NewCluster(s *sim.Scheduler, streams sim.Streams, cfg Config) (*Cluster, error) {
	p := cfg.Policy
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	if cfg.Pool == nil {
		return nil, fmt.Errorf("%w: cluster %s: no request pool", ErrConfig, cfg.Name)
	}
	c := &Cluster{s: s, name: cfg.Name, policy: p, rnd: streams.Get(cfg.Name, "retry"), reqs: cfg.Pool}
	if cfg.Latency != nil {
		if len(cfg.Latency) != len(cfg.Upstreams) {
			return nil, fmt.Errorf("%w: cluster %s: %d latencies for %d upstreams", ErrConfig, cfg.Name, len(cfg.Latency), len(cfg.Upstreams))
		}
		c.latency = cfg.Latency
		c.netRnd = streams.Get(cfg.Name, "net")
	}
	c.direct = p.direct()
	if b := p.Retries.Ratio; b != nil {
		c.ratio = newTokenBudget(*b)
	}
	if h := p.Hedge.Percentile; h != nil {
		c.lat = newLatencyWindow(*h)
	}
	if p.Connections != nil {
		c.conns = p.Connections
		c.connRnd = streams.Get(cfg.Name, "conn")
		c.tlsRnd = streams.Get(cfg.Name, "tls")
	}
	for _, up := range cfg.Upstreams {
		proc, _ := up.(process)
		c.hosts = append(c.hosts, &host{up: up, proc: proc, present: true, checked: true})
	}
	c.stats.HostAttempts = make([]int64, len(c.hosts))
	if c.conns != nil {
		c.pools = make([]connPool, p.Workers*len(c.hosts))
		for i := range c.pools {
			c.pools[i].worker, c.pools[i].host = i/len(c.hosts), i%len(c.hosts)
		}
	}
	c.builder, _ = lb.Get(p.LB)
	rp := p // the route settings calls keep, apart from the cluster's: SetPolicy replaces, never changes, them
	c.routePol = &rp
	for w := 0; w < p.Workers; w++ {
		c.lbRands = append(c.lbRands, streams.Get(cfg.Name, fmt.Sprintf("lb#%d", w)))
	}
	if (p.ZoneAware != nil || p.Failover != nil) && cfg.Zones != nil {
		if len(cfg.Zones.HostZones) != len(c.hosts) {
			return nil, fmt.Errorf("%w: cluster %s: %d host zones for %d upstreams", ErrConfig, cfg.Name, len(cfg.Zones.HostZones), len(c.hosts))
		}
		c.zones = cfg.Zones
		c.locRnd = streams.Get(cfg.Name, "locality")
		if p.Failover != nil {
			c.levels = make([]int, len(c.hosts))
			for i, z := range cfg.Zones.HostZones {
				if z != cfg.Zones.Local {
					c.levels[i] = 1
				}
			}
		}
	}
	if p.Outlier != nil {
		d, err := outlier.New(s, streams.Get(cfg.Name, "outlier"), len(c.hosts), *p.Outlier)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
		}
		c.detector = d
		d.Start()
	}
	c.plain = c.detector == nil && c.zones == nil && !cfg.Dynamic
	c.delayed = c.latency != nil || (c.conns != nil && c.conns.MTLS != nil)
	if err := c.rebuild(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	return c, nil
}

// rebuild makes the pickers over the hosts the outlier detector has not
// ejected, or over all hosts in panic mode (fewer healthy than the panic
// threshold, Envoy's healthy_panic_threshold). Rebuilt pickers start afresh,
// drawing on from each worker's stream. It allocates, but runs only when
// the ejected set changes.
func (c *Cluster) rebuild() error {
	c.healthy = c.healthy[:0]
	members := 0
	for i, h := range c.hosts {
		if !h.present {
			continue
		}
		members++
		if h.checked && (c.detector == nil || !c.detector.Ejected(i)) {
			c.healthy = append(c.healthy, i)
		}
	}
	if c.levels != nil {
		return c.rebuildPriorities()
	}
	panicked := false
	if len(c.healthy)*100 < max(c.policy.PanicThreshold, 0)*members { // NoPanic never panics
		panicked = true
		c.healthy = c.healthy[:0]
		for i, h := range c.hosts {
			if h.present {
				c.healthy = append(c.healthy, i)
			}
		}
	}
	// One picker per worker over the healthy hosts and, with zone-aware
	// routing, one per worker and zone over the healthy hosts of the zone:
	// picker w*stride is worker w's over all, w*stride+1+z its zone z's.
	sets := [][]int{c.healthy}
	c.plan = nil
	if c.zones != nil && c.zones.Callers != nil {
		z := len(c.zones.Callers)
		upstream, all := make([]int, z), make([]int, z)
		byZone := make([][]int, z)
		for _, i := range c.healthy {
			if zi := c.zones.HostZones[i]; zi >= 0 {
				byZone[zi] = append(byZone[zi], i)
				upstream[zi]++
			}
		}
		for i, zi := range c.zones.HostZones {
			if zi >= 0 && c.hosts[i].present {
				all[zi]++
			}
		}
		sets = append(sets, byZone...)
		if !panicked { // Envoy: no zone routing while the upstream is in panic
			plan, err := locality.NewPlan(*c.policy.ZoneAware, locality.Zones{
				Local: c.zones.Local, Callers: c.zones.Callers, Upstream: upstream, UpstreamHosts: all})
			if err != nil {
				return err
			}
			c.plan = plan
		}
	}
	c.stride = len(sets)
	return c.buildPickers(sets)
}

// buildPickers makes, for each worker, one picker over each host set, in
// order (picker w*len(sets)+k is worker w's over sets[k]), and starts a
// new picker generation.
func (c *Cluster) buildPickers(sets [][]int) error {
	c.pickers, c.obs, c.pickHosts = c.pickers[:0], c.obs[:0], c.pickHosts[:0]
	for w := range c.lbRands {
		for _, set := range sets {
			subset := make([]lb.Host, len(set))
			for k, i := range set {
				subset[k] = c.hosts[i]
			}
			pk, err := c.builder.Build(lb.BuildOptions{Hosts: subset, Rand: c.lbRands[w], Config: c.policy.LBConfig, Now: c.s.Now()})
			if err != nil {
				return err
			}
			c.pickers = append(c.pickers, pk)
			o, _ := pk.(lb.Observer)
			c.obs = append(c.obs, o)
			c.pickHosts = append(c.pickHosts, set)
		}
	}
	c.epoch++
	if c.detector != nil {
		c.seenVer = c.detector.Version()
	}
	return nil
}

// rebuildPriorities makes, per worker, a picker over the healthy hosts and
// one over all hosts of each priority (Istio's locality failover: the
// caller's zone first), and the load split over the priorities: a
// priority takes load in proportion to its health (healthy share x the
// overprovisioning factor 1.4), spills the rest to the next, and routes
// to all its hosts when in panic (Envoy's recalculatePerPriorityState).
func (c *Cluster) rebuildPriorities() error {
	const nLevels = 2
	levels := make([]locality.Level, nLevels)
	sets := make([][]int, 2*nLevels)
	for i, l := range c.levels {
		if !c.hosts[i].present {
			continue
		}
		levels[l].Hosts++
		sets[2*l+1] = append(sets[2*l+1], i)
	}
	for _, i := range c.healthy {
		l := c.levels[i]
		levels[l].Healthy++
		sets[2*l] = append(sets[2*l], i)
	}
	prio, err := locality.NewPriorities(*c.policy.Failover, levels)
	if err != nil {
		return err
	}
	c.prio, c.plan, c.stride = prio, nil, len(sets)
	return c.buildPickers(sets)
}

// pickHost asks the worker's picker for a host, first rebuilding the
// pickers if the ejected set changed; with locality failover the
// priorities first choose a level, and with zone-aware routing the plan a
// zone (Envoy's tryChooseLocalLocalityHosts), falling back to all healthy
// hosts when it chooses none or an empty zone. It returns the host index
// and the picker's own index for it, and leaves the picker used in
// c.picked for the caller to record.
func (c *Cluster) pickHost(worker int, info lb.PickInfo) (h, local int, err error) {
	if c.detector != nil && c.detector.Version() != c.seenVer {
		if err := c.rebuild(); err != nil {
			panic(fmt.Sprintf("sidecar: cluster %s: rebuilding pickers: %v", c.name, err)) // built before with the same config
		}
	}
	pi := worker * c.stride
	if c.prio != nil {
		level, avail := c.prio.Choose(c.locRnd)
		pi += 2 * level
		if avail == locality.All {
			pi++
		}
	}
	if c.plan != nil {
		if z := c.plan.Choose(c.locRnd); z >= 0 && len(c.pickHosts[pi+1+z]) > 0 {
			pi += 1 + z
		}
	}
	local, err = c.pickers[pi].Pick(info)
	if err != nil {
		return -1, -1, err
	}
	if c.detector != nil && len(c.healthy) == len(c.hosts) && c.detector.NumEjected() > 0 {
		c.panics++
	}
	c.picked = pi
	return c.pickHosts[pi][local], local, nil
}

// record tells the outlier detector how an attempt to host h ended.
func (c *Cluster) record(h int, r outlier.Result) {
	if c.detector != nil {
		c.detector.Record(h, r)
	}
}

// outcomeResult maps an upstream answer to the outlier detector's view:
// a 500 is a 5xx, a 503 a gateway failure.
func outcomeResult(o mesh.Outcome) outlier.Result {
	switch o {
	case mesh.OutcomeOK, mesh.OutcomeShed, mesh.OutcomeDenied: // a 4xx is not a failure to the detector
		return outlier.Success
	case mesh.OutcomeRejected, mesh.OutcomeTimeout:
		return outlier.GatewayFailure
	case mesh.OutcomeReset, mesh.OutcomeRefused:
		return outlier.LocalOriginFailure
	default:
		return outlier.Error5xx
	}
}

// CheckPush reports whether a policy pushed mid-run may replace old:
// the workers, outlier detection, connection pools and zone routing must
// stay as they are (Envoy would replace the cluster). Both policies must
// be validated.
func CheckPush(old, p Policy) error {
	switch {
	case p.Workers != old.Workers:
		return fmt.Errorf("%w: a pushed policy cannot change workers", ErrConfig)
	case (p.Outlier == nil) != (old.Outlier == nil) || (p.Outlier != nil && *p.Outlier != *old.Outlier):
		return fmt.Errorf("%w: a pushed policy cannot change outlier detection", ErrConfig)
	case (p.Connections == nil) != (old.Connections == nil):
		return fmt.Errorf("%w: a pushed policy cannot add or remove connection pools", ErrConfig)
	case (p.ZoneAware == nil) != (old.ZoneAware == nil) || (p.Failover == nil) != (old.Failover == nil):
		return fmt.Errorf("%w: a pushed policy cannot change zone routing", ErrConfig)
	}
	return nil
}

// SetPolicy applies a new policy pushed by the control plane, as an xDS
// update: the load-balancing policy and its settings (the pickers are
// rebuilt), the route settings (timeouts, retries, hedging: new calls take
// them, calls in flight keep theirs) and the circuit breakers. Changing
// the workers, outlier detection, connection pools or zone routing is an
// error (ErrConfig): Envoy would replace the cluster, which meshsim does
// not model.
func (c *Cluster) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("cluster %s: %w", c.name, err)
	}
	old := c.policy
	if err := CheckPush(old, p); err != nil {
		return fmt.Errorf("cluster %s: %w", c.name, err)
	}
	p.Connections, p.ZoneAware, p.Failover = old.Connections, old.ZoneAware, old.Failover
	c.policy = p
	rp := p
	c.routePol = &rp
	c.direct = p.direct()
	if b := p.Retries.Ratio; b != nil && (old.Retries.Ratio == nil || *b != *old.Retries.Ratio) {
		c.ratio = newTokenBudget(*b)
	} else if b == nil {
		c.ratio = nil
	}
	if h := p.Hedge.Percentile; h != nil && c.lat == nil {
		c.lat = newLatencyWindow(*h)
	}
	c.builder, _ = lb.Get(p.LB) // the picker's index stays the host's on the plain path: every policy is built over all hosts
	return c.rebuild()
}

// SetEndpoints tells the proxy which upstreams exist, as an EDS update
// does: hosts not listed get no new requests (requests in flight to them
// run their course), hosts listed again come back. eps are host indexes in
// ascending order. The cluster must be Dynamic. O(hosts) plus a rebuild of
// the pickers.
func (c *Cluster) SetEndpoints(eps []int) {
	if c.plain {
		panic(fmt.Sprintf("sidecar: cluster %s: SetEndpoints on a cluster built without Dynamic", c.name))
	}
	k := 0
	now := c.s.Now()
	for i, h := range c.hosts {
		in := k < len(eps) && eps[k] == i
		if in {
			k++
		}
		if in && !h.present {
			h.joined = now // slow start counts from the host's arrival
		}
		h.present = in
	}
	if err := c.rebuild(); err != nil {
		panic(fmt.Sprintf("sidecar: cluster %s: rebuilding pickers: %v", c.name, err)) // built before with the same config
	}
}

// SetChecked records an active health check's verdict on host i: an
// unhealthy host gets no new requests until it is healthy again. The
// cluster must be Dynamic.
func (c *Cluster) SetChecked(i int, healthy bool) {
	if c.plain {
		panic(fmt.Sprintf("sidecar: cluster %s: SetChecked on a cluster built without Dynamic", c.name))
	}
	if c.hosts[i].checked == healthy {
		return
	}
	c.hosts[i].checked = healthy
	if err := c.rebuild(); err != nil {
		panic(fmt.Sprintf("sidecar: cluster %s: rebuilding pickers: %v", c.name, err))
	}
}

// Detector returns the cluster's outlier detector, or nil.
func (c *Cluster) Detector() *outlier.Detector { return c.detector }

// Stats returns the cluster's counts so far.
func (c *Cluster) Stats() Stats {
	st := c.stats
	st.HostAttempts = append([]int64(nil), c.stats.HostAttempts...)
	return st
}

// call is one request through the proxy: one or more attempts under one
// route deadline.
type call struct {
	c          *Cluster
	req        *mesh.Request // the downstream request; its Origin gets the outcome
	pol        *Policy       // the route's settings: the cluster's, or a route's (WithRoute)
	hedgeDelay time.Duration // between delay hedges: fixed, or the percentile when the call started
	worker     int
	attempts   int                   // attempts started
	inflight   [maxInflight]*attempt // attempts the call waits for
	ninflight  int
	hedge      sim.Timer // the next delay hedge
	tried      [maxTried]int32
	ntried     int
	deadline   sim.Timer
	backoff    sim.Timer
	refs       int // attempts not yet answered, abandoned ones included
	done       bool
}

// attempt is one upstream request. It is the Origin of that request, so
// the upstream's answer comes back to it.
type attempt struct {
	call          *call
	host          int
	hedged        bool   // started while another attempt of the call was in flight
	local         int    // the picker's index for host
	picker        int    // the picker used
	epoch         uint32 // the picker generation local refers to
	retry         bool
	started       sim.Time
	perTry        sim.Timer
	stream        bool   // holds a stream of a pooled connection
	conn          uint32 // the generation of that connection (connPool.gen)
	connectFailed bool   // its connection could not be opened
	counted       bool   // still counted in the active and retry counters
	queued        bool   // waiting in a pool's queue for a connection
	abandoned     bool   // the call no longer waits for it
}

// Send runs r through the proxy with the cluster's own route settings:
// r.Origin.Finish is called exactly once, with OK, Error (the upstream
// failed and retries did not help), Timeout (the route timeout fired, or
// the request's propagated deadline) or Rejected (an upstream 503, or a
// local one: max_requests overflow or no healthy upstream).
//
// In direct mode (no timeouts, retries or hedges, and no deadline on the
// request) the proxy forwards r itself as the only attempt: the same
// accounting as a call of one attempt, without the call. This is the hot
// path of plain load balancing.
func (c *Cluster) Send(r *mesh.Request) {
	if !c.direct || r.Deadline != 0 {
		c.send(r, c.routePol)
		return
	}
	c.forward(r)
}

// send runs r as a call under the route settings of pol: its timeouts,
// retries and hedging. Everything else (balancing, breakers, outlier
// detection) is the cluster's.
func (c *Cluster) send(r *mesh.Request, pol *Policy) {
	now := c.s.Now()
	if r.Deadline != 0 && r.Deadline <= now {
		// The propagated deadline has passed: gRPC fails the call with
		// DEADLINE_EXCEEDED before sending anything.
		if r.Measured {
			c.stats.Calls++
			c.stats.DeadlineExceeded++
			c.stats.Outcomes[mesh.OutcomeTimeout]++
		}
		r.Origin.Finish(r, mesh.OutcomeTimeout)
		return
	}
	cl := c.getCall()
	cl.req = r
	cl.pol = pol
	cl.worker = 0
	if len(c.lbRands) > 1 {
		// Envoy pins a downstream connection to a worker; meshsim draws a
		// worker per request, as if each request came on its own
		// connection.
		cl.worker = c.rnd.IntN(len(c.lbRands))
	}
	if r.Measured {
		c.stats.Calls++
		c.openMeasured++
	}
	if c.ratio != nil {
		c.ratio.Deposit(now)
	}
	if d := routeTimeout(pol.RouteTimeout, r.Deadline, now); d > 0 {
		cl.deadline = c.s.After(d, c, sim.Event{Kind: evRouteTimeout, Ptr: cl})
	}
	cl.hedgeDelay = pol.Hedge.Delay
	if pol.Hedge.Percentile != nil {
		cl.hedgeDelay = c.lat.Delay(now, pol.Hedge.Percentile)
	}
	if d := cl.hedgeDelay; d > 0 {
		cl.hedge = c.s.After(d, c, sim.Event{Kind: evHedge, Ptr: cl})
	}
	c.start(cl, false)
}

// routeTimeout is the timeout of a call sent at now: the route timeout
// (0: none), shortened to what is left of the request's propagated
// deadline (0: none), as gRPC does with a context deadline and Envoy with
// grpc-timeout when max_grpc_timeout is set.
func routeTimeout(route time.Duration, deadline, now sim.Time) time.Duration {
	if deadline == 0 {
		return route
	}
	left := deadline.Sub(now)
	if route == 0 || left < route {
		return left
	}
	return route
}

// Route is a caller that sends through a cluster with a route's own
// timeouts, retries and hedging: Envoy configures those per route, and
// load balancing, circuit breakers and outlier detection per cluster, so
// every route to one service shares the cluster's breakers and detector.
type Route struct {
	c      *Cluster
	pol    Policy
	direct bool
}

// WithRoute returns a caller that sends through c with the route-level
// settings of p: RouteTimeout, PerTryTimeout, Hedge, and Retries except
// the circuit-breaker fields MaxRetries and Budget, which stay the
// cluster's. The other fields of p are ignored. p is validated (and its
// defaults filled) like a cluster's policy.
func (c *Cluster) WithRoute(p Policy) (*Route, error) {
	p.LB, p.LBConfig = c.policy.LB, c.policy.LBConfig
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("cluster %s route: %w", c.name, err)
	}
	pol := c.policy
	pol.RouteTimeout, pol.PerTryTimeout, pol.Hedge = p.RouteTimeout, p.PerTryTimeout, p.Hedge
	maxRetries, budget := pol.Retries.MaxRetries, pol.Retries.Budget
	pol.Retries = p.Retries
	pol.Retries.MaxRetries, pol.Retries.Budget = maxRetries, budget
	pol.Retries.Ratio = c.policy.Retries.Ratio // the cluster's budget, shared
	if h := pol.Hedge.Percentile; h != nil && c.lat == nil {
		c.lat = newLatencyWindow(*h) // one latency window per cluster
	}
	return &Route{c: c, pol: pol, direct: pol.direct()}, nil
}

// Send runs r through the route's cluster under the route's settings; see
// Cluster.Send.
func (rt *Route) Send(r *mesh.Request) {
	if rt.direct && r.Deadline == 0 {
		rt.c.forward(r)
		return
	}
	rt.c.send(r, &rt.pol)
}

// forward sends r itself as the only attempt, in direct mode: the same
// accounting as a call of one attempt, without the call.
func (c *Cluster) forward(r *mesh.Request) {
	worker := 0
	if len(c.lbRands) > 1 {
		// Envoy pins a downstream connection to a worker; meshsim draws a
		// worker per request, as if each request came on its own
		// connection.
		worker = c.rnd.IntN(len(c.lbRands))
	}
	if r.Measured {
		c.stats.Calls++
	}
	if c.active >= c.policy.MaxRequests {
		if r.Measured {
			c.stats.Overflows++
		}
		c.reject(r)
		return
	}
	now := c.s.Now()
	info := lb.PickInfo{HashKey: r.Key, Attempt: 1, Now: now}
	var h, local int
	var err error
	if c.plain {
		// pickHost without a call: one picker per worker over all hosts,
		// in host order, so the picker's index is the host's.
		local, err = c.pickers[worker].Pick(info)
		h = local
		c.picked = worker
	} else {
		h, local, err = c.pickHost(worker, info)
	}
	if err != nil { // local 503 "no healthy upstream"
		c.reject(r)
		return
	}
	if c.conns != nil && !c.canSend(worker, h) { // local 503: pending overflow, never retried
		c.connStats.PendingOverflow++
		if r.Measured {
			c.stats.Overflows++
		}
		c.reject(r)
		return
	}
	c.active++
	hst := c.hosts[h]
	hst.active++
	if r.Measured {
		c.openMeasured++
		c.unansweredMeasured++
		c.stats.Attempts++
		c.stats.HostAttempts[h]++
	}
	hop := &r.Hop
	hop.Origin = r.Origin
	hop.Host, hop.Local, hop.Worker, hop.Picker, hop.Epoch, hop.Sent = int32(h), int32(local), int32(worker), int32(c.picked), c.epoch, now
	if c.delayed || c.lagged {
		r.Origin = (*netOrigin)(c) // the answer travels back first
		c.deliver(worker, h, r)
		return
	}
	r.Origin = c
	if c.conns != nil {
		c.connect(worker, h, r)
		return
	}
	if c.cut != nil || c.faults != nil {
		c.arrive(h, r)
		return
	}
	hst.up.Arrive(r)
}

// arrive hands r to host h, unless a partition cuts the proxy off from it
// or a lossy link to it drops r: then r is lost on the way, never answered
// (its caller's timeouts decide what happens), and counted in Limbo. Each
// lossy fault on the link draws once, in the order the faults started.
func (c *Cluster) arrive(h int, r *mesh.Request) {
	lost := c.cut != nil && c.cut[h]
	for _, f := range c.faults {
		if f.Loss > 0 && f.covers(h) && f.Rnd.Bernoulli(f.Loss) {
			lost = true
		}
	}
	if lost {
		if r.Measured {
			c.limbo++
		}
		c.blackholed++
		return
	}
	c.hosts[h].up.Arrive(r)
}

// Fault is a network fault on the links from a proxy to some of its
// hosts: a request is lost on the way with probability Loss, and an answer
// takes Delay more on the way back. Its draws come from Rnd, the fault's
// own stream, so that a fault never shifts another component's draws.
type Fault struct {
	Hosts []bool // the hosts whose links the fault is on; nil: all
	Loss  float64
	Delay dist.Dist // nil: none
	Rnd   *sim.Rand
}

func (f *Fault) covers(h int) bool { return f.Hosts == nil || f.Hosts[h] }

// AddFault starts a network fault on the proxy's links. Requests sent from
// now on may be lost; answers to requests sent from now on are delayed
// (calls with timeouts or retries: answers from now on). It panics on a
// host mask of the wrong length, or a fault without a stream.
func (c *Cluster) AddFault(f *Fault) {
	if (f.Hosts != nil && len(f.Hosts) != len(c.hosts)) || f.Rnd == nil {
		panic(fmt.Sprintf("sidecar: cluster %s: fault of %d hosts for %d, or without a stream", c.name, len(f.Hosts), len(c.hosts)))
	}
	c.faults = append(c.faults, f)
	c.lagged = c.lagged || f.Delay != nil
}

// RemoveFault ends a fault that AddFault started; other faults stay on.
func (c *Cluster) RemoveFault(f *Fault) {
	c.faults = slices.DeleteFunc(c.faults, func(g *Fault) bool { return g == f })
	c.lagged = false
	for _, g := range c.faults {
		c.lagged = c.lagged || g.Delay != nil
	}
	if len(c.faults) == 0 {
		c.faults = nil
	}
}

// faultDelay draws the delay the faults on the link to host h add to an
// answer, one draw per delaying fault, in the order they started.
func (c *Cluster) faultDelay(h int) time.Duration {
	var d time.Duration
	for _, f := range c.faults {
		if f.Delay != nil && f.covers(h) {
			d += f.Delay.Sample(f.Rnd)
		}
	}
	return d
}

// SetCut marks the hosts the proxy cannot reach (a network partition):
// requests to them, and new connections, are lost; nil heals it.
func (c *Cluster) SetCut(cut []bool) {
	if cut != nil && len(cut) != len(c.hosts) {
		panic(fmt.Sprintf("sidecar: cluster %s: cut of %d hosts for %d", c.name, len(cut), len(c.hosts)))
	}
	c.cut = cut
}

// Cut reports whether a partition separates the proxy from host h now.
func (c *Cluster) Cut(h int) bool { return c.cut != nil && c.cut[h] }

// Limbo returns the measured requests lost in a partition: sent, never
// to be answered.
func (c *Cluster) Limbo() int64 { return c.limbo }

// Blackholed returns every request lost in a partition, measured or not.
func (c *Cluster) Blackholed() int64 { return c.blackholed }

// reject answers a request in direct mode with a local 503.
func (c *Cluster) reject(r *mesh.Request) {
	if r.Measured {
		c.stats.Outcomes[mesh.OutcomeRejected]++
	}
	r.Origin.Finish(r, mesh.OutcomeRejected)
}

// deliver hands r to host h over worker's connection pool, if there are
// pools, or at once.
func (c *Cluster) deliver(worker, h int, r *mesh.Request) {
	if c.conns == nil {
		c.transmit(h, r)
		return
	}
	c.connect(worker, h, r)
}

// transmit puts r on the wire to host h: it arrives after the network delay
// and the mTLS encryption cost, if there are any.
func (c *Cluster) transmit(h int, r *mesh.Request) {
	if !c.delayed {
		c.arrive(h, r)
		return
	}
	if r.Measured {
		c.transitMeasure++
	}
	c.s.After(c.wire(h), c, sim.Event{Kind: evDeliver, Arg: int64(h), Ptr: r})
}

// wire draws the time a request or an answer takes between the proxy and
// host h: a network delay and, with mTLS, the encryption cost.
func (c *Cluster) wire(h int) time.Duration {
	var d time.Duration
	if c.latency != nil {
		d = c.latency[h].Sample(c.netRnd)
	}
	if c.conns != nil && c.conns.MTLS != nil {
		d += c.conns.MTLS.PerRequest.Sample(c.tlsRnd)
	}
	return d
}

// answerLater sends the answer o to r back from host h over the wire.
func (c *Cluster) answerLater(h int, r *mesh.Request, o mesh.Outcome) {
	if r.Measured {
		c.transitMeasure++
	}
	d := c.wire(h)
	if c.lagged {
		d += c.faultDelay(h)
	}
	c.s.After(d, c, sim.Event{Kind: evReturn, Arg: int64(o), Ptr: r})
}

// netOrigin is the origin of a request that a cluster with a network
// latency forwards in direct mode: the answer travels back to the proxy
// first. A cluster without one is the origin itself, so that its answers
// take no detour.
type netOrigin Cluster

// Finish sends the answer back over the network: netOrigin implements
// mesh.Origin.
func (n *netOrigin) Finish(r *mesh.Request, o mesh.Outcome) {
	(*Cluster)(n).answerLater(int(r.Hop.Host), r, o)
}

// Finish receives the answer to a request forwarded in direct mode once it
// has reached the proxy, and hands r back to its origin: Cluster implements
// mesh.Origin.
func (c *Cluster) Finish(r *mesh.Request, o mesh.Outcome) {
	hop := &r.Hop
	c.active--
	c.hosts[hop.Host].active--
	if hop.Stream {
		c.released(c.pool(int(hop.Worker), int(hop.Host)), false, hop.Conn)
	}
	if ob := c.obs[hop.Picker]; ob != nil && hop.Epoch == c.epoch {
		now := c.s.Now()
		ob.Observe(int(hop.Local), now.Sub(hop.Sent), now)
	}
	if c.detector != nil {
		c.detector.Record(int(hop.Host), outcomeResult(o))
	}
	if o == mesh.OutcomeReset || o == mesh.OutcomeRefused {
		o = mesh.OutcomeRejected // Envoy answers 503 for a reset or a connection failure
	}
	if r.Measured {
		c.openMeasured--
		c.unansweredMeasured--
		c.stats.Outcomes[o]++
	}
	origin := hop.Origin
	*hop = mesh.Hop{}
	r.Origin = origin
	origin.Finish(r, o)
}

// start sends the call's next attempt.
func (c *Cluster) start(cl *call, retry bool) {
	now := c.s.Now()
	if c.active >= c.policy.MaxRequests {
		if cl.req.Measured {
			c.stats.Overflows++
		}
		c.finish(cl, mesh.OutcomeRejected) // local 503 overflow: never retried
		return
	}
	h, local, picker, ok := c.pick(cl, now)
	if !ok {
		c.finish(cl, mesh.OutcomeRejected) // local 503 "no healthy upstream", never retried
		return
	}
	if !c.canSend(cl.worker, h) {
		c.connStats.PendingOverflow++
		if cl.req.Measured {
			c.stats.Overflows++
		}
		c.finish(cl, mesh.OutcomeRejected) // local 503 pending overflow: never retried
		return
	}
	a := c.getAttempt()
	a.call, a.host, a.local, a.epoch, a.retry, a.started, a.counted = cl, h, local, c.epoch, retry, now, true
	a.picker = picker
	cl.attempts++
	cl.refs++
	a.hedged = cl.ninflight > 0
	if a.hedged && cl.req.Measured {
		c.stats.Hedges++
	}
	cl.inflight[cl.ninflight] = a
	cl.ninflight++
	c.active++
	c.hosts[h].active++
	if retry {
		c.retriesActive++
	}
	if cl.req.Measured {
		c.unansweredMeasured++
		c.stats.Attempts++
		c.stats.HostAttempts[h]++
		if retry {
			c.stats.Retries++
		}
	}
	if d := cl.pol.PerTryTimeout; d > 0 && c.conns == nil {
		a.perTry = c.s.After(d, c, sim.Event{Kind: evPerTryTimeout, Ptr: a})
	} // with connection pools it starts when the attempt has its connection (markStream)
	up := c.reqs.Get()
	up.Key = cl.req.Key
	up.Route = cl.req.Route       // gateways upstream route it
	up.Deadline = cl.req.Deadline // and services may pass it on
	up.Created = now
	up.Measured = cl.req.Measured
	up.SetTrace(cl.req.Trace)
	up.Origin = a
	c.deliver(cl.worker, h, up) // may answer before it returns
}

// pick chooses a host with the call's worker's picker, re-picking hosts
// the call already tried when the previous_hosts predicate is on (then the
// last pick stands, as in Envoy).
func (c *Cluster) pick(cl *call, now sim.Time) (h, local, picker int, ok bool) {
	info := lb.PickInfo{HashKey: cl.req.Key, Attempt: cl.attempts + 1, Now: now}
	tries := 1
	if cl.pol.Retries.PreviousHosts {
		tries += cl.pol.Retries.HostSelectionAttempts
	}
	for t := 0; t < tries; t++ {
		i, l, err := c.pickHost(cl.worker, info)
		if err != nil {
			return -1, -1, -1, false
		}
		h, local, picker = i, l, c.picked
		if !cl.triedHost(i) {
			break
		}
	}
	if cl.ntried < maxTried {
		cl.tried[cl.ntried] = int32(h)
		cl.ntried++
	}
	return h, local, picker, true
}

func (cl *call) triedHost(h int) bool {
	for _, t := range cl.tried[:cl.ntried] {
		if int(t) == h {
			return true
		}
	}
	return false
}

// failure classes of an attempt, as retry_on sees them.
const (
	fail500    = Retry5xx
	fail503    = Retry5xx | RetryGatewayError | RetryRetriableStatusCodes
	failPerTry = Retry5xx | RetryGatewayError // no answer before the per-try timeout: 504
	// A reset, and a connection failure, are retried under 5xx,
	// gateway-error and reset; a connection failure also under
	// connect-failure (Envoy's RetryStateImpl::wouldRetryFromReset).
	failReset   = Retry5xx | RetryGatewayError | RetryReset
	failConnect = failReset | RetryConnectFailure
)

// answer handles the upstream's answer to attempt a.
func (c *Cluster) answer(a *attempt, r *mesh.Request, o mesh.Outcome) {
	cl := a.call
	cl.refs--
	if r.Measured {
		c.unansweredMeasured--
	}
	c.uncount(a)
	if a.abandoned {
		c.putAttempt(a)
		c.maybeRelease(cl)
		return
	}
	now := c.s.Now()
	c.s.Cancel(a.perTry)
	if a.stream {
		a.stream = false
		c.released(c.pool(cl.worker, a.host), false, a.conn)
	}
	cl.drop(a)
	if ob := c.obs[a.picker]; ob != nil && a.epoch == c.epoch {
		ob.Observe(a.local, now.Sub(a.started), now)
	}
	if c.lat != nil {
		c.lat.Observe(now.Sub(a.started), now)
	}
	c.record(a.host, outcomeResult(o))
	hedged, connectFailed := a.hedged, a.connectFailed
	c.putAttempt(a)
	if o == mesh.OutcomeOK {
		if hedged && cl.req.Measured {
			c.stats.HedgeWins++
		}
		c.finish(cl, mesh.OutcomeOK)
		return
	}
	if cl.ninflight > 0 {
		return // another attempt is in flight: wait for it (Envoy discards errors after a hedge was sent)
	}
	switch o {
	case mesh.OutcomeShed, mesh.OutcomeDenied:
		c.finish(cl, o) // a 429, 401 or 403 is not a 5xx: not retried
	case mesh.OutcomeTimeout: // DEADLINE_EXCEEDED from a deadline-aware upstream: a 504
		c.retryOrFail(cl, failPerTry, mesh.OutcomeTimeout)
	case mesh.OutcomeReset, mesh.OutcomeRefused:
		class := failReset
		if connectFailed || o == mesh.OutcomeRefused {
			class = failConnect
		}
		c.retryOrFail(cl, class, mesh.OutcomeRejected) // Envoy answers 503
	case mesh.OutcomeRejected:
		c.retryOrFail(cl, fail503, mesh.OutcomeRejected)
	default:
		c.retryOrFail(cl, fail500, mesh.OutcomeError)
	}
}

// retryOrFail schedules a retry if the policy allows one for this failure
// class, and otherwise ends the call with outcome.
func (c *Cluster) retryOrFail(cl *call, class RetryOn, outcome mesh.Outcome) {
	rp := &cl.pol.Retries
	if rp.RetryOn&class == 0 || cl.attempts > rp.NumRetries {
		c.finish(cl, outcome)
		return
	}
	if c.s.Scheduled(cl.backoff) {
		return // a hedge is already waiting in backoff: it is the next attempt
	}
	if c.retriesActive >= c.retryLimit() || (c.ratio != nil && !c.ratio.TryWithdraw(c.s.Now())) {
		if cl.req.Measured {
			c.stats.RetryOverflows++
		}
		c.finish(cl, outcome)
		return
	}
	cl.backoff = c.s.After(c.backoff(cl, cl.attempts), c, sim.Event{Kind: evBackoff, Ptr: cl})
}

// retryLimit is the number of retries allowed in flight: max_retries, or
// the retry budget's max(min_retry_concurrency, percent x active).
func (c *Cluster) retryLimit() int {
	b := c.policy.Retries.Budget
	if b == nil {
		return c.policy.Retries.MaxRetries
	}
	return max(b.MinConcurrency, int(float64(b.Percent*float64(c.active))/100))
}

// backoff draws the delay before retry n (n >= 1) from
// U[0, min(base*2^(n-1), max)): Envoy's coded formula.
func (c *Cluster) backoff(cl *call, n int) time.Duration {
	rp := &cl.pol.Retries
	limit := rp.MaxInterval
	if n-1 < 32 {
		if d := rp.BaseInterval << (n - 1); d > 0 && d < limit {
			limit = d
		}
	}
	if limit <= 0 {
		return 0
	}
	return time.Duration(c.rnd.Uint64() % uint64(limit))
}

// Handle implements sim.Handler for the cluster's timers.
func (c *Cluster) Handle(ev sim.Event) {
	switch ev.Kind {
	case evRouteTimeout:
		cl := ev.Ptr.(*call)
		cl.deadline = sim.Timer{}
		for _, a := range cl.inflight[:cl.ninflight] {
			c.record(a.host, outlier.LocalOriginFailure) // Envoy: a 504 from the host
		}
		if cl.req.Measured {
			c.stats.RouteTimeouts++
		}
		c.finish(cl, mesh.OutcomeTimeout)
	case evPerTryTimeout:
		a := ev.Ptr.(*attempt)
		a.perTry = sim.Timer{}
		cl := a.call
		if a.call.req.Measured {
			c.stats.PerTryTimeouts++
		}
		c.record(a.host, outlier.LocalOriginFailure)
		if cl.pol.Hedge.OnPerTryTimeout {
			c.hedgeOnTimeout(cl)
			return
		}
		c.abandon(a)
		c.retryOrFail(cl, failPerTry, mesh.OutcomeTimeout)
	case evBackoff:
		cl := ev.Ptr.(*call)
		cl.backoff = sim.Timer{}
		c.start(cl, true)
	case evDeliver:
		r := ev.Ptr.(*mesh.Request)
		if r.Measured {
			c.transitMeasure--
		}
		c.arrive(int(ev.Arg), r)
	case evReturn:
		r := ev.Ptr.(*mesh.Request)
		if r.Measured {
			c.transitMeasure--
		}
		o := mesh.Outcome(ev.Arg)
		if a, ok := r.Origin.(*attempt); ok {
			c.answer(a, r, o)
			c.reqs.Put(r)
			return
		}
		c.Finish(r, o)
	case evHedge:
		cl := ev.Ptr.(*call)
		cl.hedge = sim.Timer{}
		if cl.attempts < cl.pol.Hedge.MaxAttempts {
			// Schedule the next hedge before starting this one: start may
			// end the call (and recycle it), and finish cancels the timer.
			if cl.attempts+1 < cl.pol.Hedge.MaxAttempts {
				cl.hedge = c.s.After(cl.hedgeDelay, c, sim.Event{Kind: evHedge, Ptr: cl})
			}
			c.start(cl, false)
		}
	case evConnected:
		c.connected(ev.Ptr.(*connPool), uint32(ev.Arg))
	case evConnectFailed:
		c.connectFailed(ev.Ptr.(*connPool))
	default:
		panic(fmt.Sprintf("sidecar: cluster %s got event kind %d", c.name, ev.Kind))
	}
}

// hedgeOnTimeout is Envoy's hedge_on_per_try_timeout: the timed-out attempt
// stays in flight and, if retries remain, a new one starts after the retry
// backoff; with none left the call waits for the attempts in flight.
func (c *Cluster) hedgeOnTimeout(cl *call) {
	rp := &cl.pol.Retries
	if cl.attempts > rp.NumRetries || rp.RetryOn&failPerTry == 0 || c.s.Scheduled(cl.backoff) {
		return
	}
	if c.retriesActive >= c.retryLimit() || (c.ratio != nil && !c.ratio.TryWithdraw(c.s.Now())) {
		if cl.req.Measured {
			c.stats.RetryOverflows++
		}
		return
	}
	cl.backoff = c.s.After(c.backoff(cl, cl.attempts), c, sim.Event{Kind: evBackoff, Ptr: cl})
}

// drop removes a from the attempts the call waits for.
func (cl *call) drop(a *attempt) {
	for i := 0; i < cl.ninflight; i++ {
		if cl.inflight[i] == a {
			cl.ninflight--
			cl.inflight[i] = cl.inflight[cl.ninflight]
			cl.inflight[cl.ninflight] = nil
			return
		}
	}
}

// abandon stops waiting for a: Envoy resets the upstream stream, so the
// proxy stops counting it, but the upstream keeps working and its answer
// is discarded when it comes. An attempt still waiting for a connection
// never left the proxy: it leaves the queue and is released at once
// (dequeue).
func (c *Cluster) abandon(a *attempt) {
	c.s.Cancel(a.perTry)
	if a.stream {
		a.stream = false
		c.released(c.pool(a.call.worker, a.host), true, a.conn)
	}
	a.abandoned = true
	c.uncount(a)
	a.call.drop(a)
	if a.queued {
		c.dequeue(a) // it never left the proxy: nothing more will come of it
	}
}

func (c *Cluster) uncount(a *attempt) {
	if !a.counted {
		return
	}
	a.counted = false
	c.active--
	c.hosts[a.host].active--
	if a.retry {
		c.retriesActive--
	}
}

// finish ends the call once, abandoning any attempt in flight.
func (c *Cluster) finish(cl *call, o mesh.Outcome) {
	if cl.done {
		panic(fmt.Sprintf("sidecar: cluster %s: call for request %d finished twice", c.name, cl.req.ID))
	}
	cl.done = true
	c.s.Cancel(cl.deadline)
	c.s.Cancel(cl.backoff)
	c.s.Cancel(cl.hedge)
	for cl.ninflight > 0 {
		c.abandon(cl.inflight[cl.ninflight-1])
	}
	if cl.req.Measured {
		c.stats.Outcomes[o]++
		c.openMeasured--
	}
	r := cl.req
	cl.req = nil
	c.maybeRelease(cl)
	r.Origin.Finish(r, o)
}

// maybeRelease returns a finished call to the pool once no attempt refers
// to it.
func (c *Cluster) maybeRelease(cl *call) {
	if cl.done && cl.refs == 0 {
		*cl = call{}
		c.calls = append(c.calls, cl)
	}
}

func (c *Cluster) getCall() *call {
	if n := len(c.calls); n > 0 {
		cl := c.calls[n-1]
		c.calls = c.calls[:n-1]
		cl.c = c
		return cl
	}
	return &call{c: c}
}

func (c *Cluster) getAttempt() *attempt {
	if n := len(c.attempts); n > 0 {
		a := c.attempts[n-1]
		c.attempts = c.attempts[:n-1]
		return a
	}
	return &attempt{}
}

func (c *Cluster) putAttempt(a *attempt) {
	*a = attempt{}
	c.attempts = append(c.attempts, a)
}

// Finish receives the upstream's answer: attempt implements mesh.Origin.
func (a *attempt) Finish(r *mesh.Request, o mesh.Outcome) {
	c := a.call.c
	if c.delayed || c.lagged {
		c.answerLater(a.host, r, o)
		return
	}
	c.answer(a, r, o)
	c.reqs.Put(r)
}

// InTransit returns the measured requests and answers on the network:
// sent but not at the host yet, or answered but not back yet.
func (c *Cluster) InTransit() int64 { return c.transitMeasure }

// Open returns the measured requests the proxy has received and not yet
// ended: in flight, for the origins' books.
func (c *Cluster) Open() int64 { return c.openMeasured }

// Unanswered returns the measured attempts the proxy has sent and not yet
// seen answered, abandoned ones included: what the upstreams must hold.
func (c *Cluster) Unanswered() int64 { return c.unansweredMeasured }
