package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/sidecar"
)

// failureKinds are the failure kinds modelled so far.
var failureKinds = []string{"broker_down", "consumer_crash", "crash", "errors", "latency", "loss", "overload", "partition", "slow"}

// failures checks the failure timeline: kinds, targets, times and the
// parameters of each kind.
func (c *checker) failures(s *Scenario) {
	replicas := map[string]int{}
	var names []string
	for _, svc := range s.Services {
		replicas[svc.Name] = svc.Replicas
		names = append(names, svc.Name)
	}
	// Consumers that consumer_crash may target: groups and queue
	// consumers, with their sizes.
	consumers := map[string]int{}
	var consumerNames []string
	for _, g := range s.Bus.Groups {
		consumers[g.Name] = max(g.Consumers, 1)
		consumerNames = append(consumerNames, g.Name)
	}
	for _, q := range s.Bus.Consumers {
		consumers[q.Name] = max(q.Consumers, 1)
		consumerNames = append(consumerNames, q.Name)
	}
	for i, f := range s.Failures {
		p := fmt.Sprintf("failures[%d].", i)
		switch f.Kind {
		case "":
			c.missing(p+"kind", "one of: "+strings.Join(failureKinds, ", "))
		case "slow":
			if !(f.Factor > 0) {
				c.errorf(p+"factor", false, "e.g. factor: 10 for ten times slower", "slow needs a factor > 0, got %g", f.Factor)
			}
		case "errors":
			if !(f.Probability >= 0 && f.Probability <= 1) {
				c.errorf(p+"probability", false, "", "must be between 0 and 1, got %g", f.Probability)
			}
		case "latency":
			if f.Delay == nil {
				c.missing(p+"delay", "e.g. delay: {dist: constant, value: 200ms}")
			} else {
				c.dist(p+"delay", f.Delay, false)
			}
		case "loss":
			if !(f.Probability > 0 && f.Probability <= 1) {
				c.errorf(p+"probability", false, "", "loss needs a probability in (0, 1], got %g", f.Probability)
			}
		case "partition":
		case "overload":
			if !(f.Factor > 0) {
				c.errorf(p+"factor", false, "e.g. factor: 3 for three times the arrival rate", "overload needs a factor > 0, got %g", f.Factor)
			}
		case "broker_down", "consumer_crash", "crash":
			for _, field := range []string{"factor", "probability", "status"} {
				if c.pos.present(p + field) {
					c.errorf(p+field, true, "", "%s takes no %s", f.Kind, field)
				}
			}
		default:
			hint := didYouMean(f.Kind, failureKinds)
			if hint == "" {
				hint = "kinds modelled so far: " + strings.Join(failureKinds, ", ")
			}
			c.errorf(p+"kind", false, hint, "unknown failure kind %q", f.Kind)
		}
		if f.At >= s.Duration && s.Duration > 0 {
			c.errorf(p+"at", false, "", "at %v is not before the end of the run (%v)", time.Duration(f.At), time.Duration(s.Duration))
		}
		if f.Every > 0 {
			switch {
			case f.For >= f.Every:
				c.errorf(p+"every", false, "a failure must end before it repeats", "every %v must be longer than for %v", time.Duration(f.Every), time.Duration(f.For))
			case s.Duration > f.At && int64(s.Duration-f.At)/int64(f.Every) >= maxRepeats:
				c.errorf(p+"every", false, "", "repeats %d times in the run; the limit is %d", int64(s.Duration-f.At)/int64(f.Every)+1, maxRepeats)
			}
		}
		switch f.Kind {
		case "latency", "loss", "partition":
			if c.netFailure(s, p, f) {
				continue
			}
		default:
			if !slices.Contains(failureKinds, f.Kind) {
				break // reported above
			}
			if len(f.Zones) > 0 || len(f.OtherZones) > 0 {
				field := "zones"
				if len(f.Zones) == 0 {
					field = "other_zones"
				}
				c.errorf(p+field, true, "zones are for latency, loss and partition", "%s takes no %s", f.Kind, field)
			}
			if _, _, ok := parseLink(f.Target); ok {
				hint := ""
				if f.Kind == "slow" || f.Kind == "errors" || f.Kind == "crash" {
					hint = `target a service ("checkout") or one instance ("checkout[2]")`
				}
				c.errorf(p+"target", false, hint, "%s does not act on a link (latency, loss and partition do)", f.Kind)
				continue
			}
		}
		if f.Target == "" {
			c.missing(p+"target", `a service ("checkout") or one instance ("checkout[2]"); a broker ("broker[1]"); a consumer group ("fulfilment[0]")`)
			continue
		}
		svc, idx, err := parseTarget(f.Target)
		if err != nil {
			c.errorf(p+"target", false, `write "checkout" or "checkout[2]"`, "%v", err)
			continue
		}
		switch f.Kind {
		case "overload":
			found := false
			var wls []string
			for _, wl := range s.Workloads {
				found = found || wl.Name == f.Target
				wls = append(wls, wl.Name)
			}
			if !found {
				c.errorf(p+"target", false, didYouMean(f.Target, wls), "overload targets a workload; no workload named %q", f.Target)
			}
			continue
		case "broker_down":
			switch {
			case svc != "broker" || idx < 0:
				c.errorf(p+"target", false, `write "broker[i]"`, "broker_down targets one broker, got %q", f.Target)
			case idx >= max(s.Bus.Brokers, 1):
				c.errorf(p+"target", false, fmt.Sprintf("bus.brokers is %d: brokers 0 to %d", max(s.Bus.Brokers, 1), max(s.Bus.Brokers, 1)-1), "no broker %d", idx)
			}
			continue
		case "consumer_crash":
			n, ok := consumers[svc]
			switch {
			case !ok:
				hint := didYouMean(svc, consumerNames)
				if hint == "" && len(consumerNames) > 0 {
					hint = "consumer groups and queue consumers: " + sortedList(consumerNames)
				}
				c.errorf(p+"target", false, hint, "no consumer group or queue consumers named %q", svc)
			case idx >= n:
				c.errorf(p+"target", false, fmt.Sprintf("%s has consumers 0 to %d", svc, n-1), "no consumer %s[%d]", svc, idx)
			}
			continue
		}
		n, ok := replicas[svc]
		switch {
		case !ok && !c.bad.covers("services"):
			c.errorf(p+"target", false, didYouMean(svc, names), "no service named %q", svc)
		case ok && idx >= n:
			c.errorf(p+"target", false, fmt.Sprintf("%s has instances 0 to %d", svc, n-1), "no instance %s[%d]", svc, idx)
		}
	}
}

