package mesh

import (
	"fmt"
	"math"
	"time"

	"github.com/meshsim/meshsim/models/concurrency"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Unbounded is the queue bound that means "no limit".
const Unbounded = -1

// Event kinds handled by an Instance.
const (
	evFinish     int32 = iota + 1 // a request's service ends; Ptr is the *Request
	evAuthDone                    // a local auth check ends; Ptr is the *frame, Arg the epoch
	evLateAnswer                  // an answer delayed by a latency failure leaves; Ptr is the *Request, Arg the outcome
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

	// Behaviour a failure can change: service times are multiplied by
	// slowFactor, and a finished request fails with errorProb, answering
	// errorOutcome (500 = OutcomeError, 503 = OutcomeRejected). errRnd is
	// the instance's own "errors" stream, so error draws never shift its
	// service times.
	slowFactor   float64
	errorProb    float64
	errorOutcome Outcome
	errRnd       *sim.Rand

	// Envoy's local rate limit (a token bucket per pod): tokens are added
	// tokensPerFill at a time every fillInterval, up to maxTokens; a request
	// that finds none is answered 429 (OutcomeShed) at once.
	limited       bool
	maxTokens     int64
	tokensPerFill int64
	fillInterval  time.Duration
	tokens        int64
	lastFill      sim.Time
	shed          int64 // measured requests answered 429

	// adaptive is Envoy's adaptive concurrency filter in front of the
	// instance, or nil.
	adaptive *concurrency.Gradient

	// The handler's downstream calls (calls.go).
	steps    []Step
	callers  []Caller
	pool     *Pool
	frames   []*frame
	routeRnd *sim.Rand // weighted splits of routing steps: "<name>"/"route"
	authRnd  *sim.Rand // auth cost and denials: "<name>"/"auth"
	// propagateDeadline makes the handler deadline-aware: it passes each
	// request's deadline on to its calls and does not start work on a
	// request whose deadline has passed (expired is a reusable buffer).
	propagateDeadline bool
	expired           []*Request
	oneCall           [1]int

	// Busy and waiting time are summed per request rather than sampled at
	// every change. busyArea is the service time, within the window, of
	// the requests that finished, minus the sum over the requests still in
	// service of max(start, window start); the busy area at t is then
	// busyArea + busy*t. So a start subtracts its time and an end adds its
	// time (the end of a request started before the window start adds
	// end - window start to the first part and takes the window start back
	// from the second). waitArea does the same for waiting. This costs one
	// integer addition per change instead of a time-weighted update.
	windowStart sim.Time
	busyArea    area
	waitArea    area
	// upArea is the time the process was up within the window, kept the
	// same way (a restart subtracts its time, a crash adds it), for
	// tracked instances only: an untracked instance is always up.
	upArea area
	// busyNs is the busy slot-time since the start of the run, never
	// reset: busyNs + busy*now at now. The autoscaler reads it.
	busyNs int64
	// extra is the version's added latency (nil: none), drawn from the
	// instance's own "extra-latency" stream; it holds the slot as the
	// service time does.
	extra    dist.Dist
	extraRnd *sim.Rand
	// idle, when set, is told when the instance holds no request any
	// more (a draining pod).
	idle      IdleWatcher
	completed int64
	// measuredHeld counts measured requests queued or in service here. It
	// is kept apart from the origins' books so that conservation can be
	// checked rather than assumed.
	measuredHeld int64

	// Process state (lifecycle.go): a crash bumps epoch, so that
	// completions scheduled before it are ignored; a tracked instance
	// keeps the requests it has started in serving (Request.slot is the
	// index), so that a crash can end them, and tells crashWatchers.
	state         State
	epoch         uint32
	tracked       bool
	serving       []*Request
	dying         []*Request
	lost          int64
	crashWatchers []CrashWatcher

	// Network faults a failure sets (lifecycle.go): a share of arriving
	// requests lost (never answered; limbo counts the measured ones), and
	// a delay added to every answer (lateHeld counts the measured answers
	// on their way), drawn from the "faults" stream.
	lossProb     float64
	extraLatency dist.Dist
	// gated is set when any gate of admit is on, so that a plain arrival
	// tests one flag.
	gated    bool
	faultRnd *sim.Rand
	limbo    int64
	lateHeld int64
}

// Name returns the stable instance name, for example "checkout[2]".
func (in *Instance) Name() string { return in.name }

// Index returns the instance's index in its service.
func (in *Instance) Index() int { return in.index }

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
	if in.gated && !in.admit(r, now) {
		return
	}
	if in.busy >= in.concurrency && in.queueBound != Unbounded && in.queue.len() >= in.queueBound {
		if in.adaptive != nil {
			in.adaptive.Cancel() // no latency sample: a 0s answer would be taken as the minRTT
		}
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
	in.waitArea.add(-int64(now)) // arrivals are never before the window start
}

func (in *Instance) start(r *Request, now sim.Time) {
	in.busy++
	r.Started = now
	in.busyArea.add(-int64(now))
	in.busyNs -= int64(now)
	d := in.serviceTime.Sample(in.rnd)
	if in.extra != nil {
		d += in.extra.Sample(in.extraRnd)
	}
	if in.slowFactor != 1 {
		d = time.Duration(float64(float64(d) * in.slowFactor))
	}
	if in.tracked {
		in.serve(r)
	}
	in.s.After(d, in, sim.Event{Kind: evFinish, Arg: int64(in.epoch), Ptr: r})
}

// Handle implements sim.Handler.
// At evFinish the instance's own work on the request ends: it answers, or
// first runs the handler's downstream calls.
func (in *Instance) Handle(ev sim.Event) {
	switch ev.Kind {
	case evFinish:
		if uint32(ev.Arg) != in.epoch {
			return // scheduled by a process that has crashed since
		}
	case evAuthDone:
		if uint32(ev.Arg) != in.epoch {
			return // its request was lost in a crash, and the frame released
		}
		f := ev.Ptr.(*frame)
		f.stepOK = 1
		in.settle(f)
		return
	case evLateAnswer:
		r := ev.Ptr.(*Request)
		if r.Measured {
			in.lateHeld--
		}
		r.Origin.Finish(r, Outcome(ev.Arg))
		return
	default:
		panic(fmt.Sprintf("mesh: instance %s got event kind %d", in.name, ev.Kind))
	}
	r := ev.Ptr.(*Request)
	if len(in.steps) > 0 {
		in.runSteps(r)
		return
	}
	in.respond(r, OutcomeOK)
}

// respond answers r with o (an ok answer may still fail with the
// instance's error probability) and frees its slot for the next request.
func (in *Instance) respond(r *Request, o Outcome) {
	now := in.s.Now()
	if in.tracked {
		in.unserve(r)
	}
	in.busy--
	in.busyArea.add(int64(now))
	in.busyNs += int64(now)
	if r.Measured {
		in.measuredHeld--
		in.completed++
		in.svc.latency.Record(int64(now - r.Arrived))
	}
	var expired []*Request
	for {
		next, ok := in.queue.pop()
		if !ok {
			break
		}
		in.waitArea.add(int64(now))
		if in.propagateDeadline && next.Deadline != 0 && next.Deadline <= now {
			// A deadline-aware handler does not start work whose caller
			// has given up; it is answered once the slot is settled.
			if expired == nil {
				expired, in.expired = in.expired[:0], nil
			}
			if next.Measured {
				in.measuredHeld--
			}
			if in.adaptive != nil {
				in.adaptive.Cancel() // it leaves the filter unserved: no latency sample
			}
			expired = append(expired, next)
			continue
		}
		in.start(next, now)
		break
	}
	if o == OutcomeOK && in.errorProb > 0 && in.errRnd.Bernoulli(in.errorProb) {
		o = in.errorOutcome
	}
	if in.adaptive != nil {
		in.adaptive.Record(r.Arrived)
	}
	if in.extraLatency != nil {
		if r.Measured {
			in.lateHeld++
		}
		in.s.After(in.extraLatency.Sample(in.faultRnd), in, sim.Event{Kind: evLateAnswer, Arg: int64(o), Ptr: r})
	} else {
		r.Origin.Finish(r, o)
	}
	for _, e := range expired {
		e.Origin.Finish(e, OutcomeTimeout) // DEADLINE_EXCEEDED
	}
	if expired != nil {
		in.expired = expired[:0]
	}
	if in.idle != nil && in.busy == 0 && in.queue.len() == 0 {
		in.idle.Idle(in)
	}
}

// admit runs the gates a request may meet before the queue: the instance
// down (refused), a lossy network (lost), the local rate limit (429), an
// expired deadline (a deadline-aware handler), the adaptive concurrency
// limit (503). It answers r itself, or loses it, and reports false when r
// goes no further. Arrive calls it only when one of them is on (gated).
func (in *Instance) admit(r *Request, now sim.Time) bool {
	if in.state != StateUp {
		r.Origin.Finish(r, OutcomeRefused) // the port is closed
		return false
	}
	if in.lossProb > 0 && in.faultRnd.Bernoulli(in.lossProb) {
		if r.Measured {
			in.limbo++ // lost on the way in: never answered
		}
		return false
	}
	if in.limited && !in.take(now) {
		if r.Measured {
			in.shed++
		}
		r.Origin.Finish(r, OutcomeShed)
		return false
	}
	if in.propagateDeadline && r.Deadline != 0 && r.Deadline <= now {
		r.Origin.Finish(r, OutcomeTimeout) // DEADLINE_EXCEEDED before any work
		return false
	}
	if in.adaptive != nil && !in.adaptive.Forward() {
		r.Origin.Finish(r, OutcomeRejected) // the filter's local 503
		return false
	}
	return true
}

// regate recomputes whether any of admit's gates is on.
func (in *Instance) regate() {
	in.gated = in.state != StateUp || in.lossProb > 0 || in.limited || in.propagateDeadline || in.adaptive != nil
}

// take refills the token bucket for the fill intervals that ended by now
// (Envoy fills on a timer, in whole intervals) and takes a token if there
// is one. O(1), no events.
func (in *Instance) take(now sim.Time) bool {
	if n := int64(now.Sub(in.lastFill) / in.fillInterval); n > 0 {
		in.tokens = min(in.maxTokens, in.tokens+n*in.tokensPerFill)
		in.lastFill = in.lastFill.Add(time.Duration(n) * in.fillInterval)
	}
	if in.tokens == 0 {
		return false
	}
	in.tokens--
	return true
}

// SetRateLimit installs a local rate limit: a bucket of maxTokens, full at
// the start, refilled with tokensPerFill every fillInterval.
func (in *Instance) SetRateLimit(maxTokens, tokensPerFill int64, fillInterval time.Duration) {
	in.limited = true
	in.regate()
	in.maxTokens, in.tokensPerFill, in.fillInterval = maxTokens, tokensPerFill, fillInterval
	in.tokens, in.lastFill = maxTokens, in.s.Now()
}

// Adaptive returns the instance's adaptive concurrency controller, or nil.
func (in *Instance) Adaptive() *concurrency.Gradient { return in.adaptive }

// Shed returns the measured requests answered 429 by the rate limit.
func (in *Instance) Shed() int64 { return in.shed }

// SetSlow multiplies the service time of requests that start from now on
// by factor (1 is normal speed). It panics on a factor <= 0, which
// validation rules out.
func (in *Instance) SetSlow(factor float64) {
	if factor <= 0 {
		panic(fmt.Sprintf("mesh: instance %s: slow factor %g <= 0", in.name, factor))
	}
	in.slowFactor = factor
}

// Slow returns the instance's current service-time factor.
func (in *Instance) Slow() float64 { return in.slowFactor }

// SetErrors makes requests that finish from now on fail with probability p,
// answering o (OutcomeError for a 500, OutcomeRejected for a 503).
func (in *Instance) SetErrors(p float64, o Outcome) {
	in.errorProb, in.errorOutcome = p, o
}

// Errors returns the instance's current error probability and answer.
func (in *Instance) Errors() (float64, Outcome) { return in.errorProb, in.errorOutcome }

// resetStats restarts the busy and waiting areas at now (warm-up deletion):
// requests in service or waiting count from now on.
func (in *Instance) resetStats(now sim.Time) {
	in.windowStart = now
	in.busyArea, in.waitArea, in.upArea = area{}, area{}, area{}
	in.busyArea.add(-int64(in.busy) * int64(now))
	if in.state == StateUp {
		in.upArea.add(-int64(now))
	}
	in.waitArea.add(-int64(in.queue.len()) * int64(now))
}

// busyMean and queueMean return the time-weighted mean busy slots and
// waiting requests over [window start, now]; NaN for an empty window.
func (in *Instance) busyMean(now sim.Time) float64 {
	return in.mean(in.busyArea, in.busy, now)
}

// upMean returns the time-weighted share of [window start, now] the
// process was up: 1 for an untracked instance, which never goes down.
func (in *Instance) upMean(now sim.Time) float64 {
	if !in.tracked {
		return 1
	}
	up := 0
	if in.state == StateUp {
		up = 1
	}
	return in.mean(in.upArea, up, now)
}

// BusyNs returns the instance's busy slot-time since the start of the run,
// in slot-nanoseconds: the integral of its busy slots. Differences of two
// readings give its utilisation over the span between them. O(1).
func (in *Instance) BusyNs() int64 { return in.busyNs + int64(in.busy)*int64(in.s.Now()) }

// Held returns the requests the instance holds: queued, in service, or
// waiting on its handler's calls.
func (in *Instance) Held() int { return in.busy + in.queue.len() }

func (in *Instance) queueMean(now sim.Time) float64 {
	return in.mean(in.waitArea, in.queue.len(), now)
}

func (in *Instance) mean(a area, open int, now sim.Time) float64 {
	span := now - in.windowStart
	if span <= 0 {
		return math.NaN()
	}
	a.add(int64(open) * int64(now))
	return a.float() / float64(span)
}
