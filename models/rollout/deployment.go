package rollout

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/meshsim/meshsim/sim"
)

// PodID identifies a pod. Ids are assigned in creation order from 0 and
// never reused.
type PodID int

// Pods runs the Deployment's pods. The planner calls it from inside its
// own event handler; the calls must not block and must not call back into
// the Deployment synchronously (report readiness later, from an event).
type Pods interface {
	// StartPod creates pod id running version. It is not ready until the
	// integrator calls PodReady.
	StartPod(id PodID, version int)
	// TerminatePod starts the termination of pod id: the integrator
	// removes it from the endpoints and drains it. The planner no longer
	// counts it.
	TerminatePod(id PodID)
}

// Watcher learns of what the Deployment does, in order. It may be nil.
type Watcher interface {
	RolloutEvent(e Event)
}

// EventKind is what happened.
type EventKind uint8

// The events.
const (
	EvStarted          EventKind = iota + 1 // Start: the first RS
	EvRolloutStarted                        // Rollout: a new RS (NewReplicaSetCreated) or an old one reused
	EvScaled                                // an RS's count changed (ScalingReplicaSet)
	EvComplete                              // every pod new and available (NewReplicaSetAvailable)
	EvProgressDeadline                      // no progress for progress_deadline (ProgressDeadlineExceeded)
)

