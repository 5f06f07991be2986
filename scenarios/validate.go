package scenarios

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/concurrency"
	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/sim/dist"
)

// Defaults and limits of a scenario. Every count has an upper bound
// (TIGER_STYLE: limits on everything), so that a typo such as replicas:
// 1000000 fails at load time instead of exhausting memory mid-run.
const (
	defaultSeed         = 1
	defaultReplications = 1
	// With precision: the first round, and the bound.
	defaultPrecisionReplications    = 5
	defaultMaxPrecisionReplications = 100
	maxReplications                 = 10_000
	defaultMaxEvents                = 2_000_000_000
	maxReplicas                     = 100_000
	maxConcurrency                  = 1_000_000
	maxNameLen                      = 63 // a DNS label, so names fit in hosts, paths and metrics
	defaultPolicy                   = "round_robin"
)

// nameRE is what workload, service and variant names look like. Names end
// up in file names, metric names and trace records, so they are kept plain.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// applyDefaults fills in every field the file left out. It is the only place
// defaults are set. present reports whether the file gave a field a value, so
// that an explicit zero (replicas: 0) is kept, and rejected by validation,
// rather than silently replaced.
func applyDefaults(s *Scenario, present func(path string) bool) {
	if s.Name == "" && !present("name") {
		// The name names the output folder, so a default taken from the
		// file name is made valid rather than rejected.
		base := filepath.Base(s.File)
		s.Name = sanitizeName(strings.TrimSuffix(base, filepath.Ext(base)))
		if s.Name == "" {
			s.Name = "scenario"
		}
	}
	if !present("seed") {
		s.Seed = defaultSeed
	}
	if !present("replications") {
		s.Replications = defaultReplications
		if s.Precision != nil {
			s.Replications = defaultPrecisionReplications
		}
	}
	if pr := s.Precision; pr != nil {
		if !present("precision.metric") {
			pr.Metric = "p99"
		}
		if !present("precision.max_replications") {
			pr.MaxReplications = defaultMaxPrecisionReplications
		}
	}
	if !present("limits.max_events") {
		s.Limits.MaxEvents = defaultMaxEvents
	}
	if !present("timeline.window") {
		s.Timeline.Window = Duration(DefaultWindow(time.Duration(s.Duration)))
	}
	for i := range s.Workloads {
		a := &s.Workloads[i].Arrival
		// {rate: 800/s} alone is a Poisson process: exponential
		// inter-arrival times with mean 1/rate.
		if a.Dist == "" && len(a.Has) == 1 && a.Has["rate"] {
			a.Dist = "exponential"
		}
	}
	for i := range s.Services {
		svc := &s.Services[i]
		p := fmt.Sprintf("services[%d].", i)
		if !present(p + "replicas") {
			svc.Replicas = 1
		}
		if !present(p + "concurrency") {
			svc.Concurrency = 1
		}
		if !svc.Queue.Set {
			svc.Queue.Unbounded = true
		}
		if apply, ok := presets[svc.Sidecar.Preset]; ok {
			apply(&svc.Sidecar, func(field string) bool { return present(p + "sidecar." + field) })
		}
		if !present(p+"sidecar.lb.policy") && svc.Sidecar.LB.Policy == "" {
			svc.Sidecar.LB.Policy = defaultPolicy
		}
		if !present(p + "termination_grace_period") {
			svc.TerminationGracePeriod = Duration(defaultGracePeriod)
		}
	}
	for i := range s.ConfigPushes {
		sc := &s.ConfigPushes[i].Sidecar
		p := fmt.Sprintf("config_pushes[%d].sidecar.", i)
		if apply, ok := presets[sc.Preset]; ok {
			apply(sc, func(field string) bool { return present(p + field) })
		}
		if !present(p+"lb.policy") && sc.LB.Policy == "" {
			sc.LB.Policy = defaultPolicy
		}
	}
}

// checker validates one decoded scenario, reporting into a sink.
type checker struct {
	sink     *sink
	prefix   string // put before every path: "variant p2c: "
	pos      positions
	bad      badPaths
	errs     int      // errors reported by this checker
	warnings []*Error // Msg starts with "warning: "; Path has no prefix
	dropped  int      // warnings past maxErrors
}

// errorf reports a problem at path: at its key if atKey, else at its value
// or, if it has none, at the nearest enclosing mapping. Paths that already
// failed to decode are skipped, since the decode error says it better.
func (c *checker) errorf(path string, atKey bool, hint, format string, args ...any) {
	if c.bad.covers(path) {
		return
	}
	line, col := c.pos.at(path)
	if atKey {
		line, col = c.pos.keyAt(path)
	}
	c.errs++
	c.sink.add(line, col, c.prefix+path, hint, fmt.Sprintf(format, args...))
}

