package scenarios

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/autoscale"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/rollout"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim"
)

// A fleet runs the pods of one service that scales or rolls out: a
// Kubernetes Deployment (models/rollout) over a pool of instances created
// at build time, driven by its deploys and, if the service has one, its
// autoscaler (models/autoscale).
//
// The pool is the service's capacity for pods: max(replicas,
// max_replicas) instances, plus the largest max_surge of its deploys
// (resolved against that count), numbered after the first replicas. An
// instance of the pool is free (down and unregistered), starting (up, not
// yet ready), ready (registered) or draining (deregistered, finishing the
// requests it holds). A pod the Deployment starts takes the free instance
// with the lowest index; if none is free (draining pods still hold them)
// it is Pending, as a pod that fits on no node, until one is. Each
// instance keeps its own random streams whatever pod runs on it, so
// variants see the same service times (common random numbers).
//
// A new pod is ready, and registered, readiness_delay after it starts. A
// pod the Deployment removes is deregistered at once and drains: it keeps
// serving what reaches it (proxies learn of the change after the
// discovery delay) and stops as soon as it holds no request; what it
// still holds after termination_grace_period is lost, as the kubelet
// kills it. A stopped instance refuses connections until a new pod takes
// it.
type fleet struct {
	w        *world
	cp       *controlPlane
	svc      int
	service  *mesh.Service
	versions []mesh.Version
	names    []string // version names: v0 is the service's own
	ready    time.Duration
	grace    time.Duration
	dep      *rollout.Deployment
	hpa      *autoscale.Autoscaler
	metric   autoscale.MetricType
	slots    []slot
	podSlot  []int32 // by PodID: the instance, or -1 while pending or gone
	pending  []pendingPod
	series   *podSeries
	deploys  []fleetDeploy
	rollouts []results.Deploy // deploy intervals, in start order
	// onChange, when set (tests), is called after every change of the
	// pods.
	onChange func(f *fleet)
}

// slotState is what a pool instance is doing.
type slotState uint8

const (
	slotFree slotState = iota
	slotStarting
	slotReady
	slotDraining
)

// slot is one instance of the pool.
type slot struct {
	state   slotState
	pod     rollout.PodID
	version int
	crashed bool // a crash failure took the pod's process down
	timer   sim.Timer
	// The utilisation reading at the last sync (or since the pod became
	// ready): the instance's busy slot-ns and the time.
	busy int64
	at   sim.Time
}

type pendingPod struct {
	id      rollout.PodID
	version int
}

// fleetDeploy is one scheduled deploy.
type fleetDeploy struct {
	at       sim.Time
	version  int
	strategy rollout.Config
}

// The fleet's event kinds.
const (
	evPodReady int32 = iota + 1 // Arg: the slot
	evPodGrace                  // Arg: the slot; the grace period ended
	evDeploy                    // Arg: the index in deploys
)

// needsFleet reports whether service i of sc has pods that come and go.
func needsFleet(sc *Scenario, i int) bool {
	if sc.Services[i].Autoscale != nil {
		return true
	}
	for _, d := range sc.Deploys {
		if d.Service == sc.Services[i].Name {
			return true
		}
	}
	return false
}

// poolSize returns the instances a service needs: see fleet.
func poolSize(sc *Scenario, i int) int {
	svc := sc.Services[i]
	n := svc.Replicas
	if a := svc.Autoscale; a != nil {
		n = max(n, a.MaxReplicas)
	}
	surge := 0
	found := false
	for _, d := range sc.Deploys {
		if d.Service != svc.Name {
			continue
		}
		found = true
		surge = max(surge, d.strategy().WithDefaults().MaxSurge.Scaled(n, true)) // surge rounds up
	}
	if !found {
		return n
	}
	return n + surge
}

// versionsOf returns service i's versions: its own (v0), then one per
// deploy of it that names a new version, in scenario order; and, for each
// deploy of the service, the index of the version it rolls to. A deploy
// that names an earlier version rolls back to it.
func versionsOf(sc *Scenario, i int, base mesh.Version) ([]mesh.Version, []string, []int, error) {
	svc := sc.Services[i]
	vs, names := []mesh.Version{base}, []string{"v0"}
	var to []int
	for k, d := range sc.Deploys {
		if d.Service != svc.Name {
			continue
		}
		if old := slices.Index(names, d.Version.Name); old >= 0 {
			to = append(to, old)
			continue
		}
		v := base
		if d.Version.ServiceTime != nil {
			st, err := d.Version.ServiceTime.Build()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("scenario: deploys[%d].version.service_time: %w", k, err)
			}
			v.ServiceTime = st
		}
		if e := d.Version.Errors; e != nil {
			v.ErrorProb, v.ErrorOutcome = e.Probability, statusOutcome(e.Status)
		}
		if d.Version.Latency != nil {
			l, err := d.Version.Latency.Build()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("scenario: deploys[%d].version.latency: %w", k, err)
			}
			v.Extra = l
		}
		name := d.Version.Name
		if name == "" {
			name = fmt.Sprintf("v%d", len(vs))
		}
		to = append(to, len(vs))
		vs, names = append(vs, v), append(names, name)
	}
	return vs, names, to, nil
}