var eventNames = [...]string{"", "Started", "RolloutStarted", "Scaled", "Complete", "ProgressDeadlineExceeded"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one entry of the Deployment's log.
type Event struct {
	At      sim.Time
	Kind    EventKind
	Version int // the version concerned: the RS scaled, or the new version
	// From and To are the RS's pod count before and after, for EvScaled.
	From, To int
}

// String formats e for logs and goldens.
func (e Event) String() string {
	if e.Kind == EvScaled {
		return fmt.Sprintf("%v %v v%d %d->%d", e.At, e.Kind, e.Version, e.From, e.To)
	}
	return fmt.Sprintf("%v %v v%d", e.At, e.Kind, e.Version)
}

// Status is the Deployment's status: counts of pods that are not
// terminating.
type Status struct {
	Replicas  int // pods of every version (status.replicas)
	Updated   int // pods of the new version (updatedReplicas)
	Ready     int // ready pods (readyReplicas)
	Available int // pods ready for at least min_ready (availableReplicas)
	// Complete: every pod is of the new version and available.
	Complete bool
	// DeadlineExceeded: the current rollout made no progress for
	// progress_deadline (it may still complete later).
	DeadlineExceeded bool
}

// MaxEvents bounds the event log; later events are only counted.
const MaxEvents = 10000

const (
	evSync int32 = iota + 1
	evAvailable
	evDeadline
)

type podState struct {
	rs         int32 // index in d.rsets; -1 once gone
	ready      bool
	available  bool
	readySince sim.Time
	timer      sim.Timer // pending availability
}

type replicaSet struct {
	version int
	spec    int
	pods    []PodID // live pods in creation order
}

// Deployment plans one Deployment's pods. It implements sim.Handler. A
// reconciliation is O(pods log pods) and allocates only for pods it
// creates (their state, once each). A Deployment is not safe for
// concurrent use.
type Deployment struct {
	s        *sim.Scheduler
	cfg      Config
	pods     Pods
	watcher  Watcher
	replicas int
	all      []podState   // by PodID
	rsets    []replicaSet // in creation order; newRS is the new one
	newRS    int
	started  bool
	pending  bool // a sync is scheduled
	last     Status
	progress sim.Time // last progress
	deadline sim.Timer
	exceeded bool
	complete bool
	log      []Event
	logMax   int
	dropped  int64
	scratch  []PodID
}

// New returns a Deployment of cfg.Replicas pods run by pods. Zero fields of
// cfg take the defaults; an invalid cfg returns an error wrapping
// ErrConfig. watcher may be nil. Call Start to create the first pods.
func New(s *sim.Scheduler, cfg Config, pods Pods, watcher Watcher) (*Deployment, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil || pods == nil {
		return nil, fmt.Errorf("%w: nil scheduler or pods", ErrConfig)
	}
	cfg = cfg.WithDefaults()
	return &Deployment{s: s, cfg: cfg, pods: pods, watcher: watcher, replicas: cfg.Replicas, newRS: -1, logMax: MaxEvents}, nil
}

// Config returns the configuration, defaults filled; Replicas is the
// initial count (see Replicas for the current one).
func (d *Deployment) Config() Config { return d.cfg }

// Replicas returns the desired number of pods.
func (d *Deployment) Replicas() int { return d.replicas }

// Start creates the first ReplicaSet, of version, and reconciles now: all
// its pods start at once. Starting twice panics.
func (d *Deployment) Start(version int) {
	if d.started {
		panic("rollout: Start called twice")
	}
	d.started = true
	d.rsets = append(d.rsets, replicaSet{version: version})
	d.newRS = 0
	d.emit(Event{At: d.s.Now(), Kind: EvStarted, Version: version})
	d.beginProgress()
	d.reconcile()
}

// Rollout makes version the new version and reconciles now. If an old
// ReplicaSet runs version it becomes the new one again (a rollback reuses
// its RS); rolling to the current version does nothing.
func (d *Deployment) Rollout(version int) {
	if !d.started {
		panic("rollout: Rollout before Start")
	}
	if d.rsets[d.newRS].version == version {
		return
	}
	idx := slices.IndexFunc(d.rsets, func(rs replicaSet) bool { return rs.version == version })
	if idx >= 0 {
		// Move it to the end: it is now the newest, and the others stay
		// oldest first.
		rs := d.rsets[idx]
		d.rsets = append(slices.Delete(d.rsets, idx, idx+1), rs)
	} else {
		d.rsets = append(d.rsets, replicaSet{version: version})
	}
	d.newRS = len(d.rsets) - 1
	d.reindex()
	d.complete, d.exceeded = false, false
	d.emit(Event{At: d.s.Now(), Kind: EvRolloutStarted, Version: version})
	d.beginProgress()
	d.reconcile()
}

// SetStrategy replaces the rolling-update strategy (cfg's MaxSurge,
// MaxUnavailable, MinReady and ProgressDeadline; its Replicas is ignored),
// as a kubectl apply that changes spec.strategy along with the template
// does. It takes effect at the next reconciliation, so call it before
// Rollout. An invalid strategy returns an error wrapping ErrConfig and
// changes nothing.
func (d *Deployment) SetStrategy(cfg Config) error {
	cfg.Replicas = d.replicas
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	cfg.Replicas = d.cfg.Replicas
	d.cfg = cfg
	return nil
}

// reindex points every live pod at its RS's current index.
func (d *Deployment) reindex() {
	for i := range d.rsets {
		for _, id := range d.rsets[i].pods {
			d.all[id].rs = int32(i)
		}
	}
}

// SetReplicas changes the desired number of pods and reconciles now. It
// makes Deployment an autoscale.Scaler.
func (d *Deployment) SetReplicas(n int) {
	if n < 0 || n > MaxReplicas {
		panic(fmt.Sprintf("rollout: SetReplicas(%d) out of [0, %d]", n, MaxReplicas))
	}
	d.replicas = n
	d.trigger()
}

// PodReady reports that pod id passed its readiness probe. Reports about
// pods the planner no longer counts are ignored.
func (d *Deployment) PodReady(id PodID) {
	p := d.pod(id)
	if p == nil || p.ready {
		return
	}
	p.ready, p.readySince = true, d.s.Now()
	if d.cfg.MinReady == 0 {
		p.available = true
	} else {
		p.timer = d.s.After(d.cfg.MinReady, d, sim.Event{Kind: evAvailable, Arg: int64(id)})
	}
	d.trigger()
}

// PodNotReady reports that pod id failed its readiness probe.
func (d *Deployment) PodNotReady(id PodID) {
	p := d.pod(id)
	if p == nil || !p.ready {
		return
	}
	d.s.Cancel(p.timer)
	p.ready, p.available, p.timer = false, false, sim.Timer{}
	d.trigger()
}

// PodFailed reports that pod id died (crash, eviction): the planner stops
// counting it without calling TerminatePod, and its RS replaces it.
func (d *Deployment) PodFailed(id PodID) {
	p := d.pod(id)
	if p == nil {
		return
	}
	d.s.Cancel(p.timer)
	rs := &d.rsets[p.rs]
	rs.pods = slices.DeleteFunc(rs.pods, func(x PodID) bool { return x == id })
	*p = podState{rs: -1}
	d.trigger()
}

func (d *Deployment) pod(id PodID) *podState {
	if id < 0 || int(id) >= len(d.all) || d.all[id].rs < 0 {
		return nil
	}
	return &d.all[id]
}

// Status returns the current counts.
func (d *Deployment) Status() Status {
	var st Status
	for i := range d.rsets {
		for _, id := range d.rsets[i].pods {
			p := &d.all[id]
			st.Replicas++
			if i == d.newRS {
				st.Updated++
			}
			if p.ready {
				st.Ready++
			}
			if p.available {
				st.Available++
			}
		}
	}
	st.Complete, st.DeadlineExceeded = d.complete, d.exceeded
	return st
}

// Versions returns the live pods per version, in RS creation order (the
// new version last), as (version, pods) pairs appended to dst.
func (d *Deployment) Versions(dst [][2]int) [][2]int {
	for _, rs := range d.rsets {
		dst = append(dst, [2]int{rs.version, len(rs.pods)})
	}
	return dst
}

// Events returns the log, at most MaxEvents entries. The slice is the
// Deployment's; do not modify it.
func (d *Deployment) Events() []Event { return d.log }

// Handle runs the planner's events. It implements sim.Handler.
func (d *Deployment) Handle(ev sim.Event) {
	switch ev.Kind {
	case evSync:
		d.pending = false
		d.reconcile()
	case evAvailable:
		p := &d.all[ev.Arg]
		p.timer = sim.Timer{}
		p.available = true
		d.reconcile()
	case evDeadline:
		d.deadline = sim.Timer{}
		d.checkDeadline()
	default:
		panic(fmt.Sprintf("rollout: unknown event kind %d at %v", ev.Kind, d.s.Now()))
	}
}

// trigger schedules a reconciliation now, once, after the current event:
// several reports in one instant make one sync, like a controller's
// work queue.
func (d *Deployment) trigger() {
	if d.pending || !d.started {
		return
	}
	d.pending = true
	d.s.After(0, d, sim.Event{Kind: evSync})
}

// reconcile is rolloutRolling plus the ReplicaSet controller, repeated
// until nothing changes, then the status update.
func (d *Deployment) reconcile() {
	for i := 0; ; i++ {
		if i > 4*MaxReplicas {
			panic(fmt.Sprintf("rollout: reconcile does not converge at %v", d.s.Now()))
		}
		up := d.reconcileNew()
		down := d.reconcileOld()
		for j := range d.rsets {
			d.fill(j) // replace failed pods
		}
		if !up && !down {
			break
		}
	}
	d.updateStatus()
}

// reconcileNew is reconcileNewReplicaSet with NewRSNewReplicas.
func (d *Deployment) reconcileNew() bool {
	rs := &d.rsets[d.newRS]
	want := rs.spec
	switch {
	case rs.spec > d.replicas:
		want = d.replicas
	case rs.spec < d.replicas:
		surge, _ := d.cfg.fenceposts(d.replicas)
		total := d.totalSpec()
		if maxTotal := d.replicas + surge; total < maxTotal {
			want = rs.spec + min(maxTotal-total, d.replicas-rs.spec)
		}
	}
	return d.scale(d.newRS, want)
}

// reconcileOld is reconcileOldReplicaSets, cleanupUnhealthyReplicas and
// scaleDownOldReplicaSetsForRollingUpdate.
func (d *Deployment) reconcileOld() bool {
	old := d.totalSpec() - d.rsets[d.newRS].spec
	if old == 0 {
		return false
	}
	_, unavail := d.cfg.fenceposts(d.replicas)
	minAvailable := d.replicas - unavail
	newRS := &d.rsets[d.newRS]
	newUnavailable := newRS.spec - d.available(d.newRS)
	maxScaledDown := d.totalSpec() - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false
	}
	changed := false
	cleaned := 0
	for i := range d.rsets {
		if i == d.newRS {
			continue
		}
		if cleaned >= maxScaledDown {
			break
		}
		rs := &d.rsets[i]
		avail := d.available(i)
		if rs.spec == 0 || rs.spec == avail {
			continue
		}
		n := min(maxScaledDown-cleaned, rs.spec-avail)
		cleaned += n
		changed = d.scale(i, rs.spec-n) || changed
	}
	availableAll := 0
	for i := range d.rsets {
		availableAll += d.available(i)
	}
	if availableAll <= minAvailable {
		return changed
	}
	budget := availableAll - minAvailable
	scaled := 0
	for i := range d.rsets {
		if i == d.newRS {
			continue
		}
		if scaled >= budget {
			break
		}
		rs := &d.rsets[i]
		if rs.spec == 0 {
			continue
		}
		n := min(rs.spec, budget-scaled)
		scaled += n
		changed = d.scale(i, rs.spec-n) || changed
	}
	return changed
}

