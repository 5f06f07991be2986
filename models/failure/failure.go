// Package failure injects failures on a timeline: at a virtual instant an
// effect starts on its targets and, after an optional duration, ends. The
// timeline depends only on the scenario, never on the policies under
// comparison, so every variant sees the same failures.
//
// Kinds modelled so far: slow (service time x factor), errors (requests
// fail with a probability, answering 500 or 503), and outages of event-bus
// components: a broker down, a consumer crashed (each an Outage, taken down
// at the start and brought back at the end). The other kinds of the
// failure model (instance crash, latency, partition, loss) come with the
// control plane. Latency and loss act on instances (Targets: every caller
// sees them) or, as Outages, on network links that the caller sets up
// (between two services, or between zones).
package failure

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("failure: invalid configuration")

// Kind is what a failure does to its targets.
type Kind uint8

// The kinds of failure.
const (
	Slow          Kind = iota + 1 // service time x Factor
	Errors                        // requests fail with Probability, answering Outcome
	BrokerDown                    // Outages (brokers) go down, and come back at the end
	ConsumerCrash                 // Outages (consumers) crash, and restart at the end
	Crash                         // Outages (instances) crash, and restart at the end
	Overload                      // Outages (workloads) send Factor times their rate until the end
	Partition                     // Outages (the network between two sets of zones) cut, healed at the end
	Latency                       // answers of Targets delayed by Delay, or Outages (network links) delayed
	Loss                          // requests to Targets lost with Probability, or Outages (network links) lossy
)

// Outage is a component that a failure takes down and brings back: a
// broker, a consumer. Down and Up are called at the failure's start and
// end; a component already down (or up) ignores the call, so that
// overlapping failures of one target compose.
type Outage interface {
	Down()
	Up()
}