// netFailure checks where a latency, loss or partition failure acts: on
// the link between two services (target "frontend -> checkout"), on the
// links between zones (zones, other_zones), or, for latency and loss
// only, on every answer of a service or instance (target "checkout"). It
// reports whether it checked the target, leaving a service target to the
// caller.
func (c *checker) netFailure(s *Scenario, p string, f Failure) bool {
	from, to, isLink := parseLink(f.Target)
	zoned := len(f.Zones) > 0 || len(f.OtherZones) > 0
	switch {
	case isLink && zoned:
		field := "zones"
		if len(f.Zones) == 0 {
			field = "other_zones"
		}
		c.errorf(p+field, true, "drop "+field+":, or target: for the links between zones", "%s on the link %q takes no %s", f.Kind, f.Target, field)
		return true
	case isLink:
		c.link(s, p+"target", from, to)
		return true
	case zoned && f.Target != "":
		c.errorf(p+"target", false, fmt.Sprintf("drop target:, or zones: to act on every caller of %s", f.Target), "%s between zones takes no target, got %q", f.Kind, f.Target)
	case f.Kind == "partition" && f.Target != "":
		c.errorf(p+"target", false, `a partition cuts zones (zones: [a]) or a link (target: "frontend -> checkout")`, "partition takes no service target, got %q", f.Target)
		return true
	case f.Kind == "partition" && !zoned:
		c.missing(p+"zones", `the zones on one side of the cut, e.g. zones: [a]; or a link, target: "frontend -> checkout"`)
		return true
	case !zoned:
		return false
	}
	zones := map[string]bool{}
	var known []string
	for _, svc := range s.Services {
		for _, z := range svc.Zones {
			if !zones[z] {
				zones[z] = true
				known = append(known, z)
			}
		}
	}
	for _, wl := range s.Workloads {
		if wl.Zone != "" && !zones[wl.Zone] {
			zones[wl.Zone] = true
			known = append(known, wl.Zone)
		}
	}
	if len(f.Zones) == 0 {
		c.missing(p+"zones", "the zones on one side, e.g. zones: [a]")
	}
	for k, z := range f.Zones {
		if !zones[z] {
			c.errorf(fmt.Sprintf("%szones[%d]", p, k), false, didYouMean(z, known), "no service or workload is in zone %q", z)
		}
	}
	for k, z := range f.OtherZones {
		switch {
		case !zones[z]:
			c.errorf(fmt.Sprintf("%sother_zones[%d]", p, k), false, didYouMean(z, known), "no service or workload is in zone %q", z)
		case slices.Contains(f.Zones, z):
			c.errorf(fmt.Sprintf("%sother_zones[%d]", p, k), false, "a zone is on one side of a link", "zone %q is in zones too", z)
		}
	}
	return true
}