func (d *Deployment) totalSpec() int {
	n := 0
	for i := range d.rsets {
		n += d.rsets[i].spec
	}
	return n
}

func (d *Deployment) available(rs int) int {
	n := 0
	for _, id := range d.rsets[rs].pods {
		if d.all[id].available {
			n++
		}
	}
	return n
}

// scale sets RS i's count to want and creates or deletes pods to match. It
// reports whether the count changed.
func (d *Deployment) scale(i, want int) bool {
	rs := &d.rsets[i]
	if rs.spec == want {
		return false
	}
	d.emit(Event{At: d.s.Now(), Kind: EvScaled, Version: rs.version, From: rs.spec, To: want})
	rs.spec = want
	d.fill(i)
	return true
}

// fill creates or deletes RS i's pods to match its count, as the
// ReplicaSet controller does.
func (d *Deployment) fill(i int) {
	rs := &d.rsets[i]
	want := rs.spec
	for len(rs.pods) < want {
		id := PodID(len(d.all))
		d.all = append(d.all, podState{rs: int32(i)})
		rs.pods = append(rs.pods, id)
		d.pods.StartPod(id, rs.version)
	}
	if excess := len(rs.pods) - want; excess > 0 {
		// ActivePodsWithRanks: not ready first, then ready for the
		// shortest time, then newest; the id breaks every tie.
		victims := append(d.scratch[:0], rs.pods...)
		slices.SortFunc(victims, func(a, b PodID) int {
			pa, pb := &d.all[a], &d.all[b]
			if pa.ready != pb.ready {
				if !pa.ready {
					return -1
				}
				return 1
			}
			if pa.ready && pa.readySince != pb.readySince {
				if pa.readySince > pb.readySince {
					return -1
				}
				return 1
			}
			return int(b - a)
		})
		victims = victims[:excess]
		d.scratch = victims
		for _, id := range victims {
			p := &d.all[id]
			d.s.Cancel(p.timer)
			*p = podState{rs: -1}
		}
		rs.pods = slices.DeleteFunc(rs.pods, func(x PodID) bool { return d.all[x].rs < 0 })
		for _, id := range victims {
			d.pods.TerminatePod(id)
		}
	}
}

