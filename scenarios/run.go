package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/meshsim/meshsim/internal/version"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim"
)

// ErrConservation reports a broken request account: a bug, never an input
// error. The message carries the seed, variant and replication to
// reproduce it.
var ErrConservation = errors.New("scenario: request accounting not conserved")

// ErrInternal wraps a broken invariant inside a run (a panic in the models
// or the kernel): a bug to report, with the seed that reproduces it.
var ErrInternal = errors.New("scenario: internal error (please report it with this message)")

// Options controls how a scenario is run. The zero value runs with the
// scenario's own seed and replications on one worker.
type Options struct {
	// Workers is the number of replications simulated at once; <= 0 means
	// one per CPU. Results do not depend on it.
	Workers int
	// Seed, when non-nil, replaces the scenario's seed.
	Seed *uint64
	// Replications, when > 0, replaces the scenario's replication count
	// (at most MaxReplications).
	Replications int
	// Version is written into the results; "" means version.Version.
	Version string
	// Progress, when non-nil, is called with the fraction of work done. It
	// may be called from several goroutines, never at once.
	Progress func(done float64)
	// Shard and Shards, with Shards > 1, run only the tasks whose index in
	// task order is Shard modulo Shards (see RunPart); the others are left
	// empty in the Experiment.
	Shard, Shards int
}

// task is one replication of one variant.
type task struct {
	variant     int
	replication int
}

// Run simulates every variant of doc for every replication and returns the
// results in task order (variants in scenario order, replications by
// index). Tasks run on opts.Workers goroutines, each owning its own
// scheduler and models, so the results are the same for any number of
// workers. Run stops early, returning ctx.Err(), when ctx is cancelled.
func Run(ctx context.Context, doc *Document, opts Options) (*results.Experiment, error) {
	sc := doc.Scenario
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	reps := sc.Replications
	if opts.Replications > 0 {
		reps = opts.Replications
	}
	if reps > MaxReplications {
		return nil, fmt.Errorf("scenario: %d replications requested; the limit is %d", reps, MaxReplications)
	}
	variants, err := doc.Expand()
	if err != nil {
		return nil, err
	}
	ver := opts.Version
	if ver == "" {
		ver = version.Version
	}
	exp := &results.Experiment{
		Scenario:     sc.Name,
		Description:  sc.Description,
		Source:       string(sc.Source),
		Seed:         seed,
		Version:      ver,
		Duration:     time.Duration(sc.Duration),
		Warmup:       time.Duration(sc.Warmup),
		Replications: reps,
		SLO:          resultSLO(sc.Report.SLO),
	}
	if opts.Shards > 1 && (opts.Shard < 0 || opts.Shard >= opts.Shards) {
		return nil, fmt.Errorf("scenario: shard %d of %d: shards are numbered 0 to %d", opts.Shard, opts.Shards, opts.Shards-1)
	}
	for _, rv := range variants {
		exp.Variants = append(exp.Variants, results.Variant{Name: rv.Name, Base: rv.Variant, Point: resultPoint(rv)})
	}
	pr := sc.Precision
	if pr == nil || opts.Replications > 0 {
		mine := len(variants) * reps // this shard's tasks
		if opts.Shards > 1 {
			mine = 0
			for i := range len(variants) * reps {
				if i%opts.Shards == opts.Shard {
					mine++
				}
			}
		}
		prog := newProgress(len(variants)*reps, mine, opts.Progress)
		if err := runReplications(ctx, exp, variants, seed, 0, reps, opts, prog); err != nil {
			return nil, err
		}
		return exp, nil
	}
	if opts.Shards > 1 {
		return nil, fmt.Errorf("scenario: %s uses precision-based stopping, which decides after each round of replications how many more to run, so it cannot be sharded; set replications (the run without shards reports how many it needed) and remove precision to shard it", sc.Name)
	}
	// Precision-based stopping: rounds of replications until the widest
	// interval meets the target. Progress counts against the bound.
	prog := newProgress(len(variants)*pr.MaxReplications, len(variants)*pr.MaxReplications, opts.Progress)
	exp.Precision = &results.Precision{Metric: pr.Metric, Workload: pr.Workload, Relative: pr.Relative, Absolute: pr.Absolute, MaxReplications: pr.MaxReplications}
	for done := 0; ; {
		if err := runReplications(ctx, exp, variants, seed, done, reps, opts, prog); err != nil {
			return nil, err
		}
		exp.Replications = reps
		exp.Precision.Rounds = append(exp.Precision.Rounds, reps)
		widest, ok := exp.CheckPrecision(pr.Metric, pr.Workload, pr.Relative, pr.Absolute)
		exp.Precision.Widest, exp.Precision.Reached = widest, ok && widest.Met()
		if exp.Precision.Reached || reps >= pr.MaxReplications {
			return exp, nil
		}
		ratio := math.Inf(1)
		if widest.Ratio != nil {
			ratio = *widest.Ratio
		}
		done, reps = reps, results.NextReplications(reps, ratio, pr.MaxReplications)
	}
}

