package mesh

import (
	"fmt"

	"github.com/meshsim/meshsim/sim/dist"
)

// State is an instance's process state.
type State uint8

// The states of an instance.
const (
	// StateUp: the process runs and accepts connections.
	StateUp State = iota
	// StateDown: the process is gone (crashed, or stopped); a request that
	// reaches it finds the port closed and is refused (OutcomeRefused).
	StateDown
)

func (s State) String() string {
	if s == StateDown {
		return "down"
	}
	return "up"
}

// Track makes the instance keep the requests it has started, so that
// Crash can end them. It must be called before the run, on instances that
// may crash (tracking costs a few operations per request, which plain
// runs do not pay).
func (in *Instance) Track() { in.tracked = true }

// State returns the instance's process state.
func (in *Instance) State() State { return in.state }

// Lost returns the measured requests the instance lost to crashes: queued,
// in service or waiting on their handler's calls when it went down.
func (in *Instance) Lost() int64 { return in.lost }

// Crash takes the instance down at once, as a killed process: the
// crash watchers are told first, in the order they were added (the
// kernel closes the process's connections); then every request it holds
// (queued, in service, or waiting on the handler's calls) is lost, its
// stream reset, and answered OutcomeReset, which the caller's proxy may
// retry; requests that reach it while it is down are refused. Work it had
// scheduled is dropped. The instance must be tracked (Track).
// O(requests held + watchers).
func (in *Instance) Crash() {
	if !in.tracked {
		panic(fmt.Sprintf("mesh: instance %s crashed without Track", in.name))
	}
	if in.state == StateDown {
		return
	}
	now := in.s.Now()
	in.state = StateDown
	in.regate()
	in.epoch++ // scheduled completions of the old process are ignored
	held := append(in.dying[:0], in.serving...)
	for range in.serving {
		in.busyArea.add(int64(now)) // their service ends now
		in.busyNs += int64(now)
	}
	in.upArea.add(int64(now))
	in.serving = in.serving[:0]
	in.busy = 0
	for {
		r, ok := in.queue.pop()
		if !ok {
			break
		}
		in.waitArea.add(int64(now))
		held = append(held, r)
	}
	for _, r := range held {
		if r.Measured {
			in.measuredHeld--
			in.lost++
		}
		if f := r.frame; f != nil {
			r.frame = nil
			in.detach(f) // its calls' late answers are discarded
		}
		if in.adaptive != nil {
			in.adaptive.Cancel()
		}
	}
	in.dying = held[:0]
	for _, w := range in.crashWatchers {
		w.Crashed(in)
	}
	for _, r := range held {
		r.Origin.Finish(r, OutcomeReset)
	}
}

// CrashWatcher learns when an instance it watches crashes (or is
// stopped, which Crash also does): a proxy closes its connections to it.
type CrashWatcher interface {
	// Crashed runs synchronously inside Crash, once the instance is down
	// and before the requests it held are answered. It must not send the
	// instance requests.
	Crashed(in *Instance)
}

// WatchCrash adds w to the watchers told of the instance's crashes. It
// is called while the run is built.
func (in *Instance) WatchCrash(w CrashWatcher) { in.crashWatchers = append(in.crashWatchers, w) }

// Restart brings a crashed instance back up, empty, with its queue and
// slots free. Whether callers learn of it is the registry's business.
func (in *Instance) Restart() {
	if in.state == StateUp {
		return
	}
	in.state = StateUp
	in.regate()
	in.upArea.add(-int64(in.s.Now()))
}

// IdleWatcher learns when an instance it watches holds no request any
// more: the last one it held was answered. Idle runs synchronously from
// inside the instance's answer; it may crash or stop the instance.
type IdleWatcher interface {
	Idle(in *Instance)
}

// WatchIdle makes w (nil: nobody) learn when the instance becomes idle.
func (in *Instance) WatchIdle(w IdleWatcher) { in.idle = w }

// Version is what a release of the service's code does: its service time,
// its error rate and an optional extra latency that holds the slot like
// the service time (a slower dependency or code path).
type Version struct {
	ServiceTime  dist.Dist
	ErrorProb    float64
	ErrorOutcome Outcome
	Extra        dist.Dist // nil: none
}

// SetVersion makes requests that start from now on draw from v's
// settings. The instance keeps its own random streams, so a pod of any
// version draws the same sequence of numbers (common random numbers).
func (in *Instance) SetVersion(v Version) {
	in.serviceTime, in.extra = v.ServiceTime, v.Extra
	in.SetErrors(v.ErrorProb, v.ErrorOutcome)
}

// SetLoss makes a share p of the requests that reach the instance vanish
// on the way in (a lossy network): never answered, so that only the
// callers' timeouts end them. 0 ends it.
func (in *Instance) SetLoss(p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("mesh: instance %s: loss %g outside [0, 1]", in.name, p))
	}
	in.lossProb = p
	in.regate()
}

// Loss returns the instance's current loss probability.
func (in *Instance) Loss() float64 { return in.lossProb }

// SetLatency adds a delay drawn from d to every answer the instance sends
// from now on (a slow network path to it); nil ends it.
func (in *Instance) SetLatency(d dist.Dist) { in.extraLatency = d }

// Latency returns the instance's added answer delay, or nil.
func (in *Instance) Latency() dist.Dist { return in.extraLatency }

// serve records that r has started at a tracked instance.
func (in *Instance) serve(r *Request) {
	r.slot = int32(len(in.serving))
	in.serving = append(in.serving, r)
}

// unserve forgets r, answered, at a tracked instance. O(1).
func (in *Instance) unserve(r *Request) {
	last := len(in.serving) - 1
	moved := in.serving[last]
	in.serving[r.slot] = moved
	moved.slot = r.slot
	in.serving[last] = nil
	in.serving = in.serving[:last]
}