// link checks a link target "from -> to": from is a service or a
// workload that calls the service to.
func (c *checker) link(s *Scenario, path, from, to string) {
	var callers, services []string
	calls := map[string][]string{} // each caller's targets, in order
	for _, svc := range s.Services {
		services = append(services, svc.Name)
		callers = append(callers, svc.Name)
		var out []string
		if a := svc.Auth; a != nil && a.Service != "" {
			out = append(out, a.Service)
		}
		for _, rt := range svc.Routes {
			out = append(out, rt.To)
			for _, d := range rt.Split {
				out = append(out, d.To)
			}
		}
		for _, st := range svc.Calls {
			out = append(out, st.To)
			for _, call := range st.Parallel {
				out = append(out, call.To)
			}
		}
		calls[svc.Name] = out
	}
	for _, wl := range s.Workloads {
		callers = append(callers, wl.Name)
		if wl.Publish == "" {
			calls[wl.Name] = append(calls[wl.Name], wl.Target)
		}
	}
	const write = `write "frontend -> checkout"`
	switch {
	case from == "" || to == "" || strings.Contains(to, "->"):
		c.errorf(path, false, write, "malformed link %q", strings.Join([]string{from, to}, " -> "))
	case strings.ContainsAny(from+to, "[]"):
		c.errorf(path, false, write, "a link joins services, not instances: %q", from+" -> "+to)
	case from == to:
		c.errorf(path, false, fmt.Sprintf("for every caller of %s, write target: %s", to, to), "a link joins two services, got %s to itself", to)
	case !slices.Contains(callers, from):
		if !c.bad.covers("services") && !c.bad.covers("workloads") {
			c.errorf(path, false, didYouMean(from, callers), "no service or workload named %q", from)
		}
	case !slices.Contains(services, to):
		if !c.bad.covers("services") {
			c.errorf(path, false, didYouMean(to, services), "no service named %q", to)
		}
	case !slices.Contains(calls[from], to):
		out := slices.DeleteFunc(slices.Clone(calls[from]), func(t string) bool { return t == "" })
		hint := from + " calls no service"
		if len(out) > 0 {
			hint = from + " calls " + sortedList(out)
		}
		c.errorf(path, false, hint, "%s does not call %s", from, to)
	}
}