// newFleet builds service i's Deployment and autoscaler and starts its
// first replicas pods, ready and registered at once (the run starts in a
// steady state). The control plane must exist and have registered
// nothing of the service yet.
func newFleet(w *world, sc *Scenario, i int, base mesh.Version) (*fleet, error) {
	spec := sc.Services[i]
	svc := w.services[i]
	vs, names, to, err := versionsOf(sc, i, base)
	if err != nil {
		return nil, err
	}
	f := &fleet{
		w: w, cp: w.cp, svc: i, service: svc, versions: vs, names: names,
		ready: time.Duration(spec.ReadinessDelay), grace: time.Duration(spec.TerminationGracePeriod),
		slots: make([]slot, len(svc.Instances())),
	}
	for _, in := range svc.Instances() {
		in.Track()
	}
	window := time.Duration(sc.Timeline.Window)
	if window == 0 {
		window = DefaultWindow(time.Duration(sc.Duration))
	}
	f.series = newPodSeries(window, w.until, len(vs))
	f.dep, err = rollout.New(w.s, rollout.Config{Replicas: spec.Replicas}, f, f)
	if err != nil {
		return nil, fmt.Errorf("scenario: service %s: %w", spec.Name, err)
	}
	if a := spec.Autoscale; a != nil {
		cfg := a.config()
		f.metric = cfg.WithDefaults().Metric
		if f.hpa, err = autoscale.New(w.s, cfg, f, f); err != nil {
			return nil, fmt.Errorf("scenario: service %s: autoscale: %w", spec.Name, err)
		}
	}
	for _, d := range sc.Deploys {
		if d.Service == spec.Name {
			f.deploys = append(f.deploys, fleetDeploy{at: sim.Time(d.At), version: to[len(f.deploys)], strategy: d.strategy()})
		}
	}
	// The first pods: started, ready and registered before the run.
	f.dep.Start(0)
	for k := range f.slots {
		if f.slots[k].state == slotStarting {
			f.s().Cancel(f.slots[k].timer)
			f.becomeReady(k)
		}
	}
	return f, nil
}

func (f *fleet) s() *sim.Scheduler { return f.w.s }

// start schedules the deploys and starts the autoscaler.
func (f *fleet) start() {
	for k, d := range f.deploys {
		f.s().Schedule(d.at, f, sim.Event{Kind: evDeploy, Arg: int64(k)})
	}
	if f.hpa != nil {
		f.hpa.Start()
	}
}

// StartPod runs pod id of version on the lowest free instance, or leaves
// it pending. It implements rollout.Pods.
func (f *fleet) StartPod(id rollout.PodID, version int) {
	for int(id) >= len(f.podSlot) {
		f.podSlot = append(f.podSlot, -1)
	}
	k := slices.IndexFunc(f.slots, func(s slot) bool { return s.state == slotFree })
	if k < 0 {
		f.pending = append(f.pending, pendingPod{id, version})
		return
	}
	f.place(k, id, version)
}

// place starts pod id on instance k.
func (f *fleet) place(k int, id rollout.PodID, version int) {
	in := f.service.Instances()[k]
	sl := &f.slots[k]
	*sl = slot{state: slotStarting, pod: id, version: version}
	f.podSlot[id] = int32(k)
	in.SetVersion(f.versions[version])
	in.Restart()
	sl.timer = f.s().After(f.ready, f, sim.Event{Kind: evPodReady, Arg: int64(k)})
	f.changed()
}

// becomeReady registers instance k: its readiness probe passed.
func (f *fleet) becomeReady(k int) {
	sl := &f.slots[k]
	sl.state, sl.timer = slotReady, sim.Timer{}
	sl.busy, sl.at = f.service.Instances()[k].BusyNs(), f.s().Now()
	f.cp.reg.Register(f.svc, k)
	f.dep.PodReady(sl.pod)
	f.changed()
}