func (k Kind) String() string {
	switch k {
	case Slow:
		return "slow"
	case Errors:
		return "errors"
	case BrokerDown:
		return "broker_down"
	case ConsumerCrash:
		return "consumer_crash"
	case Crash:
		return "crash"
	case Overload:
		return "overload"
	case Partition:
		return "partition"
	case Latency:
		return "latency"
	case Loss:
		return "loss"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Spec is one failure on the timeline.
type Spec struct {
	At      sim.Time
	For     time.Duration // 0: until the end of the run
	Kind    Kind
	Label   string // the target as the scenario names it, e.g. "checkout[2]"
	Targets []*mesh.Instance
	Outages []Outage     // BrokerDown, ConsumerCrash, Crash, Overload
	Factor  float64      // Slow
	Prob    float64      // Errors
	Outcome mesh.Outcome // Errors: mesh.OutcomeError (500) or mesh.OutcomeRejected (503)
	Delay   dist.Dist    // Latency
}

// Interval is a failure as it happened, for the report's timelines.
type Interval struct {
	Kind     Kind
	Target   string
	From, To sim.Time // To is 0 while the failure is still on
}

// outage reports whether the failure acts on Outages rather than on
// instances: the outage kinds always, Latency and Loss when they act on
// network links (Outages) rather than on instances' answers (Targets).
func (sp *Spec) outage() bool {
	return sp.Kind >= BrokerDown && sp.Kind <= Partition || (sp.Kind == Latency || sp.Kind == Loss) && len(sp.Targets) == 0
}

// Timeline applies failures at their times. It implements sim.Handler.
type Timeline struct {
	s     *sim.Scheduler
	specs []Spec
	saved [][]saved // per spec, the targets' state before it started
	log   []Interval
}

type saved struct {
	slow    float64
	prob    float64
	out     mesh.Outcome
	loss    float64
	latency dist.Dist
}

// New validates specs and returns their timeline on s. Call Start to
// schedule them.
func New(s *sim.Scheduler, specs []Spec) (*Timeline, error) {
	for i, sp := range specs {
		switch {
		case sp.At < 0 || sp.For < 0:
			return nil, fmt.Errorf("%w: failure %d: negative time", ErrConfig, i)
		case sp.outage() && len(sp.Outages) == 0, !sp.outage() && len(sp.Targets) == 0:
			return nil, fmt.Errorf("%w: failure %d: no target", ErrConfig, i)
		case sp.Kind == Slow && !(sp.Factor > 0):
			return nil, fmt.Errorf("%w: failure %d: slow factor must be > 0, got %g", ErrConfig, i, sp.Factor)
		case sp.Kind == Errors && !(sp.Prob >= 0 && sp.Prob <= 1):
			return nil, fmt.Errorf("%w: failure %d: probability must be in [0, 1], got %g", ErrConfig, i, sp.Prob)
		case sp.Kind == Latency && sp.Delay == nil:
			return nil, fmt.Errorf("%w: failure %d: latency needs a delay", ErrConfig, i)
		case sp.Kind == Loss && !(sp.Prob >= 0 && sp.Prob <= 1):
			return nil, fmt.Errorf("%w: failure %d: probability must be in [0, 1], got %g", ErrConfig, i, sp.Prob)
		case sp.Kind < Slow || sp.Kind > Loss:
			return nil, fmt.Errorf("%w: failure %d: unknown kind %v", ErrConfig, i, sp.Kind)
		}
	}
	return &Timeline{s: s, specs: specs, saved: make([][]saved, len(specs))}, nil
}

// Event kinds: Arg is the spec's index.
const (
	evStart int32 = iota + 1
	evEnd
)

// Start schedules every failure's start and end, in spec order.
func (t *Timeline) Start() {
	for i, sp := range t.specs {
		t.s.Schedule(sp.At, t, sim.Event{Kind: evStart, Arg: int64(i)})
		if sp.For > 0 {
			t.s.Schedule(sp.At.Add(sp.For), t, sim.Event{Kind: evEnd, Arg: int64(i)})
		}
	}
}

// Handle starts or ends one failure. Ending restores each target's state
// from before the failure started.
func (t *Timeline) Handle(ev sim.Event) {
	i := int(ev.Arg)
	sp := &t.specs[i]
	switch ev.Kind {
	case evStart:
		for _, o := range sp.Outages {
			o.Down()
		}
		t.saved[i] = t.saved[i][:0]
		for _, in := range sp.Targets {
			p, o := in.Errors()
			t.saved[i] = append(t.saved[i], saved{slow: in.Slow(), prob: p, out: o, loss: in.Loss(), latency: in.Latency()})
			switch sp.Kind {
			case Slow:
				in.SetSlow(sp.Factor)
			case Errors:
				in.SetErrors(sp.Prob, sp.Outcome)
			case Latency:
				in.SetLatency(sp.Delay)
			case Loss:
				in.SetLoss(sp.Prob)
			}
		}
		t.log = append(t.log, Interval{Kind: sp.Kind, Target: sp.Label, From: t.s.Now()})
	case evEnd:
		for _, o := range sp.Outages {
			o.Up()
		}
		for k, in := range sp.Targets {
			st := t.saved[i][k]
			switch sp.Kind {
			case Slow:
				in.SetSlow(st.slow)
			case Errors:
				in.SetErrors(st.prob, st.out)
			case Latency:
				in.SetLatency(st.latency)
			case Loss:
				in.SetLoss(st.loss)
			}
		}
		for k := len(t.log) - 1; k >= 0; k-- {
			if l := &t.log[k]; l.Target == sp.Label && l.Kind == sp.Kind && l.To == 0 {
				l.To = t.s.Now()
				break
			}
		}
	default:
		panic(fmt.Sprintf("failure: timeline got event kind %d", ev.Kind))
	}
}

// Intervals returns the failures that started so far, in start order.
func (t *Timeline) Intervals() []Interval { return append([]Interval(nil), t.log...) }

// Process is a random failure process of one component: it stays up for
// a time drawn from Up (time to failure), goes down for a time drawn from
// Down (time to repair), and so on, each draw from its own stream, so that
// the failures depend only on the scenario's seed and the component's
// name, never on the policies compared (common random numbers). It
// implements sim.Handler.
type Process struct {
	s        *sim.Scheduler
	rnd      *sim.Rand
	up, down dist.Dist
	target   Outage
	kind     Kind
	label    string
	log      []Interval
	isDown   bool
}

// NewProcess returns a failure process of kind acting on target, drawing
// from rnd. Call Start to schedule its first failure.
func NewProcess(s *sim.Scheduler, rnd *sim.Rand, kind Kind, label string, target Outage, up, down dist.Dist) (*Process, error) {
	switch {
	case up == nil || down == nil || up.Mean() <= 0:
		return nil, fmt.Errorf("%w: random failure of %s: needs a time to failure with a positive mean and a time to repair", ErrConfig, label)
	case target == nil:
		return nil, fmt.Errorf("%w: random failure of %s: no target", ErrConfig, label)
	}
	return &Process{s: s, rnd: rnd, up: up, down: down, target: target, kind: kind, label: label}, nil
}

// Start schedules the first failure, one time to failure from now.
func (p *Process) Start() {
	p.s.After(p.up.Sample(p.rnd), p, sim.Event{})
}

// Handle takes the target down or brings it back, and schedules the next
// change.
func (p *Process) Handle(sim.Event) {
	now := p.s.Now()
	if p.isDown {
		p.isDown = false
		p.target.Up()
		p.log[len(p.log)-1].To = now
		p.s.After(p.up.Sample(p.rnd), p, sim.Event{})
		return
	}
	p.isDown = true
	p.target.Down()
	if len(p.log) < maxProcessLog {
		p.log = append(p.log, Interval{Kind: p.kind, Target: p.label, From: now})
	} else {
		p.log[len(p.log)-1] = Interval{Kind: p.kind, Target: p.label, From: now} // keep the last open
	}
	p.s.After(p.down.Sample(p.rnd), p, sim.Event{})
}

// maxProcessLog bounds the failures a process remembers for the report.
const maxProcessLog = 10_000

// Intervals returns the failures so far, in start order.
func (p *Process) Intervals() []Interval { return append([]Interval(nil), p.log...) }
