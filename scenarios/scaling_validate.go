package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/autoscale"
	"github.com/meshsim/meshsim/models/health"
	"github.com/meshsim/meshsim/models/rollout"
)

// The enums of the control plane's blocks.
var (
	autoscaleMetrics = []string{"in_flight", "utilization"}
	policyTypes      = []string{"percent", "pods"}
)

// defaultGracePeriod is Kubernetes' terminationGracePeriodSeconds.
const defaultGracePeriod = 30 * time.Second

// maxDeploys bounds the deploys of a scenario.
const maxDeploys = 1000

// intOrPercentRE is what max_surge and max_unavailable look like.
var intOrPercentRE = regexp.MustCompile(`^[0-9]+%?$`)

// parse turns x into rollout's form; the zero value is "the default".
func (x IntOrPercent) parse() (rollout.IntOrPercent, bool) {
	s := strings.TrimSpace(string(x))
	if s == "" {
		return rollout.IntOrPercent{}, true
	}
	if !intOrPercentRE.MatchString(s) {
		return rollout.IntOrPercent{}, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n > rollout.MaxReplicas {
		return rollout.IntOrPercent{}, false
	}
	if strings.HasSuffix(s, "%") {
		return rollout.Pct(n), true
	}
	return rollout.Count(n), true
}

// config returns the autoscaler's configuration.
func (a *Autoscale) config() autoscale.Config {
	c := autoscale.Config{
		MinReplicas: a.MinReplicas, MaxReplicas: a.MaxReplicas,
		SyncPeriod: time.Duration(a.SyncPeriod),
	}
	if a.Metric == "in_flight" {
		c.Metric = autoscale.AverageValue
		c.Target = int64(math.Round(a.Target * 1000))
	} else {
		c.Metric = autoscale.Utilization
		c.Target = int64(a.Target)
	}
	if a.Tolerance != nil {
		c.Tolerance = autoscale.Frac(*a.Tolerance)
	}
	if w := a.ScaleDownStabilization; w != nil {
		c.ScaleDown.StabilizationWindow = autoscale.WindowOf(time.Duration(*w))
	}
	if w := a.ScaleUpStabilization; w != nil {
		c.ScaleUp.StabilizationWindow = autoscale.WindowOf(time.Duration(*w))
	}
	c.ScaleUp.Policies = policies(a.ScaleUpPolicies)
	c.ScaleDown.Policies = policies(a.ScaleDownPolicies)
	return c
}

func policies(ps []ScalingPolicy) []autoscale.Policy {
	if ps == nil {
		return nil
	}
	out := make([]autoscale.Policy, 0, len(ps))
	for _, p := range ps {
		t := autoscale.Pods
		if p.Type == "percent" {
			t = autoscale.Percent
		}
		out = append(out, autoscale.Policy{Type: t, Value: p.Value, Period: time.Duration(p.Period)})
	}
	return out
}

// config returns the health checker's configuration.
func (h *HealthCheck) config() health.Config {
	return health.Config{
		Timeout: time.Duration(h.Timeout), Interval: time.Duration(h.Interval),
		UnhealthyThreshold: h.UnhealthyThreshold, HealthyThreshold: h.HealthyThreshold,
		InitialJitter: time.Duration(h.InitialJitter), IntervalJitter: time.Duration(h.IntervalJitter),
		IntervalJitterPercent: h.IntervalJitterPercent,
		UnhealthyInterval:     time.Duration(h.UnhealthyInterval), UnhealthyEdgeInterval: time.Duration(h.UnhealthyEdgeInterval),
		HealthyEdgeInterval: time.Duration(h.HealthyEdgeInterval),
	}
}

// strategy returns the deploy's rolling-update strategy.
func (d *Deploy) strategy() rollout.Config {
	s, _ := d.MaxSurge.parse()
	u, _ := d.MaxUnavailable.parse()
	return rollout.Config{MaxSurge: s, MaxUnavailable: u, MinReady: time.Duration(d.MinReady)}
}

// modelErr is a model's configuration error without its package prefix,
// and the snake_case field it names, if it names one of fields.
func modelErr(err error, prefix error, fields []string) (field, msg string) {
	msg = strings.TrimPrefix(err.Error(), prefix.Error()+": ")
	for _, f := range fields {
		if strings.HasPrefix(msg, f+" ") || strings.HasPrefix(msg, f+".") {
			return f, msg
		}
	}
	return "", msg
}

// scaling checks the autoscalers, health checks, grace periods and
// deploys.
func (c *checker) scaling(s *Scenario) {
	index := map[string]int{}
	var names []string
	for i, svc := range s.Services {
		index[svc.Name] = i
		names = append(names, svc.Name)
	}
	for i := range s.Services {
		svc := &s.Services[i]
		p := fmt.Sprintf("services[%d].", i)
		if svc.TerminationGracePeriod < 0 {
			c.errorf(p+"termination_grace_period", false, "", "must not be negative")
		}
		if a := svc.Autoscale; a != nil {
			c.autoscale(p+"autoscale", svc, a)
		}
		if h := svc.Sidecar.HealthCheck; h != nil {
			if err := h.config().Validate(); err != nil {
				f, msg := modelErr(err, health.ErrConfig, []string{"timeout", "interval", "unhealthy_threshold", "healthy_threshold",
					"initial_jitter", "interval_jitter_percent", "interval_jitter", "unhealthy_interval", "unhealthy_edge_interval", "healthy_edge_interval"})
				c.errorf(joinPath(p+"sidecar.health_check", f), false, "", "%s", msg)
			}
		}
	}
	if len(s.Deploys) > maxDeploys {
		c.errorf("deploys", false, "", "%d deploys; the limit is %d", len(s.Deploys), maxDeploys)
	}
	for i := range s.Deploys {
		d := &s.Deploys[i]
		p := fmt.Sprintf("deploys[%d].", i)
		if d.Name != "" {
			c.name(p+"name", d.Name)
		}
		if d.At >= s.Duration && s.Duration > 0 {
			c.errorf(p+"at", false, "", "at %v is not before the end of the run (%v)", time.Duration(d.At), time.Duration(s.Duration))
		}
		k, ok := index[d.Service]
		switch {
		case d.Service == "":
			c.missing(p+"service", "the name of the service to deploy")
		case !ok && !c.bad.covers("services"):
			c.errorf(p+"service", false, didYouMean(d.Service, names), "no service named %q", d.Service)
		}
		v := d.Version
		if v.Name != "" {
			c.name(p+"version.name", v.Name)
			earlier := v.Name == "v0"
			for _, e := range s.Deploys[:i] {
				earlier = earlier || (e.Service == d.Service && e.Version.Name == v.Name)
			}
			if earlier && (v.ServiceTime != nil || v.Errors != nil || v.Latency != nil) {
				c.errorf(p+"version", false, "a deploy that names an earlier version (v0 is the service's own) rolls back to it",
					"version %s is defined already: give only its name", v.Name)
			}
		}
		if v.ServiceTime != nil {
			c.dist(p+"version.service_time", v.ServiceTime, false)
		}
		if v.Latency != nil {
			c.dist(p+"version.latency", v.Latency, false)
		}
		if e := v.Errors; e != nil && !(e.Probability >= 0 && e.Probability <= 1) {
			c.errorf(p+"version.errors.probability", false, "", "must be between 0 and 1, got %g", e.Probability)
		}
		fieldsOK := true
		for _, f := range []struct {
			name string
			v    IntOrPercent
		}{{"max_surge", d.MaxSurge}, {"max_unavailable", d.MaxUnavailable}} {
			if _, ok := f.v.parse(); !ok {
				c.errorf(p+f.name, false, `a count (2) or a percentage of replicas ("25%")`, "malformed %s %q", f.name, string(f.v))
				fieldsOK = false
			}
		}
		if fieldsOK && ok {
			cfg := d.strategy()
			cfg.Replicas = s.Services[k].Replicas
			if err := cfg.Validate(); err != nil {
				f, msg := modelErr(err, rollout.ErrConfig, []string{"max_surge", "max_unavailable", "min_ready"})
				c.errorf(strings.TrimSuffix(p+f, "."), false, "", "%s", msg)
			}
		}
	}
}

// autoscale checks one service's autoscale block.
func (c *checker) autoscale(path string, svc *Service, a *Autoscale) {
	p := path + "."
	if !c.pos.present(p + "max_replicas") {
		c.missing(p+"max_replicas", "e.g. max_replicas: 10")
	} else if a.MaxReplicas > maxReplicas {
		c.errorf(p+"max_replicas", false, "", "must be at most %d, got %d", maxReplicas, a.MaxReplicas)
	}
	if a.Metric != "" && !slices.Contains(autoscaleMetrics, a.Metric) {
		c.errorf(p+"metric", false, didYouMean(a.Metric, autoscaleMetrics), "unknown metric %q (utilization or in_flight)", a.Metric)
	}
	switch {
	case !c.pos.present(p + "target"):
		c.missing(p+"target", "e.g. target: 60 (percent) for utilization, target: 10 (requests per pod) for in_flight")
	case !(a.Target > 0):
		c.errorf(p+"target", false, "", "must be positive, got %g", a.Target)
	case a.Metric != "in_flight" && a.Target != math.Trunc(a.Target):
		c.errorf(p+"target", false, "", "a utilization target is a whole percentage, got %g", a.Target)
	case a.Metric == "in_flight" && math.Round(a.Target*1000) < 1:
		c.errorf(p+"target", false, "", "an in_flight target is at least 0.001, got %g", a.Target)
	}
	for _, set := range []struct {
		name string
		ps   []ScalingPolicy
	}{{"scale_up_policies", a.ScaleUpPolicies}, {"scale_down_policies", a.ScaleDownPolicies}} {
		for k, pol := range set.ps {
			if !slices.Contains(policyTypes, pol.Type) {
				c.errorf(fmt.Sprintf("%s%s[%d].type", p, set.name, k), false, didYouMean(pol.Type, policyTypes), "unknown policy type %q (pods or percent)", pol.Type)
			}
		}
	}
	if c.bad.covers(path) {
		return
	}
	cfg := a.config()
	if err := cfg.Validate(); err != nil && a.Target > 0 {
		f, msg := modelErr(err, autoscale.ErrConfig, []string{"min_replicas", "max_replicas", "target", "tolerance", "sync_period"})
		c.errorf(strings.TrimSuffix(p+f, "."), false, "", "%s", msg)
		return
	}
	if n := cfg.WithDefaults(); svc.Replicas < n.MinReplicas || svc.Replicas > n.MaxReplicas {
		c.errorf(strings.TrimSuffix(p, ".autoscale.")+".replicas", false, "replicas is the count at the start",
			"replicas %d is outside the autoscaler's [%d, %d]", svc.Replicas, n.MinReplicas, n.MaxReplicas)
	}
}
