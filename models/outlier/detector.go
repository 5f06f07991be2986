package outlier

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Result is what one attempt to a host came back as, in the terms of
// Envoy's non-split mode (split_external_local_origin_errors false, the
// default), where every result is reduced to an HTTP status.
type Result uint8

// The results a proxy records.
const (
	// Success is any answer that is not a 5xx (4xx included).
	Success Result = iota
	// Error5xx is a 5xx that is not a gateway failure, such as a 500 from
	// the upstream's application. It counts toward consecutive_5xx and
	// resets the consecutive gateway-failure count.
	Error5xx
	// GatewayFailure is a 502, 503 or 504 answer, for example the 503 of an
	// upstream whose queue is full. It counts toward both consecutive_5xx
	// and consecutive_gateway_failure.
	GatewayFailure
	// LocalOriginFailure is a failure the proxy saw itself: a timeout, a
	// reset or a connection failure. Envoy's non-split mode maps a timeout
	// to 504 and a connection failure or reset to 503
	// (DetectorHostMonitorImpl::resultToHttpCode), both gateway codes, so
	// it counts exactly as GatewayFailure does: toward consecutive_5xx and
	// consecutive_gateway_failure, and as a failure for success rate.
	LocalOriginFailure
	numResults
)

var resultNames = [numResults]string{"success", "5xx", "gateway_failure", "local_origin_failure"}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Ejection is one ejection of a host, for timelines. To is sim.MaxTime while
// the ejection lasts.
type Ejection struct {
	Host     int
	Kind     Kind
	From, To sim.Time
}

// Ongoing reports whether the host was still ejected when the record was
// read.
func (e Ejection) Ongoing() bool { return e.To == sim.MaxTime }

// MaxIntervals bounds the ejection history a Detector keeps: the first
// MaxIntervals ejections are kept and later ones only counted
// (Stats.IntervalsDropped), so memory does not grow with the run.
const MaxIntervals = 10000

// Stats counts what a detector did, with Envoy's stat names
// (outlier_detection.*).
type Stats struct {
	// Detected counts detections by kind, enforced or not
	// (ejections_detected_<kind>). A consecutive detection of a host that
	// is already ejected is not counted (Envoy drops it); a host flagged by
	// both success rate and failure percentage in one sweep counts in both.
	Detected [NumKinds]int64
	// Enforced counts ejections by kind (ejections_enforced_<kind>); their
	// sum is ejections_enforced_total.
	Enforced [NumKinds]int64
	// Overflow counts detections refused by max_ejection_percent
	// (ejections_overflow), before any enforcement roll, so detections of
	// unenforced detectors are counted too, as in Envoy.
	Overflow int64
	// Unejections counts hosts returned to service.
	Unejections int64
	// Active is the number of hosts ejected now (ejections_active).
	Active int
	// HostEjections counts enforced ejections per host, in host order.
	HostEjections []int64
	// SuccessRateMean and SuccessRateThreshold are the cluster's mean
	// success rate and ejection threshold, in percent, from the last
	// interval; -1 when success-rate detection did not run (too few hosts
	// with the request volume). Envoy shows them on /clusters.
	SuccessRateMean      float64
	SuccessRateThreshold float64
	// IntervalsDropped counts ejections left out of Intervals because the
	// history was full.
	IntervalsDropped int64
}

// EnforcedTotal returns the ejections of every kind
// (ejections_enforced_total).
func (s Stats) EnforcedTotal() int64 {
	var n int64
	for _, v := range s.Enforced {
		n += v
	}
	return n
}

// evInterval is the kind of the interval timer's event, the only event a
// Detector schedules.
const evInterval int32 = 1

// bucket is one interval's answers from one host.
type bucket struct {
	total, success int64
}

