package discovery

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field in snake_case.
var ErrConfig = errors.New("discovery: invalid configuration")

// DefaultDelay is the propagation delay of a subscriber with none given:
// istiod's PILOT_DEBOUNCE_AFTER.
const DefaultDelay = 100 * time.Millisecond

// Limits (TIGER_STYLE).
const (
	// MaxServices bounds the services of a registry.
	MaxServices = 1 << 16
	// MaxPending bounds the changes in flight to one subscriber; reaching
	// it panics, since it means changes are made far faster than any
	// mesh propagates them.
	MaxPending = 1 << 20
)

// Snapshot is a service's endpoint set after one change. It is immutable
// and shared by every subscriber: do not modify it.
type Snapshot struct {
	Service int
	// Version counts the service's changes: 0 is the empty initial set.
	Version uint64
	// At is when the change was made in the registry.
	At sim.Time
	// Endpoints are the endpoint ids, sorted ascending.
	Endpoints []int
}

// Contains reports whether ep is in s. It is O(log n).
func (s *Snapshot) Contains(ep int) bool {
	_, ok := slices.BinarySearch(s.Endpoints, ep)
	return ok
}

// Watcher learns of the changes that reach a subscriber, in order.
// EndpointsChanged runs from the subscriber's delivery event; it must not
// block.
type Watcher interface {
	EndpointsChanged(snap *Snapshot)
}

// Config is one subscriber.
type Config struct {
	// Name identifies the subscriber in errors and logs, for example
	// "frontend[2]".
	Name string
	// Delay is the propagation delay of each change. Default: constant
	// DefaultDelay.
	Delay dist.Dist
	// Services lists the services the subscriber watches, each at most
	// once.
	Services []int
}

// WithDefaults returns c with a nil Delay replaced by the constant
// DefaultDelay.
func (c Config) WithDefaults() Config {
	if c.Delay == nil {
		c.Delay = defaultDelay
	}
	return c
}

var defaultDelay = func() dist.Dist {
	d, err := dist.Constant(DefaultDelay)
	if err != nil {
		panic(err)
	}
	return d
}()

// Validate reports the first invalid field of c, as an error wrapping
// ErrConfig that names the field. Whether each service exists is checked
// by Subscribe, which knows the registry.
func (c Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: name must not be empty", ErrConfig)
	}
	if len(c.Services) == 0 || len(c.Services) > MaxServices {
		return fmt.Errorf("%w: subscriber %q: services must hold 1 to %d services, got %d", ErrConfig, c.Name, MaxServices, len(c.Services))
	}
	for i, svc := range c.Services {
		if svc < 0 {
			return fmt.Errorf("%w: subscriber %q: services[%d] must be >= 0, got %d", ErrConfig, c.Name, i, svc)
		}
		if slices.Contains(c.Services[:i], svc) {
			return fmt.Errorf("%w: subscriber %q: services[%d] = %d is listed twice", ErrConfig, c.Name, i, svc)
		}
	}
	return nil
}

// Registry holds every service's endpoints and its subscribers. It is not
// safe for concurrent use.
type Registry struct {
	s     *sim.Scheduler
	cur   []*Snapshot
	subs  []*Subscriber
	bySvc [][]*Subscriber // subscribers of each service, in subscription order
}

// NewRegistry returns a registry of services services, numbered 0..n-1,
// all empty.
func NewRegistry(s *sim.Scheduler, services int) (*Registry, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil scheduler", ErrConfig)
	}
	if services < 0 || services > MaxServices {
		return nil, fmt.Errorf("%w: services must be in [0, %d], got %d", ErrConfig, MaxServices, services)
	}
	r := &Registry{s: s, cur: make([]*Snapshot, services), bySvc: make([][]*Subscriber, services)}
	for i := range r.cur {
		r.cur[i] = &Snapshot{Service: i}
	}
	return r, nil
}

// Endpoints returns the registry's current snapshot of svc.
func (r *Registry) Endpoints(svc int) *Snapshot { return r.cur[svc] }

// Register adds ep to svc and reports whether it was absent. A change is
// propagated to svc's subscribers; registering a present endpoint changes
// nothing.
func (r *Registry) Register(svc, ep int) bool {
	old := r.cur[svc].Endpoints
	i, found := slices.BinarySearch(old, ep)
	if found {
		return false
	}
	eps := make([]int, 0, len(old)+1)
	eps = append(append(append(eps, old[:i]...), ep), old[i:]...)
	r.change(svc, eps)
	return true
}

