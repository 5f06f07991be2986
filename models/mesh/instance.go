package mesh

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// Unbounded is the queue bound that means "no limit".
const Unbounded = -1

// Event kinds handled by an Instance.
const (
	evFinish int32 = iota + 1 // a request's service ends; Ptr is the *Request
)

// Instance is one replica of a service: Concurrency requests are served at
// once, further ones wait in a FIFO queue of at most QueueBound requests, and
// a request that finds the queue full is rejected. Service times are drawn
// from the instance's own stream, named "<service>[<index>]"/"service-time".
type Instance struct {
	name        string
	svc         *Service
	index       int
	s           *sim.Scheduler
	rnd         *sim.Rand
	serviceTime dist.Dist
	concurrency int
	queueBound  int
	queue       ring
	busy        int

	busyTW    stats.TimeWeighted
	queueTW   stats.TimeWeighted
	completed int64
	// measuredHeld counts measured requests queued or in service here. It
	// is kept apart from the origins' books so that conservation can be
	// checked rather than assumed.
	measuredHeld int64
}

// Name returns the stable instance name, for example "checkout[2]".
func (in *Instance) Name() string { return in.name }

// ActiveRequests returns the requests queued or in service at the instance.
// It is the caller's view only while there is one caller: the sidecar keeps
// its own per-host counts.
func (in *Instance) ActiveRequests() int { return in.busy + in.queue.len() }

// Weight returns the instance's load-balancing weight: 1, equal for all.
func (in *Instance) Weight() uint32 { return 1 }

// Arrive hands r to the instance: it starts service if a slot is free,
// waits if the queue has room, and is rejected otherwise. O(1) amortised.
func (in *Instance) Arrive(r *Request) {
	now := in.s.Now()
	r.Arrived = now
	if in.busy >= in.concurrency && in.queueBound != Unbounded && in.queue.len() >= in.queueBound {
		r.Origin.Finish(r, OutcomeRejected)
		return
	}
	if r.Measured {
		in.measuredHeld++
	}
	if in.busy < in.concurrency {
		in.start(r, now)
		return
	}
	in.queue.push(r)
	in.queueTW.Add(now, 1)
}

func (in *Instance) start(r *Request, now sim.Time) {
	in.busy++
	in.busyTW.Add(now, 1)
	in.s.After(in.serviceTime.Sample(in.rnd), in, sim.Event{Kind: evFinish, Ptr: r})
}

// Handle implements sim.Handler.
func (in *Instance) Handle(ev sim.Event) {
	switch ev.Kind {
	case evFinish:
		in.finish(ev.Ptr.(*Request))
	default:
		panic(fmt.Sprintf("mesh: instance %s got event kind %d", in.name, ev.Kind))
	}
}

func (in *Instance) finish(r *Request) {
	now := in.s.Now()
	in.busy--
	in.busyTW.Add(now, -1)
	if r.Measured {
		in.measuredHeld--
		in.completed++
		in.svc.latency.Record(int64(now - r.Arrived))
	}
	if next, ok := in.queue.pop(); ok {
		in.queueTW.Add(now, -1)
		in.start(next, now)
	}
	r.Origin.Finish(r, OutcomeOK)
}

// resetStats restarts the time-weighted averages at now (warm-up deletion).
func (in *Instance) resetStats(now sim.Time) {
	in.busyTW.Reset(now)
	in.queueTW.Reset(now)
}
