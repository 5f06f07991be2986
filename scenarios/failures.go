package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// failureKinds are the failure kinds modelled so far.
var failureKinds = []string{"errors", "slow"}

// failures checks the failure timeline: kinds, targets, times and the
// parameters of each kind.
func (c *checker) failures(s *Scenario) {
	replicas := map[string]int{}
	var names []string
	for _, svc := range s.Services {
		replicas[svc.Name] = svc.Replicas
		names = append(names, svc.Name)
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
			if f.Status != 0 && f.Status != 500 && f.Status != 503 {
				c.errorf(p+"status", false, "meshsim models 500 (an error) and 503 (unavailable)", "unsupported status %d", f.Status)
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
		if f.Target == "" {
			c.missing(p+"target", `a service ("checkout") or one instance ("checkout[2]")`)
			continue
		}
		svc, idx, err := parseTarget(f.Target)
		if err != nil {
			c.errorf(p+"target", false, `write "checkout" or "checkout[2]"`, "%v", err)
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
