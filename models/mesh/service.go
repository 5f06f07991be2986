package mesh

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/concurrency"
	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("mesh: invalid configuration")

// ServiceConfig describes a service's instances.
type ServiceConfig struct {
	Name     string
	Replicas int // instances up at the start, >= 1
	// Instances is the pool: the instances created, >= Replicas (0 means
	// Replicas). Those beyond Replicas start down and tracked, for pods
	// that an autoscaler or a rollout starts later.
	Instances   int
	Concurrency int       // slots per instance, >= 1
	QueueBound  int       // waiting room per instance, >= 0, or Unbounded
	ServiceTime dist.Dist // per request, drawn per instance from its own stream
	// ErrorProb is the probability a finished request fails, answering
	// ErrorOutcome (OutcomeError for a 500, OutcomeRejected for a 503).
	ErrorProb    float64
	ErrorOutcome Outcome
	// Steps are the handler's downstream calls, run after the service
	// time; Calls index the callers given to each instance by SetCallers.
	// Pool supplies the child requests.
	Steps []Step
	Pool  *Pool
	// RateLimit, when MaxTokens > 0, is Envoy's local rate limit on each
	// instance.
	RateLimit RateLimit
	// PropagateDeadline makes the handler deadline-aware, as a gRPC
	// handler that uses its incoming context: it passes each request's
	// deadline on to its calls, and answers a request whose deadline has
	// passed at once (OutcomeTimeout, DEADLINE_EXCEEDED) instead of
	// starting work on it. Off, calls carry no deadline (Envoy's default).
	PropagateDeadline bool
	// Adaptive, when set, puts Envoy's adaptive concurrency filter in
	// front of each instance: requests beyond its limit are answered 503
	// at once (OutcomeRejected).
	Adaptive *concurrency.Config
}

// RateLimit is a token bucket: MaxTokens, refilled with TokensPerFill every
// FillInterval (Envoy's local_ratelimit token_bucket).
type RateLimit struct {
	MaxTokens     int64
	TokensPerFill int64
	FillInterval  time.Duration
}

func (c ServiceConfig) validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: service without a name", ErrConfig)
	case c.Replicas < 1:
		return fmt.Errorf("%w: service %s: replicas %d < 1", ErrConfig, c.Name, c.Replicas)
	case c.Instances != 0 && c.Instances < c.Replicas:
		return fmt.Errorf("%w: service %s: instances %d < replicas %d", ErrConfig, c.Name, c.Instances, c.Replicas)
	case c.Concurrency < 1:
		return fmt.Errorf("%w: service %s: concurrency %d < 1", ErrConfig, c.Name, c.Concurrency)
	case c.QueueBound < 0 && c.QueueBound != Unbounded:
		return fmt.Errorf("%w: service %s: queue bound %d < 0", ErrConfig, c.Name, c.QueueBound)
	case c.ServiceTime == nil:
		return fmt.Errorf("%w: service %s: no service time distribution", ErrConfig, c.Name)
	case c.RateLimit.MaxTokens < 0 || (c.RateLimit.MaxTokens > 0 && (c.RateLimit.TokensPerFill < 1 || c.RateLimit.FillInterval <= 0)):
		return fmt.Errorf("%w: service %s: rate limit needs max_tokens >= 1, tokens_per_fill >= 1 and fill_interval > 0", ErrConfig, c.Name)
	case !stepsValid(c.Steps):
		return fmt.Errorf("%w: service %s: a step needs calls and 1 <= wait <= its calls", ErrConfig, c.Name)
	case len(c.Steps) > 0 && c.Pool == nil:
		return fmt.Errorf("%w: service %s: calls need a request pool", ErrConfig, c.Name)
	case !(c.ErrorProb >= 0 && c.ErrorProb <= 1):
		return fmt.Errorf("%w: service %s: error probability %g outside [0, 1]", ErrConfig, c.Name, c.ErrorProb)
	}
	return nil
}

// Service is a set of identical instances.
type Service struct {
	cfg       ServiceConfig
	instances []*Instance
	hosts     []lb.Host
	latency   *stats.Histogram
}