// TerminatePod deregisters pod id and drains it. It implements
// rollout.Pods.
func (f *fleet) TerminatePod(id rollout.PodID) {
	k := int(f.podSlot[id])
	f.podSlot[id] = -1
	if k < 0 {
		f.pending = slices.DeleteFunc(f.pending, func(p pendingPod) bool { return p.id == id })
		return
	}
	sl := &f.slots[k]
	in := f.service.Instances()[k]
	f.s().Cancel(sl.timer)
	sl.timer = sim.Timer{}
	f.cp.reg.Deregister(f.svc, k)
	if in.State() == mesh.StateDown || in.Held() == 0 {
		f.stop(k)
		return
	}
	sl.state = slotDraining
	in.WatchIdle(f)
	sl.timer = f.s().After(f.grace, f, sim.Event{Kind: evPodGrace, Arg: int64(k)})
	f.changed()
}

// Idle stops a draining pod that has answered its last request. It
// implements mesh.IdleWatcher.
func (f *fleet) Idle(in *mesh.Instance) {
	k := in.Index()
	if f.slots[k].state == slotDraining {
		f.stop(k)
	}
}

// stop ends the pod on instance k (killing what it still holds) and gives
// the instance to the first pending pod, if any.
func (f *fleet) stop(k int) {
	in := f.service.Instances()[k]
	in.WatchIdle(nil)
	f.s().Cancel(f.slots[k].timer)
	in.Crash() // an idle instance loses nothing
	f.slots[k] = slot{}
	if len(f.pending) > 0 {
		p := f.pending[0]
		f.pending = slices.Delete(f.pending, 0, 1)
		f.place(k, p.id, p.version)
		return
	}
	f.changed()
}

// Handle runs the fleet's timers. It implements sim.Handler.
func (f *fleet) Handle(ev sim.Event) {
	switch ev.Kind {
	case evPodReady:
		f.becomeReady(int(ev.Arg))
	case evPodGrace:
		k := int(ev.Arg)
		f.slots[k].timer = sim.Timer{}
		f.stop(k)
	case evDeploy:
		d := f.deploys[ev.Arg]
		if err := f.dep.SetStrategy(d.strategy); err != nil {
			panic(fmt.Sprintf("scenario: service %s: deploy %d: %v", f.service.Name(), ev.Arg, err)) // validated
		}
		f.dep.Rollout(d.version)
	default:
		panic(fmt.Sprintf("scenario: fleet %s: unknown event kind %d", f.service.Name(), ev.Kind))
	}
}

// RolloutEvent records the deploys as intervals. It implements
// rollout.Watcher.
func (f *fleet) RolloutEvent(e rollout.Event) {
	switch e.Kind {
	case rollout.EvRolloutStarted:
		if n := len(f.rollouts); n > 0 && f.rollouts[n-1].To < 0 {
			f.rollouts[n-1].To = time.Duration(e.At) // superseded (a rollback) before it completed
		}
		f.rollouts = append(f.rollouts, results.Deploy{Target: f.service.Name() + " " + f.names[e.Version], From: time.Duration(e.At), To: -1})
	case rollout.EvComplete:
		if n := len(f.rollouts); n > 0 && f.rollouts[n-1].To < 0 {
			f.rollouts[n-1].To, f.rollouts[n-1].Completed = time.Duration(e.At), true
		}
	case rollout.EvScaled:
		f.changed() // the spec replicas may have changed
	}
}

// Observe reads the pods for the autoscaler. It implements
// autoscale.Metrics.
func (f *fleet) Observe() autoscale.Observation {
	obs := autoscale.Observation{Replicas: f.dep.Replicas(), Unready: len(f.pending)}
	now := f.s().Now()
	conc := int64(f.service.Concurrency())
	for k := range f.slots {
		sl := &f.slots[k]
		switch {
		case sl.state == slotStarting || (sl.state == slotReady && sl.crashed):
			obs.Unready++
		case sl.state == slotReady:
			in := f.service.Instances()[k]
			obs.Ready++
			if f.metric == autoscale.AverageValue {
				obs.Usage += int64(in.Held()) * 1000
				continue
			}
			busy := in.BusyNs()
			if span := int64(now - sl.at); span > 0 {
				obs.Usage += (busy - sl.busy) * 1000 / (span * conc)
			}
			sl.busy, sl.at = busy, now
		}
	}
	return obs
}

// SetReplicas passes the autoscaler's decision to the Deployment. It
// implements autoscale.Scaler.
func (f *fleet) SetReplicas(n int) {
	f.dep.SetReplicas(n)
	f.changed()
}

// crash takes the pod on instance k down (a crash failure): it is
// deregistered and not ready until it restarts.
func (f *fleet) crash(k int) {
	sl := &f.slots[k]
	in := f.service.Instances()[k]
	switch sl.state {
	case slotFree:
		return
	case slotDraining:
		f.stop(k)
		return
	}
	if sl.crashed {
		return
	}
	f.s().Cancel(sl.timer)
	sl.timer, sl.crashed = sim.Timer{}, true
	in.Crash()
	f.cp.reg.Deregister(f.svc, k)
	f.dep.PodNotReady(sl.pod)
	f.changed()
}