// errorLazy is errorf at path's value with a hint computed only if the
// error is shown.
func (c *checker) errorLazy(path string, hint func() string, format string, args ...any) {
	if c.bad.covers(path) {
		return
	}
	line, col := c.pos.at(path)
	c.errs++
	c.sink.addLazy(line, col, c.prefix+path, hint, fmt.Sprintf(format, args...))
}

// warnf records a warning at path's value. Like errors, at most
// maxErrors are kept.
func (c *checker) warnf(path, hint, format string, args ...any) {
	if len(c.warnings) >= maxErrors-1 {
		c.dropped++
		return
	}
	line, col := c.pos.at(path)
	c.warnings = append(c.warnings, &Error{File: c.sink.file, Line: line, Col: col, Path: path, Msg: "warning: " + fmt.Sprintf(format, args...), Hint: hint})
}

// formatWarnings formats warnings, putting prefix before each path and
// leaving out those equal to one of skip.
func formatWarnings(warnings []*Error, prefix string, skip []*Error) []string {
	var out []string
	for _, w := range warnings {
		if slices.ContainsFunc(skip, func(s *Error) bool { return *s == *w }) {
			continue
		}
		e := *w
		e.Path = prefix + e.Path
		out = append(out, e.Error())
	}
	return out
}

func (c *checker) missing(path, hint string) {
	c.errorf(path, false, hint, "missing required field")
}

// check validates s, whose defaults are applied, recording its warnings.
func (c *checker) check(s *Scenario) {
	switch {
	case !c.pos.present("version"):
		c.missing("version", `add "version: 1" at the top of the file`)
	case s.Version != 1:
		c.errorf("version", false, "this meshsim reads version 1", "unsupported version %d", s.Version)
	}
	if c.pos.present("name") {
		c.name("name", s.Name) // it becomes the default output folder, out/<name>
	}
	switch {
	case !c.pos.present("duration"):
		c.missing("duration", "e.g. duration: 10m (virtual time)")
	case s.Duration <= 0:
		c.errorf("duration", false, "", "duration must be positive")
	case s.Warmup >= s.Duration && !c.bad.covers("duration"):
		c.errorf("warmup", false, "", "warmup %s must be shorter than duration %s", fmtDur(s.Warmup), fmtDur(s.Duration))
	}
	if s.Replications < 1 || s.Replications > maxReplications {
		c.errorf("replications", false, "", "must be between 1 and %d, got %d", maxReplications, s.Replications)
	}
	c.precision(s)
	c.slo(s)
	if s.Limits.MaxEvents <= 0 {
		c.errorf("limits.max_events", false, "", "must be positive, got %d", s.Limits.MaxEvents)
	}
	c.timeline(s)

	serviceNames := make([]string, len(s.Services))
	for i, svc := range s.Services {
		serviceNames[i] = svc.Name
	}
	workloadNames := make([]string, len(s.Workloads))
	for i, w := range s.Workloads {
		workloadNames[i] = w.Name
	}
	c.names("workloads", "workload", workloadNames)
	if len(serviceNames) > 0 || s.Bus.empty() || c.pos.present("services") {
		c.names("services", "service", serviceNames) // a bus-only scenario needs none
	}

	// Targets are checked only against services that decoded: a broken
	// services list is reported as such, not as every target being unknown.
	var known map[string]bool
	if !c.bad.covers("services") {
		known = make(map[string]bool, len(serviceNames))
		for _, n := range serviceNames {
			known[n] = true
		}
	}
	arrivals := make([]dist.Dist, len(s.Workloads))
	for i := range s.Workloads {
		arrivals[i] = c.workload(i, &s.Workloads[i], known, serviceNames, s.Bus.destinations())
	}
	times := make([]dist.Dist, len(s.Services))
	for i := range s.Services {
		times[i] = c.service(i, &s.Services[i])
	}
	c.bus(s)
	c.failures(s)
	c.randomFailures(s)
	c.configPushes(s)
	c.scaling(s)
	c.calls(s)
	c.routes(s)
	c.network(s)
	c.variants(s.Variants)
	c.sweep(s.Sweep, s.Variants)
	c.load(s, arrivals, times)
	if c.dropped > 0 {
		last := c.warnings[len(c.warnings)-1]
		c.warnings = append(c.warnings, &Error{File: last.File, Line: last.Line, Col: last.Col, Msg: fmt.Sprintf("warning: %d more warnings not shown", c.dropped)})
	}
}

// names checks the names of one entity list: present, well formed, unique.
func (c *checker) names(list, kind string, names []string) {
	if len(names) == 0 {
		if c.pos.present(list) {
			c.errorf(list, false, "", "at least one %s is required", kind)
		} else {
			c.missing(list, "")
		}
		return
	}
	first := map[string]int{}
	for i, name := range names {
		path := fmt.Sprintf("%s[%d].name", list, i)
		if j, dup := first[name]; dup && name != "" {
			line, _ := c.pos.at(fmt.Sprintf("%s[%d].name", list, j))
			c.errorf(path, false, fmt.Sprintf("first defined at line %d", line), "duplicate %s name %q", kind, name)
			continue
		}
		first[name] = i
		c.name(path, name)
	}
}