// hostState is the detector's record of one host (Envoy's
// DetectorHostMonitorImpl).
type hostState struct {
	cons5xx int64 // consecutive 5xx, gateway failures included
	consGw  int64 // consecutive gateway failures
	// k is Envoy's ejectTimeBackoff: the ejection lasts min(base*k, max).
	k           int64
	ejected     bool
	unejected   bool // has been unejected at least once (lastUneject is valid)
	lastEject   sim.Time
	lastUneject sim.Time
	jitter      time.Duration
	cur, prev   bucket // Record writes cur; the interval moves it to prev and reads prev
	hist        int32  // index in Detector.hist of the open ejection, -1 if not recorded
}

// Detector is Envoy's outlier detector for one cluster: one proxy's view of
// one upstream service, hosts numbered 0..n-1 in stable order. It
// implements sim.Handler for its interval timer.
//
// Record runs the consecutive detectors inline and is O(1); the interval
// sweep is O(n). Neither allocates once the ejection history is full or
// not growing. A Detector is not safe for concurrent use.
type Detector struct {
	s   *sim.Scheduler
	rnd *sim.Rand
	cfg Config // with defaults filled

	th5xx, thGw   int64         // consecutive thresholds; 0 when the detector is disabled
	enforce       [NumKinds]int // enforcement percentages
	hosts         []hostState   // in host order
	hostEjections []int64       // enforced ejections per host
	srHosts       []int32       // scratch: hosts with the success-rate volume
	fpHosts       []int32       // scratch: hosts with the failure-percentage volume
	rate          []float64     // scratch: each host's success rate in percent, by host
	active        int           // hosts ejected now
	version       uint64        // incremented whenever the ejected set changes
	stats         Stats         // counters; HostEjections and Active live apart
	hist          []Ejection    // first histLimit ejections
	histLimit     int           // MaxIntervals; lowered by tests
	timer         sim.Timer     // the pending interval tick
}

// New returns a detector for hosts hosts under cfg. Zero fields of cfg take
// Envoy's defaults (Config.WithDefaults); an invalid cfg returns an error
// wrapping ErrConfig. Enforcement rolls and ejection jitter draw from rnd,
// the detector's own stream. Call Start to run the interval sweep.
func New(s *sim.Scheduler, rnd *sim.Rand, hosts int, cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil || rnd == nil {
		return nil, fmt.Errorf("%w: nil scheduler or random stream", ErrConfig)
	}
	if hosts < 0 {
		return nil, fmt.Errorf("%w: hosts must be >= 0, got %d", ErrConfig, hosts)
	}
	cfg = cfg.WithDefaults()
	d := &Detector{
		s:             s,
		rnd:           rnd,
		cfg:           cfg,
		hosts:         make([]hostState, hosts),
		hostEjections: make([]int64, hosts),
		srHosts:       make([]int32, 0, hosts),
		fpHosts:       make([]int32, 0, hosts),
		rate:          make([]float64, hosts),
		histLimit:     MaxIntervals,
	}
	for i := range d.hosts {
		d.hosts[i].hist = -1
	}
	if !cfg.Disabled.Has(KindConsecutive5xx) {
		d.th5xx = int64(cfg.Consecutive5xx)
	}
	if !cfg.Disabled.Has(KindConsecutiveGatewayFailure) {
		d.thGw = int64(cfg.ConsecutiveGatewayFailure)
	}
	d.enforce[KindConsecutive5xx] = cfg.EnforcingConsecutive5xx.Or(0)
	d.enforce[KindConsecutiveGatewayFailure] = cfg.EnforcingConsecutiveGatewayFailure.Or(0)
	d.enforce[KindSuccessRate] = cfg.EnforcingSuccessRate.Or(0)
	d.enforce[KindFailurePercentage] = cfg.EnforcingFailurePercentage.Or(0)
	d.stats.SuccessRateMean, d.stats.SuccessRateThreshold = -1, -1
	return d, nil
}

// Config returns the configuration the detector runs, defaults filled.
func (d *Detector) Config() Config { return d.cfg }

