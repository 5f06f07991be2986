package health

import (
	"fmt"
	"strconv"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// State is a host's health as the checker sees it.
type State uint8

// The states of a host.
const (
	// StateUnknown is a host not yet checked. Envoy marks it
	// FAILED_ACTIVE_HC, so it is not healthy: route to it only in panic.
	StateUnknown State = iota
	// StateHealthy is a host whose checks pass.
	StateHealthy
	// StateUnhealthy is a host whose checks failed (FAILED_ACTIVE_HC).
	StateUnhealthy
	// StateRemoved is a host removed with RemoveHost; it is never probed
	// again.
	StateRemoved
	numStates
)

var stateNames = [numStates]string{"unknown", "healthy", "unhealthy", "removed"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Result is how a probe came back.
type Result uint8

// The results the integrator reports with Answer. A timeout is not a
// Result: the checker detects it itself when no answer comes within
// Config.Timeout.
const (
	// Success is a healthy answer: HTTP status in expected_statuses
	// (default 200), gRPC SERVING, the expected TCP payload.
	Success Result = iota
	// ConnectFailure is a connection refused or reset before an answer
	// (Envoy's NETWORK failure). It counts toward unhealthy_threshold.
	ConnectFailure
	// RetriableFailure is an HTTP status in retriable_statuses. It counts
	// toward unhealthy_threshold.
	RetriableFailure
	// Failure is any other unhealthy answer: an HTTP status outside
	// expected_statuses (a 503 from an overloaded or draining instance), a
	// gRPC NOT_SERVING, a TCP payload mismatch (Envoy's ACTIVE failure). It
	// marks a healthy host unhealthy at once, whatever the threshold.
	Failure
	// Timeout is what the checker records when a probe goes unanswered
	// for Config.Timeout (Envoy's NETWORK_TIMEOUT). It counts toward
	// unhealthy_threshold. Answer rejects it: only the checker times out.
	Timeout
	numResults
)

var resultNames = [numResults]string{"success", "connect_failure", "retriable_failure", "failure", "timeout"}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// ProbeID identifies one probe so that a late answer, one that comes after
// the probe timed out, is ignored: Envoy reset that stream. Ids are unique
// within a Checker and never 0.
type ProbeID uint64

// Prober sends probes. The integrator implements it over its simulated
// network and answers each probe it can by calling Checker.Answer with
// the same host and id, later (never from inside Probe is the usual case,
// but a synchronous answer works too). A probe that is lost is simply never
// answered. Probe must not block.
type Prober interface {
	Probe(host int, id ProbeID)
}

// Watcher learns of every change of a host's State, in the order in which
// they happen. HealthChanged runs synchronously, from inside Answer or from
// the checker's timeout and interval events; it must not call back into
// the checker except to read it.
type Watcher interface {
	HealthChanged(tr Transition)
}

// Transition is one change of a host's State.
type Transition struct {
	At       sim.Time
	Host     int
	From, To State
	// Cause is the result of the check that made the change (Success for
	// a recovery); for StateRemoved it is Success and meaningless.
	Cause Result
}

// String formats tr for logs and goldens, for example
// "12s host 3 healthy->unhealthy (timeout)".
func (tr Transition) String() string {
	return fmt.Sprintf("%v host %d %v->%v (%v)", tr.At, tr.Host, tr.From, tr.To, tr.Cause)
}

// MaxTransitions bounds the transition log a Checker keeps: the first
// MaxTransitions transitions are kept and later ones only counted
// (Stats.TransitionsDropped), so memory does not grow with the run.
const MaxTransitions = 10000

// Stats counts what a checker did, with Envoy's stat names
// (health_check.*).
type Stats struct {
	Attempts       int64 // probes sent (attempt)
	Successes      int64 // successful checks (success)
	Failures       int64 // failed checks of any kind, timeouts included (failure)
	NetworkFailure int64 // connection failures and timeouts (network_failure)
	Timeouts       int64 // probes that timed out
	LateAnswers    int64 // answers ignored because their probe had timed out or the host was removed
	// Healthy is the number of hosts healthy now (the healthy gauge
	// counts hosts not failed, which in Envoy excludes unknown ones too).
	Healthy int
	// TransitionsDropped counts transitions left out of the log because it
	// was full.
	TransitionsDropped int64
}

// Event kinds the checker schedules on itself; Arg is the host.
const (
	evInterval int32 = iota + 1
	evTimeout
)

// hostState is one host's session (Envoy's ActiveHealthCheckSession).
type hostState struct {
	state        State
	numHealthy   int // consecutive successes while failed
	numUnhealthy int // consecutive counted failures while healthy
	probe        ProbeID
	interval     sim.Timer
	timeout      sim.Timer
}

// Checker is Envoy's active health checker for one cluster, over hosts
// numbered 0..n-1 in stable order. It implements sim.Handler for its
// timers. A Checker is not safe for concurrent use.
type Checker struct {
	s       *sim.Scheduler
	rnd     *sim.Rand
	cfg     Config // with defaults filled
	prober  Prober
	watcher Watcher
	hosts   []hostState
	nextID  ProbeID
	traffic bool
	started bool
	stats   Stats
	log     []Transition
	logMax  int
}

// New returns a checker of hosts hosts under cfg, all StateUnknown. Zero
// fields of cfg take the defaults (Config.WithDefaults); an invalid cfg
// returns an error wrapping ErrConfig. Jitter draws from rnd, the checker's
// own stream. watcher may be nil. Call Start to send the first probes.
func New(s *sim.Scheduler, rnd *sim.Rand, hosts int, cfg Config, prober Prober, watcher Watcher) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil || rnd == nil || prober == nil {
		return nil, fmt.Errorf("%w: nil scheduler, random stream or prober", ErrConfig)
	}
	if hosts < 0 {
		return nil, fmt.Errorf("%w: hosts must be >= 0, got %d", ErrConfig, hosts)
	}
	cfg = cfg.WithDefaults()
	return &Checker{
		s:       s,
		rnd:     rnd,
		cfg:     cfg,
		prober:  prober,
		watcher: watcher,
		hosts:   make([]hostState, hosts),
		traffic: !cfg.AwaitTraffic,
		logMax:  MaxTransitions,
	}, nil
}

// Config returns the configuration the checker runs, defaults filled.
func (c *Checker) Config() Config { return c.cfg }

// Start begins every host's session: its first probe goes out now, or
// after its initial jitter, in host order. Starting twice does nothing.
func (c *Checker) Start() {
	if c.started {
		return
	}
	c.started = true
	for i := range c.hosts {
		c.startHost(i)
	}
}

func (c *Checker) startHost(i int) {
	h := &c.hosts[i]
	at := c.s.Now()
	if c.cfg.InitialJitter > 0 {
		at = at.Add(c.jitter(0, c.cfg.InitialJitter))
	}
	h.interval = c.s.Schedule(at, c, sim.Event{Kind: evInterval, Arg: int64(i)})
}

// AddHost adds a host, StateUnknown, and returns its index (the next
// integer). If the checker is started its session starts now, with the
// initial jitter, as Envoy's addHosts does.
func (c *Checker) AddHost() int {
	c.hosts = append(c.hosts, hostState{})
	i := len(c.hosts) - 1
	if c.started {
		c.startHost(i)
	}
	return i
}

// RemoveHost ends host's session: its timers are cancelled, a pending
// answer will be ignored, and its state becomes StateRemoved (reported to
// the Watcher). Indices of other hosts do not change. Removing a removed
// host does nothing.
func (c *Checker) RemoveHost(host int) {
	h := &c.hosts[host]
	if h.state == StateRemoved {
		return
	}
	c.s.Cancel(h.interval)
	c.s.Cancel(h.timeout)
	h.interval, h.timeout, h.probe = sim.Timer{}, sim.Timer{}, 0
	c.become(host, StateRemoved, Success)
}

// Traffic tells the checker that the cluster has carried traffic, ending
// the no-traffic intervals of Config.AwaitTraffic from the next wait on.
func (c *Checker) Traffic() { c.traffic = true }

// State returns host's state. It is O(1).
func (c *Checker) State(host int) State { return c.hosts[host].state }

// Healthy reports whether host is healthy. It is O(1).
func (c *Checker) Healthy(host int) bool { return c.hosts[host].state == StateHealthy }

// Hosts returns the number of hosts, removed ones included.
func (c *Checker) Hosts() int { return len(c.hosts) }

// Stats returns the counters.
func (c *Checker) Stats() Stats { return c.stats }

// Transitions returns the log of state changes in the order in which they
// happened, at most MaxTransitions of them. The slice is the checker's;
// do not modify it.
func (c *Checker) Transitions() []Transition { return c.log }

// Handle runs the checker's timers. It implements sim.Handler.
func (c *Checker) Handle(ev sim.Event) {
	i := int(ev.Arg)
	h := &c.hosts[i]
	switch ev.Kind {
	case evInterval:
		h.interval = sim.Timer{}
		c.nextID++
		h.probe = c.nextID
		h.timeout = c.s.After(c.cfg.Timeout, c, sim.Event{Kind: evTimeout, Arg: int64(i)})
		c.stats.Attempts++
		c.prober.Probe(i, h.probe)
	case evTimeout:
		h.timeout, h.probe = sim.Timer{}, 0
		c.stats.Timeouts++
		c.failure(i, Timeout)
	default:
		panic(fmt.Sprintf("health: unknown event kind %d for host %d at %v", ev.Kind, i, c.s.Now()))
	}
}

// Answer delivers the answer to probe id of host. An answer to a probe
// that is not outstanding (it timed out, or the host was removed) is
// counted in Stats.LateAnswers and otherwise ignored. Answer may call the
// Watcher. It panics on Timeout or an unknown result.
func (c *Checker) Answer(host int, id ProbeID, r Result) {
	if r >= Timeout {
		panic(fmt.Sprintf("health: Answer(%d, %d, %v): not an answer", host, id, r))
	}
	h := &c.hosts[host]
	if id == 0 || h.probe != id {
		c.stats.LateAnswers++
		return
	}
	c.s.Cancel(h.timeout)
	h.timeout, h.probe = sim.Timer{}, 0
	if r == Success {
		c.success(host)
	} else {
		c.failure(host, r)
	}
}

// success is ActiveHealthCheckSession::handleSuccess.
func (c *Checker) success(i int) {
	h := &c.hosts[i]
	c.stats.Successes++
	h.numUnhealthy = 0
	pending := false
	if h.state != StateHealthy {
		h.numHealthy++
		if h.state == StateUnknown || h.numHealthy >= c.cfg.HealthyThreshold {
			c.become(i, StateHealthy, Success)
		} else {
			pending = true
		}
	}
	c.next(i, c.waitAfter(true, pending))
}

// failure is ActiveHealthCheckSession::setUnhealthy and handleFailure.
func (c *Checker) failure(i int, r Result) {
	h := &c.hosts[i]
	c.stats.Failures++
	if r == ConnectFailure || r == Timeout {
		c.stats.NetworkFailure++
	}
	h.numHealthy = 0
	pending := false
	switch h.state {
	case StateHealthy:
		h.numUnhealthy++
		if r == Failure || h.numUnhealthy >= c.cfg.UnhealthyThreshold {
			c.become(i, StateUnhealthy, r)
		} else {
			pending = true
		}
	case StateUnknown:
		// Envoy: the host already carries FAILED_ACTIVE_HC; its first
		// check confirms it.
		c.become(i, StateUnhealthy, r)
	}
	c.next(i, c.waitAfter(false, pending))
}

func (c *Checker) next(i int, d time.Duration) {
	c.hosts[i].interval = c.s.After(d, c, sim.Event{Kind: evInterval, Arg: int64(i)})
}

// waitAfter is HealthCheckerImplBase::interval: the wait before the next
// probe after a check that passed (ok) or failed, with a state change
// pending or not.
func (c *Checker) waitAfter(ok, pending bool) time.Duration {
	var base time.Duration
	switch {
	case !c.traffic && ok && !pending:
		base = c.cfg.NoTrafficHealthyInterval
	case !c.traffic:
		base = c.cfg.NoTrafficInterval
	case ok && pending:
		base = c.cfg.HealthyEdgeInterval
	case ok:
		base = c.cfg.Interval
	case pending:
		base = c.cfg.UnhealthyEdgeInterval
	default:
		base = c.cfg.UnhealthyInterval
	}
	return c.jitter(base, c.cfg.IntervalJitter)
}

// jitter is HealthCheckerImplBase::intervalWithJitter, in whole
// milliseconds as Envoy computes it.
func (c *Checker) jitter(base, jitter time.Duration) time.Duration {
	ms := uint64(base / time.Millisecond)
	if mod := uint64(c.cfg.IntervalJitterPercent) * ms / 100; mod > 0 {
		ms += c.rnd.Uint64() % mod
	}
	if j := uint64(jitter / time.Millisecond); j > 0 {
		ms += c.rnd.Uint64() % j
	}
	return time.Duration(max(ms, 1)) * time.Millisecond
}

func (c *Checker) become(i int, to State, cause Result) {
	h := &c.hosts[i]
	from := h.state
	h.state = to
	if from == StateHealthy {
		c.stats.Healthy--
	}
	if to == StateHealthy {
		c.stats.Healthy++
	}
	tr := Transition{At: c.s.Now(), Host: i, From: from, To: to, Cause: cause}
	if len(c.log) < c.logMax {
		c.log = append(c.log, tr)
	} else {
		c.stats.TransitionsDropped++
	}
	if c.watcher != nil {
		c.watcher.HealthChanged(tr)
	}
}