// name checks one entity name.
func (c *checker) name(path, name string) {
	switch {
	case name == "" && !c.pos.present(path):
		c.missing(path, "")
	case len(name) > maxNameLen:
		c.errorf(path, false, "", "name is %d characters long; the limit is %d", len(name), maxNameLen)
	case !nameRE.MatchString(name):
		hint := "use lowercase letters, digits, - and _, starting with a letter or digit"
		if t := sanitizeName(name); t != "" {
			hint += fmt.Sprintf(", e.g. %q", t)
		}
		c.errorf(path, false, hint, "invalid name %q", name)
	}
}

// sanitizeName turns name into a valid one, or "" if nothing is left.
func sanitizeName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	t := strings.TrimLeft(b.String(), "-_")
	t = strings.TrimRight(t, "-")
	if len(t) > maxNameLen || !nameRE.MatchString(t) {
		return ""
	}
	return t
}

// workload checks workload i and returns its inter-arrival distribution,
// or nil if it is invalid. known is the set of service names, or nil if
// the services could not be decoded.
func (c *checker) workload(i int, w *Workload, known map[string]bool, services, dests []string) dist.Dist {
	p := fmt.Sprintf("workloads[%d].", i)
	switch {
	case w.Target != "" && w.Publish != "":
		c.errorf(p+"publish", true, "use either target: or publish:", "a workload sends to a service or publishes to the bus, not both")
	case w.Publish != "":
		c.ref(p+"publish", w.Publish, dests, "topic, queue or pub/sub topic", "destinations")
		if w.Route != "" || len(w.Headers) > 0 || w.Deadline != 0 || w.Zone != "" {
			c.errorf(p+"publish", true, "route, headers, deadline and zone apply to requests to services", "a publishing workload takes none of route, headers, deadline, zone")
		}
	case w.Target == "":
		c.missing(p+"target", "name the service that receives the requests (or publish: a topic)")
	case len(known) > 0 && !known[w.Target]:
		c.errorLazy(p+"target", func() string {
			if hint := didYouMean(w.Target, services); hint != "" {
				return hint
			}
			return "services are " + sortedList(services)
		}, "unknown service %q", w.Target)
	}
	if w.Deadline < 0 {
		c.errorf(p+"deadline", false, "", "must be positive, got %s", fmtDur(w.Deadline))
	}
	for k, h := range w.Headers {
		if h.Name == "" {
			c.missing(fmt.Sprintf("%sheaders[%d].name", p, k), "a header name, e.g. x-canary")
		}
	}
	d := c.dist(p+"arrival", &w.Arrival, true)
	if d != nil && d.Mean() <= 0 {
		c.errorf(p+"arrival", false, "", "mean inter-arrival time must be positive")
		return nil
	}
	return d
}