// randomFailures checks the random failure processes and the control
// plane.
func (c *checker) randomFailures(s *Scenario) {
	replicas := map[string]int{}
	var names []string
	for _, svc := range s.Services {
		replicas[svc.Name] = svc.Replicas
		names = append(names, svc.Name)
	}
	for i, rf := range s.RandomFailures {
		p := fmt.Sprintf("random_failures[%d].", i)
		switch rf.Kind {
		case "crash":
		case "broker_down":
			if svc, idx, err := parseTarget(rf.Target); err != nil || svc != "broker" || idx < 0 || idx >= max(s.Bus.Brokers, 1) {
				c.errorf(p+"target", false, fmt.Sprintf(`"broker[i]" with i from 0 to %d`, max(s.Bus.Brokers, 1)-1), "broker_down targets one broker, got %q", rf.Target)
			}
		case "":
			c.missing(p+"kind", "crash or broker_down")
		default:
			c.errorf(p+"kind", false, didYouMean(rf.Kind, []string{"crash", "broker_down"}), "unknown random failure kind %q (crash, broker_down)", rf.Kind)
		}
		if rf.Kind != "broker_down" { // a broker's target is checked above
			if rf.Target == "" {
				c.missing(p+"target", `a service ("checkout") or one instance ("checkout[2]")`)
			} else if svc, idx, err := parseTarget(rf.Target); err != nil {
				c.errorf(p+"target", false, `write "checkout" or "checkout[2]"`, "%v", err)
			} else if n, ok := replicas[svc]; !ok && !c.bad.covers("services") {
				c.errorf(p+"target", false, didYouMean(svc, names), "no service named %q", svc)
			} else if ok && idx >= n {
				c.errorf(p+"target", false, fmt.Sprintf("%s has instances 0 to %d", svc, n-1), "no instance %s[%d]", svc, idx)
			}
		}
		for _, d := range []struct {
			name string
			spec *DistSpec
		}{{"mtbf", rf.MTBF}, {"mttr", rf.MTTR}} {
			if d.spec == nil {
				c.missing(p+d.name, "a distribution, e.g. {dist: exponential, mean: 1h}")
				continue
			}
			if dd := c.dist(p+d.name, d.spec, false); dd != nil && d.name == "mtbf" && dd.Mean() <= 0 {
				c.errorf(p+d.name, false, "", "the mean time to failure must be positive")
			}
		}
	}
	if d := s.ControlPlane.Discovery; d != nil && d.Delay != nil {
		c.dist("control_plane.discovery.delay", d.Delay, false)
	}
}

// parseTarget splits "svc" (idx -1) or "svc[i]".
func parseTarget(t string) (svc string, idx int, err error) {
	open := strings.IndexByte(t, '[')
	if open < 0 {
		return t, -1, nil
	}
	if !strings.HasSuffix(t, "]") || open == 0 {
		return "", 0, fmt.Errorf("malformed target %q", t)
	}
	idx, err = strconv.Atoi(t[open+1 : len(t)-1])
	if err != nil || idx < 0 {
		return "", 0, fmt.Errorf("malformed instance index in %q", t)
	}
	return t[:open], idx, nil
}

