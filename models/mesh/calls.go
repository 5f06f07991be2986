package mesh

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Caller is where an instance sends its downstream calls: the instance's
// own sidecar towards one service. Send must eventually call r.Origin.Finish
// exactly once.
type Caller interface {
	Send(r *Request)
}

// Step is one step of a service's handler: after its own work an instance
// runs its steps in order. A step sends one child request per entry of
// Calls (indexes into the instance's callers) at once, and is done when
// Wait of them have succeeded: len(Calls) waits for all, 1 for the first.
// If so many fail that Wait successes are no longer possible, the handler
// fails and answers 500.
type Step struct {
	Calls []int
	Wait  int
	// Routes, when set, makes this a routing step (an API gateway): the
	// request's Route indexes Routes, whose entry picks one caller by
	// weight, or none (no route matched: the handler answers 404, an
	// error). Calls and Wait are then unused.
	Routes []Route
	// Auth, when set, makes this step the edge's authentication (Envoy's
	// ext_authz filter); Calls, Wait and Routes are then unused.
	Auth *Auth
}

// Auth is an authentication step. The check is a call to the callers
// entry Caller (an auth service), or, with Caller < 0, local work that
// takes Cost. A share Deny of the checked requests is refused: the
// handler answers OutcomeDenied (401/403) and stops. A failed auth call
// denies the request (ext_authz answers 403 on error) unless FailOpen
// (ext_authz failure_mode_allow). Deny is drawn from the instance's
// "auth" stream.
type Auth struct {
	Caller   int
	Cost     dist.Dist
	Deny     float64
	FailOpen bool
}

// Route is where a routing step sends one route: Callers (indexes into
// the instance's callers) with integer Weights, picked at random in
// proportion to the weights from the instance's "route" stream. An empty
// route matches nothing.
type Route struct {
	Callers []int
	Weights []int
}

// pick returns the caller for a draw u in [0, total weight).
func (r *Route) pick(u int) int {
	for i, w := range r.Weights {
		if u < w {
			return r.Callers[i]
		}
		u -= w
	}
	return r.Callers[len(r.Callers)-1]
}

func (r *Route) total() int {
	t := 0
	for _, w := range r.Weights {
		t += w
	}
	return t
}

// frame is the state of one request's handler while its steps run. It
// outlives the answer when a step waited for only some of its children, so
// that late children never point at a recycled request.
type frame struct {
	in          *Instance
	req         *Request // the request being handled; nil once answered
	step        int
	outstanding int // children not yet answered, all steps
	stepOK      int
	stepFailed  int
	sending     bool // inside runStep: answers are counted, not acted on
}

// Finish receives a child's answer: frame implements Origin.
func (f *frame) Finish(child *Request, o Outcome) {
	in := f.in
	step := int(child.Tag)
	in.pool.Put(child)
	f.outstanding--
	if f.req == nil { // a late child of a request already answered
		if f.outstanding == 0 {
			in.putFrame(f)
		}
		return
	}
	if step != f.step {
		return // a late child of a step already settled
	}
	if o == OutcomeOK {
		f.stepOK++
	} else {
		f.stepFailed++
	}
	if !f.sending {
		in.settle(f) // may answer the request and release the frame
	}
}

// runSteps starts the handler's steps for r, whose own work is done.
func (in *Instance) runSteps(r *Request) {
	f := in.getFrame()
	f.in, f.req = in, r
	r.frame = f
	in.runStep(f)
}

// runStep sends the children of the frame's current step, then settles
// the step: answers that arrive while sending (a local 503, say) are only
// counted until every child is out.
func (in *Instance) runStep(f *frame) {
	st := &in.steps[f.step]
	f.stepOK, f.stepFailed = 0, 0
	f.sending = true
	now := in.s.Now()
	calls := st.Calls
	if a := st.Auth; a != nil {
		if a.Caller < 0 { // local check: its cost, then settle
			f.sending = false
			in.s.After(a.Cost.Sample(in.authRnd), in, sim.Event{Kind: evAuthDone, Arg: int64(in.epoch), Ptr: f})
			return
		}
		in.oneCall[0] = a.Caller
		calls = in.oneCall[:]
	}
	if st.Routes != nil {
		rt := int(f.req.Route)
		if rt < 0 || rt >= len(st.Routes) || len(st.Routes[rt].Callers) == 0 {
			f.sending = false
			f.stepFailed = 1
			in.respond(f.req, OutcomeError) // 404: no route
			in.detach(f)
			return
		}
		r := &st.Routes[rt]
		in.oneCall[0] = r.pick(in.routeRnd.IntN(r.total()))
		calls = in.oneCall[:]
	}
	for _, c := range calls {
		child := in.pool.Get()
		child.Key = f.req.Key
		child.Route = f.req.Route
		if in.propagateDeadline {
			child.Deadline = f.req.Deadline
		}
		child.Created = now
		child.Measured = f.req.Measured
		child.Origin = f
		child.Tag = int32(f.step)
		child.SetTrace(f.req.Trace)
		f.outstanding++
		in.callers[c].Send(child)
		if f.req == nil {
			panic(fmt.Sprintf("mesh: instance %s: handler answered while sending", in.name))
		}
	}
	f.sending = false
	in.settle(f)
}

// settle moves the handler on when its current step has enough successes,
// or fails it when it can no longer have them.
func (in *Instance) settle(f *frame) {
	st := &in.steps[f.step]
	calls, wait := len(st.Calls), st.Wait
	if st.Routes != nil || st.Auth != nil {
		calls, wait = 1, 1
	}
	if a := st.Auth; a != nil && (f.stepOK > 0 || f.stepFailed > 0) {
		if (f.stepFailed > 0 && !a.FailOpen) || (a.Deny > 0 && in.authRnd.Bernoulli(a.Deny)) {
			in.respond(f.req, OutcomeDenied)
			in.detach(f)
			return
		}
		f.stepOK, f.stepFailed = 1, 0
	}
	switch {
	case f.stepOK >= wait:
		f.step++
		if f.step == len(in.steps) {
			in.respond(f.req, OutcomeOK)
			in.detach(f)
			return
		}
		in.runStep(f)
	case calls-f.stepFailed < wait:
		in.respond(f.req, OutcomeError) // a failed dependency: 500
		in.detach(f)
	}
}

// detach forgets the answered request; the frame lives on until its last
// child answers.
func (in *Instance) detach(f *frame) {
	if f.req != nil {
		f.req.frame = nil
	}
	f.req = nil
	if f.outstanding == 0 {
		in.putFrame(f)
	}
}

func (in *Instance) getFrame() *frame {
	if n := len(in.frames); n > 0 {
		f := in.frames[n-1]
		in.frames = in.frames[:n-1]
		return f
	}
	return &frame{}
}

func (in *Instance) putFrame(f *frame) {
	if f.in == nil {
		panic(fmt.Sprintf("mesh: instance %s: handler frame released twice", in.name))
	}
	*f = frame{}
	in.frames = append(in.frames, f)
}

// SetCallers gives the instance its sidecar's callers, indexed as the
// service's steps refer to them. It must be called before the run when
// the service has steps.
func (in *Instance) SetCallers(callers []Caller) { in.callers = callers }