// service checks service i and returns its service-time distribution, or
// nil if it is invalid.
func (c *checker) service(i int, svc *Service) dist.Dist {
	p := fmt.Sprintf("services[%d].", i)
	if svc.Replicas < 1 || svc.Replicas > maxReplicas {
		c.errorf(p+"replicas", false, "", "must be between 1 and %d, got %d", maxReplicas, svc.Replicas)
	}
	if svc.Concurrency < 1 || svc.Concurrency > maxConcurrency {
		c.errorf(p+"concurrency", false, "", "must be between 1 and %d, got %d", maxConcurrency, svc.Concurrency)
	}
	if pr := svc.Sidecar.Preset; pr != "" {
		if _, ok := presets[pr]; !ok {
			hint := didYouMean(pr, PresetNames())
			if hint == "" {
				hint = "presets: " + sortedList(PresetNames())
			}
			c.errorf(p+"sidecar.preset", false, hint, "unknown preset %q", pr)
		}
	}
	connOK := true // connection settings are checked field by field, then the whole policy
	if cp := svc.Sidecar.ConnectionPool; cp != nil && cp.Protocol != "" && cp.Protocol != "http1" && cp.Protocol != "http2" {
		c.errorf(p+"sidecar.connection_pool.protocol", false, didYouMean(cp.Protocol, []string{"http1", "http2"}), "unknown protocol %q (http1 or http2)", cp.Protocol)
		connOK = false
	}
	if m := svc.Sidecar.MTLS; m != nil {
		if m.Handshake != nil && c.dist(p+"sidecar.mtls.handshake", m.Handshake, false) == nil {
			connOK = false
		}
		if m.PerRequest != nil && c.dist(p+"sidecar.mtls.per_request", m.PerRequest, false) == nil {
			connOK = false
		}
	}
	if policy, names := svc.Sidecar.LB.Policy, lb.Names(); !slices.Contains(names, policy) {
		hint := didYouMean(policy, names)
		if hint == "" {
			hint = "registered policies: " + sortedList(names)
		}
		c.errorf(p+"sidecar.lb.policy", false, hint, "unknown load-balancing policy %q", policy)
	} else if err := lb.Validate(policy, svc.Sidecar.LB.Config()); err != nil {
		c.errorf(p+"sidecar.lb", false, "", "%s", strings.TrimPrefix(err.Error(), lb.ErrConfig.Error()+": "))
	} else if _, err := svc.Sidecar.Policy(); err != nil && connOK {
		c.errorf(p+"sidecar", false, "", "%s", strings.TrimPrefix(err.Error(), sidecar.ErrConfig.Error()+": "))
	}
	if a := svc.AdaptiveConcurrency; a != nil {
		if err := a.config().WithDefaults().Validate(); err != nil {
			c.errorf(p+"adaptive_concurrency", false, "", "%s", strings.TrimPrefix(err.Error(), concurrency.ErrConfig.Error()+": "))
		}
	}
	if e := svc.Errors; !(e.Probability >= 0 && e.Probability <= 1) {
		c.errorf(p+"errors.probability", false, "", "must be between 0 and 1, got %g", e.Probability)
	}
	if rl := svc.RateLimit; rl != nil {
		if rl.MaxTokens < 1 {
			c.errorf(p+"rate_limit.max_tokens", false, "", "must be >= 1, got %d", rl.MaxTokens)
		}
		if rl.TokensPerFill < 0 {
			c.errorf(p+"rate_limit.tokens_per_fill", false, "", "must be >= 1, got %d", rl.TokensPerFill)
		}
		if rl.FillInterval <= 0 {
			c.errorf(p+"rate_limit.fill_interval", false, "e.g. fill_interval: 1s", "must be > 0")
		}
	}
	return c.dist(p+"service_time", &svc.ServiceTime, false)
}

// variants checks the variants' names and which fields they set. Applying
// the overrides is Document.Expand's job.
func (c *checker) variants(vs []Variant) {
	if len(vs) == 0 {
		return
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	c.names("variants", "variant", names)
	for i, v := range vs {
		for _, o := range v.Set {
			path := fmt.Sprintf("variants[%d].set.%s", i, o.Path)
			segs := splitOverridePath(o.Path)
			if slices.Contains(segs, "") {
				c.errorf(path, true, "write dotted field names, e.g. services.checkout.sidecar.lb.policy", "invalid path %q", o.Path)
				continue
			}
			if slices.Contains(experimentFields, segs[0]) {
				c.errorf(path, true, "variants, sweep, seed, replications, precision, duration, timeline and report define the experiment, not a policy", "a variant cannot set %s", segs[0])
			}
		}
	}
}

// PrecisionMetrics are the statistics precision-based stopping can target.
var PrecisionMetrics = []string{"mean", "p50", "p90", "p99", "p999", "throughput", "error_rate"}

// precision checks the precision block and parses its half-width.
func (c *checker) precision(s *Scenario) {
	pr := s.Precision
	if pr == nil {
		return
	}
	if !slices.Contains(PrecisionMetrics, pr.Metric) {
		c.errorLazy("precision.metric", func() string {
			if h := didYouMean(pr.Metric, PrecisionMetrics); h != "" {
				return h
			}
			return "metrics are " + strings.Join(PrecisionMetrics, ", ")
		}, "unknown metric %q", pr.Metric)
	}
	if pr.Workload != "" {
		var names []string
		for _, w := range s.Workloads {
			names = append(names, w.Name)
		}
		if !slices.Contains(names, pr.Workload) {
			c.errorLazy("precision.workload", func() string { return didYouMean(pr.Workload, names) }, "unknown workload %q", pr.Workload)
		}
	}
	latency := !slices.Contains([]string{"throughput", "error_rate"}, pr.Metric)
	hint := `write a percentage of the estimate, e.g. 5%`
	if latency {
		hint += ", or a duration, e.g. 2ms"
	}
	hw := strings.TrimSpace(pr.HalfWidth)
	switch {
	case !c.pos.present("precision.half_width"):
		c.missing("precision.half_width", hint)
	case strings.HasSuffix(hw, "%"):
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(hw, "%")), 64)
		if err != nil || !(f > 0 && f < 100) {
			c.errorf("precision.half_width", false, hint, "half_width must be a percentage between 0 and 100, got %q", pr.HalfWidth)
			break
		}
		pr.Relative = f / 100
	default:
		d, err := time.ParseDuration(hw)
		switch {
		case err != nil:
			c.errorf("precision.half_width", false, hint, "invalid half_width %q", pr.HalfWidth)
		case !latency:
			c.errorf("precision.half_width", false, "write a percentage of the estimate, e.g. 5%", "a duration cannot bound %s", pr.Metric)
		case d <= 0:
			c.errorf("precision.half_width", false, hint, "half_width must be positive, got %s", pr.HalfWidth)
		default:
			pr.Absolute = d.Seconds()
		}
	}
	switch {
	case s.Replications < 2:
		c.errorf("replications", false, "precision needs at least 2 replications to start with (default 5)", "must be at least 2 with precision, got %d", s.Replications)
	case pr.MaxReplications < s.Replications || pr.MaxReplications > maxReplications:
		c.errorf("precision.max_replications", false, "", "must be between replications (%d) and %d, got %d", s.Replications, maxReplications, pr.MaxReplications)
	}
}