// calls checks every service's call steps: targets exist, parallel steps
// are well formed, and the call graph has no cycle (a cycle would make a
// request wait on itself).
func (c *checker) calls(s *Scenario) {
	index := map[string]int{}
	var names []string
	for i, svc := range s.Services {
		index[svc.Name] = i
		names = append(names, svc.Name)
	}
	edges := make([][]int, len(s.Services))
	check := func(path, to string, from int) {
		j, ok := index[to]
		switch {
		case to == "":
			c.missing(path, "the name of a service")
		case !ok:
			c.errorf(path, false, didYouMean(to, names), "no service named %q", to)
		default:
			edges[from] = append(edges[from], j)
		}
	}
	for i, svc := range s.Services {
		if a := svc.Auth; a != nil {
			p := fmt.Sprintf("services[%d].auth", i)
			switch {
			case a.Service != "" && a.Cost != nil:
				c.errorf(p, false, "use either service: or cost:", "auth is a call to a service or a local cost, not both")
			case a.Service != "":
				check(p+".service", a.Service, i)
			case a.Cost != nil:
				c.dist(p+".cost", a.Cost, false)
			default:
				c.errorf(p, false, "e.g. auth: {service: auth} or auth: {cost: {dist: constant, value: 200us}}", "auth needs service: or cost:")
			}
			if !(a.Deny >= 0 && a.Deny <= 1) {
				c.errorf(p+".deny", false, "", "must be between 0 and 1, got %g", a.Deny)
			}
		}
		if len(svc.Routes) > 0 && len(svc.Calls) > 0 {
			c.errorf(fmt.Sprintf("services[%d].routes", i), false, "put the calls in the services the routes lead to", "a gateway (routes:) cannot also have calls:")
		}
		for k, rt := range svc.Routes {
			p := fmt.Sprintf("services[%d].routes[%d]", i, k)
			if !strings.HasPrefix(rt.Match, "/") {
				c.errorf(p+".match", false, "e.g. match: /checkout", "a route matches a path prefix starting with /, got %q", rt.Match)
			}
			for m, h := range rt.Headers {
				if h.Name == "" {
					c.missing(fmt.Sprintf("%s.headers[%d].name", p, m), "a header name, e.g. x-canary")
				}
			}
			if rt.ownPolicy() {
				c.routePolicy(s, p, rt)
			}
			switch {
			case rt.To != "" && len(rt.Split) > 0:
				c.errorf(p, false, "use either to: or split:", "a route has one destination or a split, not both")
			case rt.To != "":
				check(p+".to", rt.To, i)
			case len(rt.Split) > 0:
				total := 0
				for m, d := range rt.Split {
					check(fmt.Sprintf("%s.split[%d].to", p, m), d.To, i)
					if d.Weight < 0 {
						c.errorf(fmt.Sprintf("%s.split[%d].weight", p, m), false, "", "must be >= 0, got %d", d.Weight)
					}
					total += d.Weight
				}
				if total < 1 {
					c.errorf(p+".split", false, "", "the weights must add up to at least 1")
				}
			default:
				c.errorf(p, false, "e.g. {match: /checkout, to: checkout}", "a route needs to: or split:")
			}
		}
		for k, st := range svc.Calls {
			p := fmt.Sprintf("services[%d].calls[%d]", i, k)
			switch {
			case st.Publish != "" && (st.To != "" || len(st.Parallel) > 0):
				c.errorf(p, false, "use one of to:, publish: or parallel:", "a step calls one service, publishes, or calls several in parallel")
			case st.Publish != "":
				c.ref(p+".publish", st.Publish, s.Bus.destinations(), "topic, queue or pub/sub topic", "destinations")
				if st.Wait > 1 {
					c.errorf(p+".wait", false, "", "wait applies to parallel steps")
				}
			case st.To != "" && len(st.Parallel) > 0:
				c.errorf(p, false, "use either to: or parallel:", "a step calls one service or several in parallel, not both")
			case st.To != "":
				check(p+".to", st.To, i)
				if st.Wait > 1 {
					c.errorf(p+".wait", false, "", "wait applies to parallel steps")
				}
			case len(st.Parallel) > 0:
				for m, call := range st.Parallel {
					cp := fmt.Sprintf("%s.parallel[%d]", p, m)
					switch {
					case call.Publish != "" && call.To != "":
						c.errorf(cp, false, "use either to: or publish:", "a call goes to a service or publishes, not both")
					case call.Publish != "":
						c.ref(cp+".publish", call.Publish, s.Bus.destinations(), "topic, queue or pub/sub topic", "destinations")
					default:
						check(cp+".to", call.To, i)
					}
				}
				if st.Wait < 0 || st.Wait > len(st.Parallel) {
					c.errorf(p+".wait", false, "", "wait must be between 1 and %d (the calls of the step), got %d", len(st.Parallel), st.Wait)
				}
			default:
				c.errorf(p, false, "e.g. {to: payments} or {publish: orders}", "a step needs to:, publish: or parallel:")
			}
		}
	}
	// A cycle: depth-first search in service order, so the error names
	// the same services on every run.
	state := make([]int, len(s.Services)) // 0 new, 1 on the path, 2 done
	var path []int
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = 1
		path = append(path, i)
		for _, j := range edges[i] {
			if state[j] == 1 {
				var cyc []string
				for k := len(path) - 1; k >= 0; k-- {
					cyc = append([]string{s.Services[path[k]].Name}, cyc...)
					if path[k] == j {
						break
					}
				}
				c.errorf(fmt.Sprintf("services[%d].calls", i), false, "a request would wait on itself",
					"call cycle %s -> %s", strings.Join(cyc, " -> "), s.Services[j].Name)
				return true
			}
			if state[j] == 0 && visit(j) {
				return true
			}
		}
		path = path[:len(path)-1]
		state[i] = 2
		return false
	}
	for i := range s.Services {
		if state[i] == 0 && visit(i) {
			return
		}
	}
}