// runReplications runs replications [from, to) of every variant (those of
// this shard, with opts.Shards > 1) on opts.Workers goroutines and stores
// them in exp, whose variants' slices it extends to length to. Task
// indices, for sharding and progress, count variants x to in order.
func runReplications(ctx context.Context, exp *results.Experiment, variants []Resolved, seed uint64, from, to int, opts Options, prog *progress) error {
	var tasks []task
	for v := range variants {
		rs := exp.Variants[v].Replications
		exp.Variants[v].Replications = append(rs, make([]results.Replication, to-len(rs))...)
		for r := from; r < to; r++ {
			if opts.Shards > 1 && (v*to+r)%opts.Shards != opts.Shard {
				continue // another shard's task
			}
			tasks = append(tasks, task{variant: v, replication: r})
		}
	}
	if len(tasks) == 0 {
		return nil // more shards than tasks: this one has none
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(tasks))
	errs := make([]error, len(tasks))
	fail := &firstFailure{index: len(tasks)}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if fail.before(i) {
					continue // an earlier task failed: its error is the one reported
				}
				t := tasks[i]
				slot := t.variant*len(prog.frac)/len(variants) + t.replication
				rep, err := runTask(ctx, variants[t.variant], seed, t.replication, func(f float64) { prog.set(slot, f) })
				if err != nil {
					errs[i] = err
					fail.record(i)
					continue
				}
				exp.Variants[t.variant].Replications[t.replication] = *rep
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil || fail.before(i) {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Report the first error in task order, so the message is the same for
	// any number of workers.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RunPart runs shard opts.Shard of opts.Shards (Shards >= 1) and returns
// its part of the experiment, to be merged with the other shards' parts
// by results.Merge: the merged experiment is exactly what Run returns for
// the whole scenario, whatever the sharding and the machines, so the
// reports rendered from it are byte-identical. Shard i runs the tasks
// whose index in task order (variants in scenario order, then
// replications) is i modulo Shards.
func RunPart(ctx context.Context, doc *Document, opts Options) (*results.Part, error) {
	if opts.Shards < 1 {
		opts.Shards = 1
	}
	exp, err := Run(ctx, doc, opts)
	if err != nil {
		return nil, err
	}
	part := &results.Part{Format: results.PartFormat, Shard: opts.Shard, Count: opts.Shards, Experiment: *exp}
	reps := exp.Replications
	for v := range exp.Variants {
		done := make([]bool, reps)
		for r := range done {
			done[r] = (v*reps+r)%opts.Shards == opts.Shard
		}
		part.Done = append(part.Done, done)
	}
	return part, nil
}

// MaxReplications bounds the replications of one run, from the scenario or
// from Options, so that a typo cannot allocate without end.
const MaxReplications = 10000

// firstFailure remembers the lowest index of a failed task, so that tasks
// after it are skipped while the error reported stays the first in task
// order, whatever the number of workers.
type firstFailure struct {
	mu    sync.Mutex
	index int
}

func (f *firstFailure) record(i int) {
	f.mu.Lock()
	f.index = min(f.index, i)
	f.mu.Unlock()
}

func (f *firstFailure) before(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index < i
}

// runTask simulates one replication of one variant. A panic in the models
// or the kernel (a broken invariant) comes back as an error that names the
// scenario, variant, seed and replication that reproduce it.
func runTask(ctx context.Context, rv Resolved, seed uint64, replication int, tick func(float64)) (rep *results.Replication, err error) {
	sc := rv.Scenario
	where := fmt.Sprintf("scenario %s, variant %s, seed %d, replication %d", sc.Name, rv.Name, seed, replication)
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("%w: %s: %v", ErrInternal, where, r)
		}
	}()
	w, err := build(sc, seed, replication)
	if err != nil {
		return nil, err
	}
	err = w.run(func(f float64) error {
		tick(f)
		return ctx.Err()
	})
	var le *sim.LimitError
	if errors.As(err, &le) && errors.Is(err, sim.ErrMaxEvents) {
		return nil, fmt.Errorf("%s: %w; raise limits.max_events (now %d) or shorten duration", where, err, sc.Limits.MaxEvents)
	}
	if err != nil {
		return nil, err
	}
	return w.collect(replication, where)
}