// Start schedules the first interval sweep at now+Interval; each sweep
// schedules the next. Starting a started detector does nothing.
func (d *Detector) Start() {
	if d.s.Scheduled(d.timer) {
		return
	}
	d.timer = d.s.After(d.cfg.Interval, d, sim.Event{Kind: evInterval})
}

// Stop cancels the pending interval sweep; ejected hosts then stay ejected
// until Start.
func (d *Detector) Stop() {
	d.s.Cancel(d.timer)
	d.timer = sim.Timer{}
}

// Ejected reports whether host is ejected now. It is O(1).
func (d *Detector) Ejected(host int) bool { return d.hosts[host].ejected }

// NumEjected returns the number of hosts ejected now.
func (d *Detector) NumEjected() int { return d.active }

// Version returns a number that changes exactly when the set of ejected
// hosts changes (it counts ejections and unejections), so that the cluster
// can compare it with the version its pickers were built for instead of
// registering a callback.
func (d *Detector) Version() uint64 { return d.version }

// Record accounts one answer of host: it feeds the interval's success-rate
// bucket and runs the consecutive detectors, which eject inline (Envoy
// posts the detection to its main thread, which ejects before any later
// event; meshsim has one thread). Answers from ejected hosts (in panic
// mode, or in flight at the ejection) count like any other, but a
// consecutive detection of an ejected host is dropped, as in Envoy. Record
// is O(1) and allocates nothing.
func (d *Detector) Record(host int, r Result) {
	h := &d.hosts[host]
	h.cur.total++
	switch r {
	case Success:
		h.cur.success++
		h.cons5xx, h.consGw = 0, 0
	case Error5xx:
		h.consGw = 0
		if d.th5xx > 0 {
			h.cons5xx++
			if h.cons5xx == d.th5xx {
				d.consecutive(host, KindConsecutive5xx)
			}
		}
	case GatewayFailure, LocalOriginFailure:
		// Envoy's putHttpResponseCode checks the gateway counter first,
		// then the 5xx counter: when both fire on one answer and the first
		// ejects, the second finds the host ejected and is dropped.
		if d.thGw > 0 {
			h.consGw++
			if h.consGw == d.thGw {
				d.consecutive(host, KindConsecutiveGatewayFailure)
			}
		}
		if d.th5xx > 0 {
			h.cons5xx++
			if h.cons5xx == d.th5xx {
				d.consecutive(host, KindConsecutive5xx)
			}
		}
	default:
		panic(fmt.Sprintf("outlier: Record(%d, %v): unknown result", host, r))
	}
}

// consecutive handles a consecutive detector reaching its threshold
// (DetectorImpl::onConsecutiveErrorWorker). The counter fires only when it
// equals the threshold, so an ejected host whose counter keeps climbing
// does not fire again until a success or its unejection resets it.
func (d *Detector) consecutive(i int, k Kind) {
	h := &d.hosts[i]
	if h.ejected {
		return
	}
	d.stats.Detected[k]++
	d.eject(i, k)
	// Reset the counter that fired, ejected or not, so that a new run of
	// errors is needed to fire again.
	if k == KindConsecutive5xx {
		h.cons5xx = 0
	} else {
		h.consGw = 0
	}
}