// restart restarts a crashed pod in place (the kubelet restarts the
// container); it is ready after the readiness delay.
func (f *fleet) restart(k int) {
	sl := &f.slots[k]
	if !sl.crashed {
		return
	}
	sl.crashed, sl.state = false, slotStarting
	f.service.Instances()[k].Restart()
	sl.timer = f.s().After(f.ready, f, sim.Event{Kind: evPodReady, Arg: int64(k)})
	f.changed()
}

// counts returns the pods by state now: spec replicas, running (up:
// starting, ready or draining), ready (registered), and running per
// version into perVersion.
func (f *fleet) counts(perVersion []int) (spec, running, ready int) {
	clear(perVersion)
	for _, sl := range f.slots {
		if sl.state == slotFree || sl.crashed {
			continue
		}
		running++
		perVersion[sl.version]++
		if sl.state == slotReady {
			ready++
		}
	}
	return f.dep.Replicas(), running, ready
}

// changed records the pods' counts in the series and calls the test hook.
func (f *fleet) changed() {
	f.series.set(f.s().Now(), f)
	if f.onChange != nil {
		f.onChange(f)
	}
}

// fleetPod is one instance of a fleet as a crash failure sees it.
type fleetPod struct {
	f *fleet
	k int
}

func (p fleetPod) Down() { p.f.crash(p.k) }
func (p fleetPod) Up()   { p.f.restart(p.k) }

// collect returns the fleet's results.
func (f *fleet) collect(now sim.Time) results.Fleet {
	f.series.set(now, f) // closes the last step
	out := results.Fleet{
		Service: f.service.Name(), Width: f.series.width, End: time.Duration(f.series.end),
		Spec: f.series.mean(0), Running: f.series.mean(1), Ready: f.series.mean(2),
	}
	for v, name := range f.names {
		out.Versions = append(out.Versions, results.VersionSeries{Name: name, Running: f.series.mean(3 + v)})
	}
	if f.hpa != nil {
		out.Autoscaled = true
		for _, d := range f.hpa.Decisions() {
			out.Decisions = append(out.Decisions, results.Decision{
				At: time.Duration(d.At), Current: d.Current, Ready: d.Ready, Unready: d.Unready, Metric: d.Metric,
				Proposal: d.Proposal, Stabilized: d.Stabilized, Desired: d.Desired, Reason: d.Reason.String(),
			})
		}
	}
	for _, r := range f.rollouts {
		if r.To < 0 {
			r.To = time.Duration(now) // still rolling out at the end
		}
		out.Deploys = append(out.Deploys, r)
	}
	return out
}

// podSeries integrates the fleet's counts per window: series 0 is the
// spec replicas, 1 the running pods, 2 the ready pods, 3+v the running
// pods of version v. Sums are integers (count x ns), so the means do not
// depend on the order of the changes; memory is O(windows x series).
type podSeries struct {
	width   time.Duration
	end     sim.Time
	last    sim.Time
	cur     []int
	sums    [][]int64
	scratch []int
}

func newPodSeries(width time.Duration, end sim.Time, versions int) *podSeries {
	n := max(int((time.Duration(end)+width-1)/width), 1)
	ps := &podSeries{width: width, end: end, cur: make([]int, 3+versions), scratch: make([]int, versions)}
	ps.sums = make([][]int64, 3+versions)
	for i := range ps.sums {
		ps.sums[i] = make([]int64, n)
	}
	return ps
}

// set integrates the current counts up to now and takes f's new counts.
func (ps *podSeries) set(now sim.Time, f *fleet) {
	now = min(now, ps.end)
	for t := ps.last; t < now; {
		k := int(time.Duration(t) / ps.width)
		next := min(sim.Time(time.Duration(k+1)*ps.width), now)
		for i, c := range ps.cur {
			ps.sums[i][k] += int64(c) * int64(next-t)
		}
		t = next
	}
	ps.last = max(ps.last, now)
	ps.cur[0], ps.cur[1], ps.cur[2] = f.counts(ps.scratch)
	copy(ps.cur[3:], ps.scratch)
}

// mean returns series i's time-weighted mean per window.
func (ps *podSeries) mean(i int) []float64 {
	out := make([]float64, len(ps.sums[i]))
	for k, s := range ps.sums[i] {
		from := time.Duration(k) * ps.width
		w := min(ps.width, time.Duration(ps.end)-from)
		if w > 0 {
			out[k] = float64(s) / float64(w)
		}
	}
	return out
}