// collect turns the models' statistics into a results.Replication and
// checks that every measured request is accounted for exactly once.
func (w *world) collect(replication int, where string) (*results.Replication, error) {
	now := w.s.Now()
	rep := &results.Replication{Index: replication, Events: w.s.Fired()}
	var inFlight, held int64
	for i, wl := range w.workloads {
		st := wl.Stats()
		o := results.Outcomes{
			OK:           st.Outcomes[mesh.OutcomeOK],
			Error:        st.Outcomes[mesh.OutcomeError],
			Timeout:      st.Outcomes[mesh.OutcomeTimeout],
			Rejected:     st.Outcomes[mesh.OutcomeRejected],
			Shed:         st.Outcomes[mesh.OutcomeShed],
			Denied:       st.Outcomes[mesh.OutcomeDenied],
			DeadLettered: st.Outcomes[mesh.OutcomeDeadLettered],
			Dropped:      st.Outcomes[mesh.OutcomeDropped],
			InFlight:     st.InFlight,
		}
		if o.Total() != st.Arrived || st.InFlight < 0 {
			return nil, fmt.Errorf("%w: %s: workload %s: %d arrived, %d accounted (%+v)", ErrConservation, where, wl.Name(), st.Arrived, o.Total(), o)
		}
		if !w.publishers[i] {
			inFlight += st.InFlight // a publisher's requests wait at its producer, not at a proxy
		}
		rw := results.Workload{Name: wl.Name(), Arrived: st.Arrived, Outcomes: o, Latency: st.Latency, Series: series(wl.Series())}
		if w.tracer != nil {
			rw.EndToEnd = w.tracer.EndToEnd(i)
		}
		rep.Workloads = append(rep.Workloads, rw)
	}
	if w.failures != nil {
		for _, f := range w.failures.Intervals() {
			to := f.To
			if to == 0 { // still on at the end
				to = now
			}
			rep.Failures = append(rep.Failures, results.Failure{Kind: f.Kind.String(), Target: f.Target, From: time.Duration(f.From), To: time.Duration(to)})
		}
	}
	for _, p := range w.pushes {
		if p.at < now {
			rep.Failures = append(rep.Failures, results.Failure{Kind: "config_push", Target: p.service, From: time.Duration(p.at), To: time.Duration(p.at)})
		}
	}
	if w.cp != nil {
		for _, p := range w.cp.processes {
			for _, f := range p.Intervals() {
				to := f.To
				if to == 0 {
					to = now
				}
				rep.Failures = append(rep.Failures, results.Failure{Kind: f.Kind.String(), Target: f.Target, From: time.Duration(f.From), To: time.Duration(to)})
			}
		}
	}
	for _, f := range w.fleets {
		fl := f.collect(now)
		for _, d := range fl.Deploys {
			rep.Failures = append(rep.Failures, results.Failure{Kind: "deploy", Target: d.Target, From: d.From, To: d.To})
		}
		for _, d := range fl.Decisions {
			if d.Desired != d.Current { // the autoscaler acted: an instant on the timeline
				rep.Failures = append(rep.Failures, results.Failure{Kind: "scale", Target: fmt.Sprintf("%s %d→%d", fl.Service, d.Current, d.Desired), From: d.At, To: d.At})
			}
		}
		rep.Fleets = append(rep.Fleets, fl)
	}
	for _, svc := range w.services {
		held += svc.MeasuredHeld()
		st := svc.Stats(now)
		rep.Services = append(rep.Services, results.Service{
			Name:              svc.Name(),
			Instances:         len(svc.Instances()),
			Concurrency:       svc.Concurrency(),
			Utilisation:       st.Utilisation,
			Running:           st.Running,
			QueueLengthMean:   st.QueueLengthMean,
			Completed:         st.Completed,
			Latency:           st.Latency,
			InstanceCompleted: st.InstanceCompleted,
			Lost:              st.Lost,
		})
	}
	var open, unanswered int64
	for _, co := range w.clusters {
		if co.fromWorkload {
			open += co.c.Open() // the workloads' requests; the rest are calls between services
		}
		unanswered += co.c.Unanswered() - co.c.InTransit() - co.c.Limbo() // on the network, or lost in a partition: at no instance
		st := co.c.Stats()
		var ejections int64
		var ejected []results.Ejection
		d := co.c.Detector()
		if d != nil {
			for _, e := range d.Intervals() {
				if e.From >= w.warmup {
					ejections++
				}
				ejected = append(ejected, results.Ejection{Host: e.Host, From: time.Duration(e.From), To: time.Duration(min(e.To, now))})
			}
		}
		rep.Sidecars = append(rep.Sidecars, results.Sidecar{
			Outlier: d != nil, Ejected: ejected,
			Ejections: ejections, Hedges: st.Hedges, HedgeWins: st.HedgeWins,
			Caller: co.caller, Service: co.service,
			Calls: st.Calls, Attempts: st.Attempts, Retries: st.Retries,
			RetryOverflows: st.RetryOverflows, Overflows: st.Overflows,
			PerTryTimeouts: st.PerTryTimeouts, RouteTimeouts: st.RouteTimeouts,
			HostAttempts:      st.HostAttempts,
			DeadlineExceeded:  st.DeadlineExceeded,
			ConnectionsOpened: co.c.ConnStats().Opened, ConnectFailures: co.c.ConnStats().ConnectFailures,
		})
		if co.c.Pooled() {
			cs := co.c.ConnStats()
			last := &rep.Sidecars[len(rep.Sidecars)-1]
			last.Pooled = true
			last.ConnectionsClosed, last.ConnectionOverflows = cs.Closed, cs.Overflow
			last.PendingOverflows, last.MaxOpenConnections = cs.PendingOverflow, cs.MaxOpen
		}
		if co.p != nil {
			last := &rep.Sidecars[len(rep.Sidecars)-1]
			last.HealthChecked, last.Unhealthy = true, co.p.intervals(now)
		}
	}
	// Two independent books on each side of the proxies: the origins' in
	// flight against the calls the proxies hold open, and the attempts the
	// proxies wait for against those the instances hold.
	if inFlight != open {
		return nil, fmt.Errorf("%w: %s: workloads count %d in flight, proxies hold %d open", ErrConservation, where, inFlight, open)
	}
	if unanswered != held {
		return nil, fmt.Errorf("%w: %s: proxies wait for %d attempts not on the network, instances hold %d", ErrConservation, where, unanswered, held)
	}
	if w.bus != nil {
		b, err := w.bus.collect(where)
		if err != nil {
			return nil, err
		}
		rep.Bus = b
	}
	return rep, nil
}