// updateStatus records progress, completion and arms the deadline.
func (d *Deployment) updateStatus() {
	st := d.Status()
	prev := d.last
	if st.Updated > prev.Updated || st.Replicas-st.Updated < prev.Replicas-prev.Updated ||
		st.Ready > prev.Ready || st.Available > prev.Available {
		d.progress = d.s.Now()
	}
	d.last = st
	if !d.complete && st.Updated == d.replicas && st.Replicas == d.replicas && st.Available == d.replicas {
		d.complete = true
		d.s.Cancel(d.deadline)
		d.deadline = sim.Timer{}
		d.emit(Event{At: d.s.Now(), Kind: EvComplete, Version: d.rsets[d.newRS].version})
	}
}

// beginProgress starts a rollout's progress clock and deadline timer.
func (d *Deployment) beginProgress() {
	d.progress = d.s.Now()
	d.s.Cancel(d.deadline)
	d.deadline = d.s.After(d.cfg.ProgressDeadline, d, sim.Event{Kind: evDeadline})
}

// checkDeadline is DeploymentTimedOut: the timer is lazy, rescheduled to
// the deadline of the last progress instead of on every progress.
func (d *Deployment) checkDeadline() {
	if d.complete || d.exceeded {
		return
	}
	due := d.progress.Add(d.cfg.ProgressDeadline)
	if d.s.Now() < due {
		d.deadline = d.s.Schedule(due, d, sim.Event{Kind: evDeadline})
		return
	}
	d.exceeded = true
	d.emit(Event{At: d.s.Now(), Kind: EvProgressDeadline, Version: d.rsets[d.newRS].version})
}

func (d *Deployment) emit(e Event) {
	if len(d.log) < d.logMax {
		d.log = append(d.log, e)
	} else {
		d.dropped++
	}
	if d.watcher != nil {
		d.watcher.RolloutEvent(e)
	}
}