// routePolicy checks a route's own timeouts, retries and hedging over
// each of its destinations' sidecar blocks.
func (c *checker) routePolicy(s *Scenario, path string, rt RouteSpec) {
	dests := []string{rt.To}
	if rt.To == "" {
		dests = dests[:0]
		for _, d := range rt.Split {
			dests = append(dests, d.To)
		}
	}
	for _, to := range dests {
		for _, svc := range s.Services {
			if svc.Name != to {
				continue
			}
			if _, err := rt.over(svc.Sidecar).Policy(); err != nil {
				c.errorf(path, false, "", "%s", strings.TrimPrefix(err.Error(), sidecar.ErrConfig.Error()+": "))
				return
			}
		}
	}
}

// network checks the network block and the zone names.
func (c *checker) network(s *Scenario) {
	if d := s.Network.SameZone; d != nil {
		c.dist("network.same_zone", d, false)
	}
	if d := s.Network.CrossZone; d != nil {
		c.dist("network.cross_zone", d, false)
	}
	if f := s.Network.ConnectFailure; !(f >= 0 && f <= 1) {
		c.errorf("network.connect_failure", false, "", "must be between 0 and 1, got %g", f)
	}
	for i, svc := range s.Services {
		for k, z := range svc.Zones {
			c.name(fmt.Sprintf("services[%d].zones[%d]", i, k), z)
		}
	}
	for i, w := range s.Workloads {
		if w.Zone != "" {
			c.name(fmt.Sprintf("workloads[%d].zone", i), w.Zone)
		}
	}
}

// routes checks that every workload's route reaches a destination when its
// target is a gateway.
func (c *checker) routes(s *Scenario) {
	gateways := map[string][]RouteSpec{}
	for _, svc := range s.Services {
		if len(svc.Routes) > 0 {
			gateways[svc.Name] = svc.Routes
		}
	}
	for i, w := range s.Workloads {
		routes, ok := gateways[w.Target]
		if !ok {
			continue
		}
		p := fmt.Sprintf("workloads[%d].route", i)
		if w.Route == "" {
			c.errorf(fmt.Sprintf("workloads[%d].target", i), false, "add route: /path", "%s is a gateway: the workload needs a route", w.Target)
			continue
		}
		if matchRoute(routes, w.Route, w.Headers) < 0 {
			var matches []string
			for _, r := range routes {
				matches = append(matches, r.Match+headerList(r.Headers, " (", ")"))
			}
			with := ""
			if len(w.Headers) > 0 {
				with = " with headers" + headerList(w.Headers, " ", "")
			} else if strings.Contains(strings.Join(matches, ""), "(") {
				with = " with no headers"
			}
			c.errorf(p, false, "routes of "+w.Target+": "+strings.Join(matches, ", "), "no route of %s matches %q%s", w.Target, w.Route, with)
		}
	}
}

// matchRoute returns the index of the route that takes a request with
// path and headers, or -1. A route matches when its match is a prefix of
// the path and the request carries each of its headers with that exact
// value. Among matching routes, the Kubernetes Gateway API's precedence
// applies (HTTPRoute "matches": the longest path match, then the most
// header matches, then the first listed); Envoy and Istio take the first
// match in listed order, which gives the same answer when routes are
// listed from the most specific, as their docs advise.
func matchRoute(routes []RouteSpec, path string, headers []Header) int {
	best, bestLen, bestHeaders := -1, -1, -1
	for i, r := range routes {
		if !strings.HasPrefix(path, r.Match) || !hasHeaders(headers, r.Headers) {
			continue
		}
		if len(r.Match) > bestLen || (len(r.Match) == bestLen && len(r.Headers) > bestHeaders) {
			best, bestLen, bestHeaders = i, len(r.Match), len(r.Headers)
		}
	}
	return best
}

// headerList formats headers as "name: value, ...", between before and
// after, or "" when there are none.
func headerList(hs []Header, before, after string) string {
	if len(hs) == 0 {
		return ""
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Name + ": " + h.Value
	}
	return before + strings.Join(parts, ", ") + after
}

// hasHeaders reports whether every header of want is in have with the
// same value. Header names are case-insensitive, as in HTTP.
func hasHeaders(have, want []Header) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h.Name, w.Name) && h.Value == w.Value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