// eject ejects host i for kind k if max_ejection_percent and the
// enforcement roll allow (DetectorImpl::ejectHost).
func (d *Detector) eject(i int, k Kind) {
	h := &d.hosts[i]
	if h.ejected {
		// Only the failure-percentage pass can get here, for a host the
		// success-rate pass of the same sweep ejected. Envoy calls ejectHost
		// again, which in a release build ejects the host a second time
		// and leaves ejections_active one too high forever; we keep the
		// first ejection.
		return
	}
	n := len(d.hosts)
	// Strict since envoy#27909 (2023): 100*(active+1)/n <= max, compared
	// in integers (Envoy uses a double; the two agree exactly). Before it,
	// the first ejection was always allowed, which always_eject_one_host
	// (1.31) restores as an option.
	allowed := 100*(d.active+1) <= d.cfg.MaxEjectionPercent.Or(0)*n
	if d.cfg.AlwaysEjectOneHost && d.active == 0 {
		allowed = true
	}
	if !allowed {
		d.stats.Overflow++
		return
	}
	if !d.roll(d.enforce[k]) {
		return
	}
	now := d.s.Now()
	d.active++
	d.version++
	d.stats.Enforced[k]++
	d.hostEjections[i]++
	h.ejected = true
	h.lastEject = now
	h.jitter = 0
	if j := d.cfg.MaxEjectionTimeJitter; j > 0 {
		// Envoy draws random() % (jitter_ms + 1) on every ejection; we draw
		// in nanoseconds, and only when there is a jitter, so that turning
		// it off does not shift the stream.
		h.jitter = time.Duration(d.rnd.Uint64() % (uint64(j) + 1))
	}
	base, maxT := d.cfg.BaseEjectionTime, d.cfg.MaxEjectionTime
	if time.Duration(h.k)*base < maxT+base {
		h.k++
	}
	h.hist = -1
	if len(d.hist) < d.histLimit {
		h.hist = int32(len(d.hist))
		d.hist = append(d.hist, Ejection{Host: i, Kind: k, From: now, To: sim.MaxTime})
	} else {
		d.stats.IntervalsDropped++
	}
}

// roll reports whether a detection enforced at p percent ejects. Like
// Envoy's Runtime featureEnabled, it draws random() % 100 < p, and draws
// nothing at 0 and 100.
func (d *Detector) roll(p int) bool {
	switch {
	case p <= 0:
		return false
	case p >= 100:
		return true
	}
	return d.rnd.Uint64()%100 < uint64(p)
}

// Uneject returns an ejected host to service at once, as Envoy does when
// an active health check of the host succeeds and
// successful_active_health_check_uneject_host is true (its default). A
// host that is not ejected is left alone. O(1).
func (d *Detector) Uneject(host int) {
	if d.hosts[host].ejected {
		d.uneject(host, d.s.Now())
	}
}

// uneject returns host i to service (DetectorImpl::unejectHost), resetting
// its consecutive counters so that a few errors do not eject it again at
// once.
func (d *Detector) uneject(i int, now sim.Time) {
	h := &d.hosts[i]
	h.ejected = false
	h.unejected = true
	h.lastUneject = now
	h.cons5xx, h.consGw = 0, 0
	d.active--
	d.version++
	d.stats.Unejections++
	if h.hist >= 0 {
		d.hist[h.hist].To = now
		h.hist = -1
	}
}

// ejectionTime is how long host h's current ejection lasts:
// min(base*k, max) + jitter.
func (d *Detector) ejectionTime(h *hostState) time.Duration {
	return min(time.Duration(h.k)*d.cfg.BaseEjectionTime, d.cfg.MaxEjectionTime) + h.jitter
}

// Handle implements sim.Handler for the interval timer. The sweep
// (DetectorImpl::onIntervalTimer) visits hosts in host order (Envoy
// iterates an unordered map, so its order is unspecified; the order
// matters only to which hosts max_ejection_percent refuses) and:
//
//  1. unejects every host with now - last_ejection >= min(base*k, max) +
//     jitter, so an ejection lasts its ejection time rounded up to the
//     interval grid, and moves each host's success-rate bucket out of
//     writing;
//  2. runs success-rate then failure-percentage detection over the hosts
//     not ejected;
//  3. decrements k (not below 0) for each host not ejected whose last
//     unejection was at least one interval ago: the ejection time decays
//     linearly, by one base per healthy interval;
//  4. schedules the next sweep.
func (d *Detector) Handle(ev sim.Event) {
	if ev.Kind != evInterval {
		panic(fmt.Sprintf("outlier: unexpected event kind %d", ev.Kind))
	}
	now := d.s.Now()
	for i := range d.hosts {
		h := &d.hosts[i]
		if h.ejected && d.ejectionTime(h) <= now.Sub(h.lastEject) {
			d.uneject(i, now)
		}
		h.prev, h.cur = h.cur, bucket{}
	}
	d.successRate()
	for i := range d.hosts {
		h := &d.hosts[i]
		if !h.ejected && h.unejected && h.k > 0 && now.Sub(h.lastUneject) >= d.cfg.Interval {
			h.k--
		}
	}
	d.timer = d.s.After(d.cfg.Interval, d, sim.Event{Kind: evInterval})
}