// Deregister removes ep from svc and reports whether it was present.
func (r *Registry) Deregister(svc, ep int) bool {
	old := r.cur[svc].Endpoints
	i, found := slices.BinarySearch(old, ep)
	if !found {
		return false
	}
	eps := make([]int, 0, len(old)-1)
	eps = append(append(eps, old[:i]...), old[i+1:]...)
	r.change(svc, eps)
	return true
}

func (r *Registry) change(svc int, eps []int) {
	snap := &Snapshot{Service: svc, Version: r.cur[svc].Version + 1, At: r.s.Now(), Endpoints: eps}
	r.cur[svc] = snap
	for _, sub := range r.bySvc[svc] {
		sub.enqueue(snap)
	}
}

// Subscribe adds a subscriber under cfg drawing its delays from rnd, its
// own stream. It starts with the registry's current snapshots of its
// services (View) and learns of later changes through w.
func (r *Registry) Subscribe(cfg Config, rnd *sim.Rand, w Watcher) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rnd == nil || w == nil {
		return nil, fmt.Errorf("%w: subscriber %q: nil random stream or watcher", ErrConfig, cfg.Name)
	}
	cfg = cfg.WithDefaults()
	sub := &Subscriber{r: r, name: cfg.Name, delay: cfg.Delay, rnd: rnd, w: w, view: make([]*Snapshot, len(r.cur))}
	for i, svc := range cfg.Services {
		if svc >= len(r.cur) {
			return nil, fmt.Errorf("%w: subscriber %q: services[%d] = %d is not a service (0..%d)", ErrConfig, cfg.Name, i, svc, len(r.cur)-1)
		}
		sub.view[svc] = r.cur[svc]
	}
	for _, svc := range cfg.Services {
		r.bySvc[svc] = append(r.bySvc[svc], sub)
	}
	r.subs = append(r.subs, sub)
	return sub, nil
}

// Subscriber is one watcher of some services. It implements sim.Handler
// for its deliveries.
type Subscriber struct {
	r     *Registry
	name  string
	delay dist.Dist
	rnd   *sim.Rand
	w     Watcher
	view  []*Snapshot // by service; nil if not watched
	queue []*Snapshot // in flight, in order
	head  int
	last  sim.Time // delivery time of the latest change in flight
	stats SubscriberStats
}

// SubscriberStats counts a subscriber's deliveries.
type SubscriberStats struct {
	Delivered int64
	// MaxLag is the longest time from a change to its delivery.
	MaxLag time.Duration
	// MaxDelay is the longest delay drawn (MaxLag can exceed it when a
	// change waits for an earlier one).
	MaxDelay time.Duration
}

// Name returns the subscriber's name.
func (sub *Subscriber) Name() string { return sub.name }

// View returns the subscriber's current snapshot of svc, or nil if it does
// not watch svc.
func (sub *Subscriber) View(svc int) *Snapshot { return sub.view[svc] }

// Pending returns the number of changes in flight to the subscriber.
func (sub *Subscriber) Pending() int { return len(sub.queue) - sub.head }

// Stats returns the subscriber's counters.
func (sub *Subscriber) Stats() SubscriberStats { return sub.stats }

func (sub *Subscriber) enqueue(snap *Snapshot) {
	if sub.Pending() >= MaxPending {
		panic(fmt.Sprintf("discovery: subscriber %q has max_pending=%d changes in flight at %v", sub.name, MaxPending, snap.At))
	}
	d := sub.delay.Sample(sub.rnd)
	sub.stats.MaxDelay = max(sub.stats.MaxDelay, d)
	at := max(snap.At.Add(d), sub.last)
	sub.last = at
	if sub.head == len(sub.queue) {
		sub.queue, sub.head = sub.queue[:0], 0
	}
	sub.queue = append(sub.queue, snap)
	sub.r.s.Schedule(at, sub, sim.Event{})
}

// Handle delivers the oldest change in flight. It implements sim.Handler.
func (sub *Subscriber) Handle(sim.Event) {
	snap := sub.queue[sub.head]
	sub.queue[sub.head] = nil
	sub.head++
	sub.view[snap.Service] = snap
	sub.stats.Delivered++
	sub.stats.MaxLag = max(sub.stats.MaxLag, sub.r.s.Now().Sub(snap.At))
	sub.w.EndpointsChanged(snap)
}