// slo checks the report's service level objective.
func (c *checker) slo(s *Scenario) {
	o := s.Report.SLO
	if o == nil {
		return
	}
	if o.Workload != "" {
		var names []string
		for _, w := range s.Workloads {
			names = append(names, w.Name)
		}
		if !slices.Contains(names, o.Workload) {
			c.errorLazy("report.slo.workload", func() string { return didYouMean(o.Workload, names) }, "unknown workload %q", o.Workload)
		}
	}
	bounds := 0
	for _, d := range []*Duration{o.Mean, o.P50, o.P90, o.P99, o.P999} {
		if d != nil {
			bounds++
		}
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{{"mean", o.Mean}, {"p50", o.P50}, {"p90", o.P90}, {"p99", o.P99}, {"p999", o.P999}} {
		if f.d != nil && *f.d <= 0 {
			c.errorf("report.slo."+f.name, false, "", "must be positive, got %s", fmtDur(*f.d))
		}
	}
	if c.pos.present("report.slo.error_rate") {
		bounds++
		hw := strings.TrimSpace(o.ErrorRate)
		num, ok := strings.CutSuffix(hw, "%")
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || err != nil || !(f >= 0 && f < 100) {
			c.errorf("report.slo.error_rate", false, "write a percentage, e.g. 0.1%", "error_rate must be a percentage between 0 and 100, got %q", o.ErrorRate)
		} else {
			o.ErrorRateFraction = f / 100
		}
	}
	if bounds == 0 {
		c.errorf("report.slo", true, "e.g. slo: {p99: 250ms, error_rate: 0.1%}", "an SLO needs at least one bound: mean, p50, p90, p99, p999 or error_rate")
	}
}

// MaxSweepPoints bounds the points of a sweep's grid (the product of its
// lists' lengths), so that a typo cannot multiply the work without end.
const MaxSweepPoints = 1000

// sweep checks the sweep's paths: dotted, not an experiment field, not
// set by a variant too (which of the two would win is not obvious), and a
// grid of at most MaxSweepPoints points.
func (c *checker) sweep(axes []SweepAxis, vs []Variant) {
	points := 1
	for _, a := range axes {
		path := "sweep." + a.Path
		segs := splitOverridePath(a.Path)
		if slices.Contains(segs, "") {
			c.errorf(path, true, "write dotted field names, e.g. workloads.web.arrival.rate", "invalid path %q", a.Path)
			continue
		}
		if slices.Contains(experimentFields, segs[0]) {
			c.errorf(path, true, "variants, sweep, seed, replications, precision, duration, timeline and report define the experiment; sweep a scenario field such as a rate or a policy setting", "a sweep cannot set %s", segs[0])
			continue
		}
		for _, v := range vs {
			for _, o := range v.Set {
				if o.Path == a.Path {
					c.errorf(path, true, "remove it from the variant, or sweep it in the variant's place", "variant %s sets %s too", v.Name, a.Path)
				}
			}
		}
		points *= len(a.Values)
		if points > MaxSweepPoints {
			c.errorf("sweep", true, "sweep fewer values, or split the sweep over several files", "the sweep has more than %d points", MaxSweepPoints)
			return
		}
	}
}

// experimentFields are the top-level fields a variant may not set.
// The timeline is one of them because every variant's series must share
// the same windows to be drawn on one axis.
var experimentFields = []string{"variants", "sweep", "seed", "replications", "precision", "duration", "timeline", "report"}

// load warns about services that the workloads aimed at them would
// overload with nowhere to stop the queue: such a run measures how long it
// ran, not the system.
func (c *checker) load(s *Scenario, arrivals, times []dist.Dist) {
	index := make(map[string]int, len(s.Services))
	for i, svc := range s.Services {
		if _, dup := index[svc.Name]; !dup {
			index[svc.Name] = i
		}
	}
	// Offered rates are summed in workload order, so the sum is the same on
	// every run.
	offered := make([]float64, len(s.Services))
	known := make([]bool, len(s.Services))
	for i := range known {
		known[i] = true
	}
	targeted := make([]bool, len(s.Services))
	for j, w := range s.Workloads {
		i, ok := index[w.Target]
		if !ok {
			continue
		}
		if arrivals[j] == nil {
			known[i] = false
			continue
		}
		targeted[i] = true
		offered[i] += float64(time.Second) / float64(arrivals[j].Mean())
	}
	for i, svc := range s.Services {
		st := times[i]
		if st == nil || !svc.Queue.Unbounded || st.Mean() <= 0 || !targeted[i] || !known[i] {
			continue
		}
		replicas := svc.Replicas
		if a := svc.Autoscale; a != nil {
			replicas = max(replicas, a.MaxReplicas) // it can scale up to that
		}
		capacity := float64(replicas) * float64(svc.Concurrency) * float64(time.Second) / float64(st.Mean())
		if offered[i] >= capacity {
			c.warnf(fmt.Sprintf("services[%d]", i), "add replicas or concurrency, or bound the queue",
				"offered load %s/s is at or above capacity %s/s (utilisation %.2f) and the queue is unbounded, so waiting times grow for as long as the run lasts",
				fmtRate(offered[i]), fmtRate(capacity), offered[i]/capacity)
		}
	}
}

func fmtRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.3g", r)
}