// successRate runs the success-rate and failure-percentage detectors over
// the last interval's buckets (DetectorImpl::processSuccessRateEjections).
// It is O(n) and allocates nothing: its lists are preallocated.
func (d *Detector) successRate() {
	c := &d.cfg
	d.stats.SuccessRateMean, d.stats.SuccessRateThreshold = -1, -1
	runSR := !c.Disabled.Has(KindSuccessRate)
	runFP := !c.Disabled.Has(KindFailurePercentage)
	n := len(d.hosts)
	if n < c.SuccessRateMinimumHosts && n < c.FailurePercentageMinimumHosts {
		return
	}
	d.srHosts, d.fpHosts = d.srHosts[:0], d.fpHosts[:0]
	var sum float64 // added in host order, so the result is reproducible
	for i := range d.hosts {
		h := &d.hosts[i]
		if h.ejected || h.prev.total == 0 {
			continue
		}
		rate := float64(float64(h.prev.success)*100) / float64(h.prev.total)
		d.rate[i] = rate
		if h.prev.total >= int64(c.SuccessRateRequestVolume) {
			d.srHosts = append(d.srHosts, int32(i))
			sum += rate
		}
		if h.prev.total >= int64(c.FailurePercentageRequestVolume) {
			d.fpHosts = append(d.fpHosts, int32(i))
		}
	}
	if runSR && len(d.srHosts) > 0 && len(d.srHosts) >= c.SuccessRateMinimumHosts {
		// Population standard deviation, as successRateEjectionThreshold:
		// {50, 100, 100, 100, 100} gives mean 90, stdev 20, threshold 52.
		m := float64(len(d.srHosts))
		mean := sum / m
		var variance float64
		for _, i := range d.srHosts {
			dev := d.rate[i] - mean
			variance += float64(dev * dev)
		}
		stdev := math.Sqrt(variance / m)
		factor := float64(c.SuccessRateStdevFactor) / 1000
		threshold := mean - float64(factor*stdev)
		d.stats.SuccessRateMean, d.stats.SuccessRateThreshold = mean, threshold
		for _, i := range d.srHosts {
			if d.rate[i] < threshold {
				d.stats.Detected[KindSuccessRate]++
				d.eject(int(i), KindSuccessRate)
			}
		}
	}
	if runFP && len(d.fpHosts) > 0 && len(d.fpHosts) >= c.FailurePercentageMinimumHosts {
		threshold := float64(c.FailurePercentageThreshold)
		for _, i := range d.fpHosts {
			if 100-d.rate[i] >= threshold {
				d.stats.Detected[KindFailurePercentage]++
				d.eject(int(i), KindFailurePercentage)
			}
		}
	}
}

// Stats returns the detector's counters. It copies the per-host counts, so
// it allocates; call it at the end of a run, not per event.
func (d *Detector) Stats() Stats {
	st := d.stats
	st.Active = d.active
	st.HostEjections = append([]int64(nil), d.hostEjections...)
	return st
}

// Intervals returns a copy of the ejection history in the order the
// ejections happened (ties, within one sweep, in host order): at most
// MaxIntervals records, the earliest ones. An ejection still in effect has
// To == sim.MaxTime.
func (d *Detector) Intervals() []Ejection {
	return append([]Ejection(nil), d.hist...)
}