// NewService creates the service's instances on s. Instance i draws its
// service times from streams.Get("<name>[i]", "service-time").
func NewService(s *sim.Scheduler, streams sim.Streams, cfg ServiceConfig) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	svc := &Service{cfg: cfg, latency: stats.NewHistogram()}
	for i := 0; i < max(cfg.Instances, cfg.Replicas); i++ {
		name := fmt.Sprintf("%s[%d]", cfg.Name, i)
		in := &Instance{
			name:        name,
			svc:         svc,
			index:       i,
			s:           s,
			rnd:         streams.Get(name, "service-time"),
			serviceTime: cfg.ServiceTime,
			concurrency: cfg.Concurrency,
			queueBound:  cfg.QueueBound,
			slowFactor:  1,
			errRnd:      streams.Get(name, "errors"),
			extraRnd:    streams.Get(name, "extra-latency"),
			steps:       cfg.Steps,
			pool:        cfg.Pool,
			routeRnd:    streams.Get(name, "route"),
			authRnd:     streams.Get(name, "auth"),
			faultRnd:    streams.Get(name, "faults"),

			propagateDeadline: cfg.PropagateDeadline,
		}
		in.SetErrors(cfg.ErrorProb, cfg.ErrorOutcome)
		if cfg.Adaptive != nil {
			g, err := concurrency.NewGradient(s, streams.Get(name, "adaptive"), *cfg.Adaptive)
			if err != nil {
				return nil, fmt.Errorf("service %s: %w", cfg.Name, err)
			}
			in.adaptive = g
		}
		if rl := cfg.RateLimit; rl.MaxTokens > 0 {
			in.SetRateLimit(rl.MaxTokens, rl.TokensPerFill, rl.FillInterval)
		}
		if i >= cfg.Replicas {
			in.tracked, in.state = true, StateDown
		}
		in.regate()
		svc.instances = append(svc.instances, in)
		svc.hosts = append(svc.hosts, in)
	}
	return svc, nil
}

// Name returns the service name.
func (svc *Service) Name() string { return svc.cfg.Name }

// Concurrency returns the slots per instance.
func (svc *Service) Concurrency() int { return svc.cfg.Concurrency }

// Instances returns the instances in index order. The slice must not be
// modified.
func (svc *Service) Instances() []*Instance { return svc.instances }

// Hosts returns the instances as load-balancer hosts, in index order.
func (svc *Service) Hosts() []lb.Host { return svc.hosts }

// ResetStats restarts every time-weighted average at now: the warm-up ends.
func (svc *Service) ResetStats(now sim.Time) {
	for _, in := range svc.instances {
		in.resetStats(now)
	}
}

// MeasuredHeld returns the measured requests the service's instances hold:
// queued or in service, lost on the way in (a loss failure), or answered
// with the answer still delayed (a latency failure). The origins count
// them all as in flight.
func (svc *Service) MeasuredHeld() int64 {
	var n int64
	for _, in := range svc.instances {
		n += in.measuredHeld + in.limbo + in.lateHeld // lost on the way in, or answers still on their way out
	}
	return n
}

// ServiceStats is what a service did during the measurement window.
type ServiceStats struct {
	// Utilisation is the time-weighted busy slots over the slots of the
	// instances that were up: the busy slot-time of all instances divided
	// by their up time times the slots per instance. Instances that are
	// down (crashed, or not started yet from the pool) have no slots.
	Utilisation float64
	// Running is the time-weighted mean number of instances up.
	Running           float64
	QueueLengthMean   float64 // time-weighted waiting requests, summed over instances
	Completed         int64
	Lost              int64 // measured requests lost to crashes
	InstanceCompleted []int64
	Latency           *stats.Histogram // arrival at an instance to end of service, ns
}

// Stats returns the service's statistics for the window ending at now. It
// sums the instances in index order, so the result is the same on every run.
func (svc *Service) Stats(now sim.Time) ServiceStats {
	var busy, queue, up float64
	st := ServiceStats{Latency: svc.latency.Clone(), InstanceCompleted: make([]int64, len(svc.instances))}
	for i, in := range svc.instances {
		busy += in.busyMean(now)
		queue += in.queueMean(now)
		up += in.upMean(now)
		st.Completed += in.completed
		st.Lost += in.lost
		st.InstanceCompleted[i] = in.completed
	}
	// For a service whose instances never go down up is exactly the
	// replica count (a sum of ones), so this is busy / all slots.
	st.Running = up
	if up != 0 {
		st.Utilisation = busy / float64(up*float64(svc.cfg.Concurrency))
	}
	st.QueueLengthMean = queue
	return st
}

func stepsValid(steps []Step) bool {
	for _, st := range steps {
		if a := st.Auth; a != nil {
			if (a.Caller < 0 && a.Cost == nil) || !(a.Deny >= 0 && a.Deny <= 1) {
				return false
			}
			continue
		}
		if st.Routes != nil {
			for _, r := range st.Routes {
				if len(r.Callers) != len(r.Weights) || (len(r.Callers) > 0 && r.total() < 1) {
					return false
				}
				for _, w := range r.Weights {
					if w < 0 {
						return false
					}
				}
			}
			continue
		}
		if len(st.Calls) == 0 || st.Wait < 1 || st.Wait > len(st.Calls) {
			return false
		}
		for _, c := range st.Calls {
			if c < 0 {
				return false
			}
		}
	}
	return true
}