func fmtDur(d Duration) string { return time.Duration(d).String() }

// distInfo is what one distribution accepts.
type distInfo struct {
	name   string
	params []string // nil for empirical, which takes percentiles
}

// distInfos lists the distributions a DistSpec may name, sorted by name.
var distInfos = []distInfo{
	{"constant", []string{"value"}},
	{"empirical", nil},
	{"erlang", []string{"k", "mean"}},
	{"exponential", []string{"mean", "rate"}},
	{"hyperexponential", []string{"mean", "scv"}},
	{"lognormal", []string{"mean", "p99", "median", "sigma"}},
	{"pareto", []string{"scale", "mean", "shape"}},
	{"uniform", []string{"min", "max"}},
	{"weibull", []string{"scale", "shape"}},
}

func distNames() []string {
	names := make([]string, len(distInfos))
	for i, d := range distInfos {
		names[i] = d.name
	}
	return names
}

func (d distInfo) takes(key string) bool {
	if d.params == nil {
		_, ok := percentileKey(key)
		return ok
	}
	return slices.Contains(d.params, key)
}

func (d distInfo) paramList() string {
	if d.params == nil {
		return "percentiles such as p50, p90, p99, p999"
	}
	return strings.Join(d.params, ", ")
}

// dist checks a distribution spec at path and builds it, returning nil if it
// is invalid. arrival allows the {rate: R} shorthand's wording in messages.
func (c *checker) dist(path string, spec *DistSpec, arrival bool) dist.Dist {
	if !c.pos.present(path) {
		c.missing(path, "e.g. {dist: exponential, mean: 20ms}")
		return nil
	}
	if c.bad.covers(path) {
		return nil
	}
	before := c.errs
	if spec.Dist == "" {
		hint := "one of: " + strings.Join(distNames(), ", ")
		if arrival {
			hint = "give dist, or rate alone for a Poisson process: {rate: 800/s}"
		}
		c.missing(path+".dist", hint)
		return nil
	}
	i := slices.IndexFunc(distInfos, func(d distInfo) bool { return d.name == spec.Dist })
	if i < 0 {
		hint := didYouMean(spec.Dist, distNames())
		switch {
		case strings.EqualFold(spec.Dist, "poisson"):
			hint = "a Poisson process has exponential inter-arrival times: write {rate: 800/s} or {dist: exponential, rate: 800/s}"
		case hint == "":
			hint = "one of: " + strings.Join(distNames(), ", ")
		}
		c.errorf(path+".dist", false, hint, "unknown distribution %q", spec.Dist)
		return nil
	}
	info := distInfos[i]
	keys := make([]string, 0, len(spec.Has))
	for k := range spec.Has {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "dist" && !info.takes(k) {
			c.errorf(path+"."+k, true, fmt.Sprintf("%s takes %s", info.name, info.paramList()), "%s does not take %s", info.name, k)
		}
	}
	has := func(k string) bool { return spec.Has[k] }
	need := func(k string) {
		if !has(k) {
			c.errorf(path+"."+k, false, "", "%s needs %s", info.name, k)
		}
	}
	positive := func(k string, v Duration) {
		if has(k) && v <= 0 {
			c.errorf(path+"."+k, false, "", "%s must be positive", k)
		}
	}
	switch info.name {
	case "constant":
		need("value")
	case "uniform":
		need("min")
		need("max")
		if has("min") && has("max") && spec.Min > spec.Max {
			c.errorf(path+".min", false, "", "min %s is greater than max %s", fmtDur(spec.Min), fmtDur(spec.Max))
		}
	case "exponential":
		switch {
		case has("mean") && has("rate"):
			c.errorf(path+".rate", true, "", "give mean or rate, not both")
		case !has("mean") && !has("rate"):
			c.errorf(path, false, "e.g. {dist: exponential, mean: 20ms}", "exponential needs mean or rate")
		}
		positive("mean", spec.Mean)
	case "erlang":
		need("k")
		need("mean")
		if has("k") && spec.K < 1 {
			c.errorf(path+".k", false, "", "k must be at least 1, got %d", spec.K)
		}
		positive("mean", spec.Mean)
	case "hyperexponential":
		need("mean")
		need("scv")
		if has("scv") && spec.SCV < 1 {
			c.errorf(path+".scv", false, "for less variable times use erlang, whose scv is 1/k", "scv must be at least 1, got %g", spec.SCV)
		}
		positive("mean", spec.Mean)
	case "lognormal":
		byMean, byMedian := has("mean") || has("p99"), has("median") || has("sigma")
		switch {
		case byMean && byMedian:
			c.errorf(path, false, "", "lognormal takes either mean and p99, or median and sigma")
		case byMedian:
			need("median")
			need("sigma")
			if has("sigma") && spec.Sigma <= 0 {
				c.errorf(path+".sigma", false, "", "sigma must be positive, got %g", spec.Sigma)
			}
			positive("median", spec.Median)
		case byMean:
			need("mean")
			need("p99")
			positive("mean", spec.Mean)
			positive("p99", spec.P99)
		default:
			c.errorf(path, false, "e.g. {dist: lognormal, mean: 20ms, p99: 120ms}", "lognormal needs mean and p99, or median and sigma")
		}
	case "pareto":
		need("shape")
		if has("shape") && spec.Shape <= 0 {
			c.errorf(path+".shape", false, "", "shape must be positive, got %g", spec.Shape)
		}
		switch {
		case has("scale") && has("mean"):
			c.errorf(path+".mean", true, "", "give scale or mean, not both")
		case !has("scale") && !has("mean"):
			c.errorf(path, false, "", "pareto needs scale or mean")
		}
		positive("scale", spec.Scale)
		positive("mean", spec.Mean)
	case "weibull":
		need("shape")
		need("scale")
		if has("shape") && spec.Shape <= 0 {
			c.errorf(path+".shape", false, "", "shape must be positive, got %g", spec.Shape)
		}
		positive("scale", spec.Scale)
	case "empirical":
		c.empirical(path, spec, keys)
	}
	if c.errs > before {
		return nil
	}
	d, err := spec.Build()
	if err != nil {
		// "dist: invalid parameter: lognormal: p99 must be ..." reads
		// "services[0].service_time: lognormal: p99 must be ...".
		msg := strings.TrimPrefix(err.Error(), dist.ErrParam.Error()+": ")
		c.errorf(path, false, "", "%s", strings.TrimPrefix(msg, "dist: "))
		return nil
	}
	return d
}

