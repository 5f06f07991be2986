package mesh

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// Outcome is the terminal state of a request.
type Outcome uint8

// The terminal states. A request ends in exactly one of them; a request that
// has not ended when the run stops is in flight, which is counted, not stored.
const (
	OutcomeOK           Outcome = iota // answered successfully
	OutcomeError                       // answered with an error
	OutcomeTimeout                     // gave up by the caller's deadline
	OutcomeRejected                    // refused by a full queue or a limit
	OutcomeShed                        // dropped by load shedding
	OutcomeDeadLettered                // moved to a dead-letter queue
	OutcomeDropped                     // dropped by policy or lost to a failure
	OutcomeDenied                      // refused by authentication at the edge (401/403)
	// OutcomeReset is an attempt's answer, never a request's terminal
	// state: the upstream reset the stream, or the connection failed. A
	// proxy retries it or answers its origin 503 (OutcomeRejected), as
	// Envoy answers "upstream connect error or disconnect/reset".
	OutcomeReset
	// OutcomeRefused is an attempt's answer too: the connection was
	// refused (the instance is down). A proxy treats it as a connection
	// failure: retried under connect-failure, reset, 5xx and gateway-error,
	// and answered 503 to its origin.
	OutcomeRefused
	NumOutcomes // the number of outcomes
)

var outcomeNames = [NumOutcomes]string{"ok", "error", "timeout", "rejected", "shed", "dead_lettered", "dropped", "denied", "reset", "refused"}

func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Origin receives each request's terminal outcome. Finish is called exactly
// once per request, and the origin then owns the request again (usually to
// release it to its pool).
type Origin interface {
	Finish(r *Request, o Outcome)
}

// Request is one end-to-end request. Requests are pooled; fields are reset
// by Pool.Get.
type Request struct {
	ID uint64
	// Key is the request's hash key for consistent hashing. Origins set it
	// from their own sequence, so that changing one workload never shifts
	// another's keys (common random numbers across sweep points).
	Key      uint64
	Created  sim.Time // when the origin sent it
	Arrived  sim.Time // when it reached the current instance
	Started  sim.Time // when its service started there
	Measured bool     // created in the measurement window: counts in the statistics
	Origin   Origin
	// Hop is the state a proxy keeps while it forwards the request itself
	// (sidecar direct mode): the origin to hand the answer back to, the
	// host and picker used, and when it was sent. A request is forwarded
	// by at most one proxy at a time.
	Hop Hop
	// Tag is a small number the request's origin keeps on it, such as the
	// handler step a child request belongs to.
	Tag int32
	// Route is the request's route (its path), as an index into the
	// routing tables of the gateways it passes; -1 for none.
	Route int32
	// Deadline is the instant by which the request's origin wants an
	// answer, carried with the request (gRPC's grpc-timeout); 0 for none.
	// Proxies shorten their route timeout to it, and handlers that
	// propagate deadlines pass it on to their calls.
	Deadline sim.Time
	// Trace is the business transaction the request belongs to (nil when
	// not traced): set with SetTrace, which holds it; every request made
	// on the request's behalf joins it, and Pool.Put releases the hold.
	Trace *Trace
	live  bool   // between Get and Put: catches a request finished twice
	slot  int32  // index in the serving list of a tracked instance
	frame *frame // the handler frame running for it, if any
}

// Hop is a proxy's per-request forwarding state; see Request.Hop.
type Hop struct {
	Origin Origin
	Host   int32  // index in the proxy's host list
	Local  int32  // index in the picker's host list, which may be a subset
	Worker int32  // the balancer (proxy worker)
	Picker int32  // the picker the balancer used
	Epoch  uint32 // the picker generation Local refers to
	Conn   uint32 // the generation of the pooled connection the stream is on
	Sent   sim.Time
	Stream bool // holds a stream of a pooled connection
}

// Pool recycles requests so that steady-state operation allocates nothing.
// Get and Put are O(1). A Pool belongs to one run and is not safe for
// concurrent use.
type Pool struct {
	free   []*Request
	nextID uint64
}

// Get returns a zeroed request (Route -1: none) with a fresh ID (IDs count from 1 in the
// order requests are created, so they are stable across runs).
func (p *Pool) Get() *Request {
	var r *Request
	if n := len(p.free); n > 0 {
		r = p.free[n-1]
		p.free = p.free[:n-1]
		*r = Request{}
	} else {
		r = &Request{}
	}
	p.nextID++
	r.ID = p.nextID
	r.Route = -1
	r.live = true
	return r
}

// Put returns r to the pool. r must not be used afterwards. Putting a
// request twice means it ended twice, which breaks the accounting: Put
// panics rather than let two live requests share one struct.
func (p *Pool) Put(r *Request) {
	if !r.live {
		panic(fmt.Sprintf("mesh: request %d released twice (ended in two terminal states)", r.ID))
	}
	r.live = false
	r.Origin = nil
	if r.Trace != nil {
		r.Trace.Release()
		r.Trace = nil
	}
	p.free = append(p.free, r)
}