// series converts a workload's window series for the results; nil stays
// nil.
func series(s *workload.Series) *results.Series {
	if s == nil {
		return nil
	}
	return &results.Series{Width: s.Width, End: time.Duration(s.End), OK: s.OK, NotOK: s.NotOK, Latency: s.Latency}
}

// progress aggregates per-task fractions into one figure: the sum of the
// fractions of slots tasks over denom, the tasks expected to run.
type progress struct {
	mu    sync.Mutex
	frac  []float64
	denom float64
	total float64
	fn    func(float64)
}

func newProgress(slots, denom int, fn func(float64)) *progress {
	return &progress{frac: make([]float64, slots), denom: float64(max(denom, 1)), fn: fn}
}

func (p *progress) set(i int, f float64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += f - p.frac[i]
	p.frac[i] = f
	p.fn(min(p.total/p.denom, 1))
}

// resultSLO converts the scenario's SLO for the results: bounds in seconds
// and fractions, in the order mean, p50, p90, p99, p999, error_rate.
func resultSLO(o *SLO) *results.SLO {
	if o == nil {
		return nil
	}
	out := &results.SLO{Workload: o.Workload}
	for _, b := range []struct {
		metric string
		d      *Duration
	}{{"mean", o.Mean}, {"p50", o.P50}, {"p90", o.P90}, {"p99", o.P99}, {"p999", o.P999}} {
		if b.d != nil {
			out.Objectives = append(out.Objectives, results.Objective{Metric: b.metric, Max: time.Duration(*b.d).Seconds()})
		}
	}
	if o.ErrorRate != "" {
		out.Objectives = append(out.Objectives, results.Objective{Metric: "error_rate", Max: o.ErrorRateFraction})
	}
	return out
}