// empirical checks the points of an empirical distribution: at least one,
// no percentile given twice (p999 and p99.9), values not decreasing. keys
// are the spec's keys, sorted.
func (c *checker) empirical(path string, spec *DistSpec, keys []string) {
	type point struct {
		key string
		p   float64
	}
	var pts []point
	for _, k := range keys {
		if p, ok := percentileKey(k); ok {
			pts = append(pts, point{k, p})
		}
	}
	if len(pts) == 0 {
		c.errorf(path, false, "e.g. {dist: empirical, p50: 10ms, p90: 30ms, p99: 100ms}", "empirical needs at least one percentile")
		return
	}
	slices.SortStableFunc(pts, func(a, b point) int {
		switch {
		case a.p < b.p:
			return -1
		case a.p > b.p:
			return 1
		}
		return 0
	})
	for i := 1; i < len(pts); i++ {
		if pts[i].p == pts[i-1].p {
			// Report the one further down the file.
			a, b := pts[i-1].key, pts[i].key
			al, ac := c.pos.keyAt(path + "." + a)
			bl, bc := c.pos.keyAt(path + "." + b)
			if al > bl || al == bl && ac > bc {
				a, b = b, a
			}
			c.errorf(path+"."+b, true, "", "%s is the same percentile as %s", b, a)
			return
		}
	}
	if len(spec.Percentiles) != len(pts) {
		return // a value failed to decode and was reported
	}
	for i := 1; i < len(pts); i++ {
		if v, prev := spec.Percentiles[i].Value, spec.Percentiles[i-1].Value; v < prev {
			c.errorf(path+"."+pts[i].key, false, "values must not decrease as the percentile grows",
				"%s %s is below %s %s", pts[i].key, fmtDur(v), pts[i-1].key, fmtDur(prev))
		}
	}
}

