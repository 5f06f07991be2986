// Package lb defines how a caller's proxy picks one endpoint of a service:
// the Picker interface, the Builder that makes one per balancer, and a
// registry of policies by name. Each policy lives in its own folder
// (models/lb/<policy>) and registers itself in init, as grpc-go's
// balancer/<policy> packages do.
//
// A Picker is owned by exactly one balancer (one sidecar worker, in Envoy
// terms): N sidecars x W workers are N*W independent pickers, each with its
// own random stream. Pickers never block and allocate nothing per pick.
package lb

import (
	"errors"
	"fmt"
	"slices"

	"github.com/meshsim/meshsim/sim"
)

// ErrNoHost is returned by Pick when there is no endpoint to pick.
var ErrNoHost = errors.New("lb: no host available")

// Host is what a picker sees of one endpoint. Implementations are the
// simulated instances; the picker reads them at pick time, so it always
// sees current state.
type Host interface {
	// ActiveRequests is the number of requests sent to the host and not yet
	// answered (Envoy's per-host rq_active, shared by all workers).
	ActiveRequests() int
}

// PickInfo is what a picker may know about the request being routed. It is
// passed by value so that a pick allocates nothing.
type PickInfo struct {
	// HashKey is the request's hash for consistent-hashing policies.
	HashKey uint64
	// Attempt is 1 for the first try, 2 for the first retry, and so on.
	Attempt int
}

// Picker picks the index, in the host list it was built with, of the host a
// request goes to. Pick must not block; it runs once per attempt.
type Picker interface {
	Pick(info PickInfo) (int, error)
}

// BuildOptions is what a Builder gets to make one Picker.
type BuildOptions struct {
	// Hosts is the endpoint list, in stable instance order. The picker
	// returns indexes into it.
	Hosts []Host
	// Rand is the balancer's own stream: every picker draws only from it.
	Rand *sim.Rand
}

// Builder makes pickers of one policy.
type Builder interface {
	Build(opts BuildOptions) (Picker, error)
}

var registry = map[string]Builder{}

// Register makes a policy available by name. It is called from the policy
// package's init and panics if the name is taken or empty, since that is a
// programming error.
func Register(name string, b Builder) {
	if name == "" || b == nil {
		panic("lb: Register with an empty name or nil builder")
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("lb: policy %q registered twice", name))
	}
	registry[name] = b
}

// Get returns the builder registered under name.
func Get(name string) (Builder, bool) {
	b, ok := registry[name]
	return b, ok
}

// Names returns the registered policy names in sorted order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