// has reports whether the parameter named by its YAML key was given. Specs
// built in Go code rather than decoded have no Has; for them a parameter is
// given when it is not zero.
func (d DistSpec) has(key string) bool {
	if d.Has != nil {
		return d.Has[key]
	}
	switch key {
	case "mean":
		return d.Mean != 0
	case "rate":
		return d.Rate != 0
	case "median":
		return d.Median != 0
	case "sigma":
		return d.Sigma != 0
	case "scale":
		return d.Scale != 0
	}
	return false
}

// Build constructs the distribution d describes, with the constructors of
// sim/dist. A spec with no dist and a rate is exponential (a Poisson
// process). Specs that Parse returned are valid; Build still checks its
// input, for specs written in Go, and its errors are meant to be wrapped
// with the field they came from.
func (d DistSpec) Build() (dist.Dist, error) {
	name := d.Dist
	if name == "" && d.has("rate") {
		name = "exponential"
	}
	switch name {
	case "exponential":
		mean := time.Duration(d.Mean)
		if !d.has("mean") && d.has("rate") {
			m, err := rateMean(d.Rate)
			if err != nil {
				return nil, err
			}
			mean = m
		}
		return dist.Exponential(mean)
	case "constant":
		return dist.Constant(time.Duration(d.Value))
	case "uniform":
		return dist.Uniform(time.Duration(d.Min), time.Duration(d.Max))
	case "erlang":
		return dist.Erlang(d.K, time.Duration(d.Mean))
	case "hyperexponential":
		return dist.Hyperexponential(time.Duration(d.Mean), d.SCV)
	case "lognormal":
		if d.has("median") || d.has("sigma") {
			return dist.LognormalMedianSigma(time.Duration(d.Median), d.Sigma)
		}
		return dist.LognormalMeanP99(time.Duration(d.Mean), time.Duration(d.P99))
	case "pareto":
		if d.has("mean") {
			return dist.ParetoMean(time.Duration(d.Mean), d.Shape)
		}
		return dist.Pareto(time.Duration(d.Scale), d.Shape)
	case "weibull":
		return dist.Weibull(time.Duration(d.Scale), d.Shape)
	case "empirical":
		pts := make([]dist.Point, len(d.Percentiles))
		for i, p := range d.Percentiles {
			pts[i] = dist.Point{P: p.P, Value: time.Duration(p.Value)}
		}
		return dist.Empirical(pts)
	case "":
		return nil, fmt.Errorf("no distribution named")
	}
	return nil, fmt.Errorf("unknown distribution %q", name)
}

// rateMean converts a rate in events per second into the mean time between
// events, rounded to the nanosecond.
func rateMean(r Rate) (time.Duration, error) {
	if !(r > 0) || math.IsInf(float64(r), 0) {
		return 0, fmt.Errorf("rate must be positive and finite, got %g/s", float64(r))
	}
	m := float64(time.Second) / float64(r)
	switch {
	case m < 1:
		return 0, fmt.Errorf("rate %g/s is too high: the mean time between events would be under 1ns", float64(r))
	case m > math.MaxInt64/2:
		return 0, fmt.Errorf("rate %g/s is too low", float64(r))
	}
	return time.Duration(math.Round(m)), nil
}

// configPushes checks that each push names a service and changes only what
// a push may change.
func (c *checker) configPushes(s *Scenario) {
	for i, push := range s.ConfigPushes {
		p := fmt.Sprintf("config_pushes[%d].", i)
		if push.At >= s.Duration && s.Duration > 0 {
			c.errorf(p+"at", false, "", "at %v is not before the end of the run (%v)", time.Duration(push.At), time.Duration(s.Duration))
		}
		var target *Service
		var names []string
		for k := range s.Services {
			names = append(names, s.Services[k].Name)
			if s.Services[k].Name == push.Service {
				target = &s.Services[k]
			}
		}
		if target == nil {
			if push.Service == "" {
				c.missing(p+"service", "the service whose callers get the new policy")
			} else {
				c.errorf(p+"service", false, didYouMean(push.Service, names), "no service named %q", push.Service)
			}
			continue
		}
		np, err := push.Sidecar.Policy()
		if err != nil {
			c.errorf(p+"sidecar", false, "", "%s", strings.TrimPrefix(err.Error(), sidecar.ErrConfig.Error()+": "))
			continue
		}
		op, err := target.Sidecar.Policy()
		if err != nil {
			continue // reported at the service
		}
		if err := sidecar.CheckPush(op, np); err != nil {
			c.errorf(p+"sidecar", false, "push a new lb, timeouts, retries, hedging or circuit breakers", "%s", strings.TrimPrefix(err.Error(), sidecar.ErrConfig.Error()+": "))
		}
	}
}
