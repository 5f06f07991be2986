package scenarios

// Autoscale is a Kubernetes Horizontal Pod Autoscaler on the service
// (models/autoscale): every sync_period it reads the metric of the ready
// pods and sets the replicas to ceil(replicas x metric / target), within
// the tolerance, the stabilisation windows, the rate limits and
// [min_replicas, max_replicas]. New pods start at once and are ready, and
// registered, after the service's readiness_delay; removed pods drain
// (termination_grace_period).
//
//	autoscale: {min_replicas: 2, max_replicas: 20, metric: utilization, target: 60}
type Autoscale struct {
	// MinReplicas is the lower bound; default 1.
	MinReplicas int `yaml:"min_replicas"`
	// MaxReplicas is the upper bound; required. The service's pool holds
	// max(replicas, max_replicas) instances (plus the largest max_surge of
	// its deploys), created at the start; those beyond replicas start
	// down and unregistered.
	MaxReplicas int `yaml:"max_replicas"`
	// Metric is utilization (default: each ready pod's busy slots over its
	// slots, averaged over the last sync period, or since the pod became
	// ready if later; a pod's cpu request is its concurrency) or in_flight
	// (the requests each ready pod holds at the sync: queued, in service
	// or waiting on calls).
	Metric string `yaml:"metric"`
	// Target is the average the autoscaler aims at: a whole percentage for
	// utilization (60 for 60%), requests per pod for in_flight (a
	// multiple of 0.001). Required.
	Target float64 `yaml:"target"`
	// SyncPeriod is the time between syncs; default 15s. The first sync is
	// one period after the start.
	SyncPeriod Duration `yaml:"sync_period"`
	// Tolerance is the relative deviation from the target within which
	// nothing changes; default 0.1.
	Tolerance *float64 `yaml:"tolerance"`
	// ScaleDownStabilization keeps the highest proposal of this window on
	// the way down; default 5m.
	ScaleDownStabilization *Duration `yaml:"scale_down_stabilization"`
	// ScaleUpStabilization keeps the lowest proposal of this window on the
	// way up; default 0.
	ScaleUpStabilization *Duration `yaml:"scale_up_stabilization"`
	// ScaleUpPolicies limit the rate of scale-up (the most permissive
	// applies); default 4 pods or 100% per 15s.
	ScaleUpPolicies []ScalingPolicy `yaml:"scale_up_policies"`
	// ScaleDownPolicies limit the rate of scale-down; default 100% per
	// 15s.
	ScaleDownPolicies []ScalingPolicy `yaml:"scale_down_policies"`
}

// ScalingPolicy is one HPAScalingPolicy: at most value pods, or value
// percent of the replicas, per period.
//
//	{type: pods, value: 4, period: 15s}
type ScalingPolicy struct {
	Type   string   `yaml:"type"` // pods or percent
	Value  int      `yaml:"value"`
	Period Duration `yaml:"period"`
}

// Deploy is a rolling update of a service to a new version
// (models/rollout, Kubernetes' RollingUpdate strategy): new pods of the
// version start, become ready after the service's readiness_delay, and
// replace the old ones, which drain; at every instant at most replicas +
// max_surge pods exist (draining ones aside) and at least replicas -
// max_unavailable are available. The deploy is an interval on the
// timeline, from at until every pod runs the version.
//
// The service runs on a pool of replicas + max_surge instances (with
// autoscale, max_replicas + max_surge; the largest max_surge of its
// deploys): the capacity its pods fit in. A new pod that finds no free
// instance, because old pods are still draining, waits (Pending) until
// one stops, so a long drain slows the deploy down.
// Instances keep their random streams whatever pod runs on them.
//
//	deploys: [{at: 2m, service: api, version: {name: v2, errors: {probability: 0.1}}, max_surge: 1, max_unavailable: 0}]
type Deploy struct {
	// Name, optional, lets variants change the deploy
	// (deploys.<name>.max_surge).
	Name    string      `yaml:"name"`
	At      Duration    `yaml:"at"`
	Service string      `yaml:"service"`
	Version VersionSpec `yaml:"version"`
	// MaxSurge is the pods allowed above replicas: a count or a
	// percentage of replicas, rounded up; default 25%.
	MaxSurge IntOrPercent `yaml:"max_surge"`
	// MaxUnavailable is the pods allowed below replicas: a count or a
	// percentage, rounded down; default 25%. Not both 0.
	MaxUnavailable IntOrPercent `yaml:"max_unavailable"`
	// MinReady is how long a new pod must be ready before it counts as
	// available (minReadySeconds); default 0.
	MinReady Duration `yaml:"min_ready"`
}

// VersionSpec is what a version of a service's code does. Fields left out
// keep the service's own (version v0's) settings. A deploy that gives only
// the name of an earlier version of the service (v0 is its own) rolls
// back to it: {version: {name: v0}}.
type VersionSpec struct {
	// Name labels the version in results; default v1, v2, ... in the
	// order of the service's deploys.
	Name        string     `yaml:"name"`
	ServiceTime *DistSpec  `yaml:"service_time"`
	Errors      *ErrorRate `yaml:"errors"`
	// Latency is added to every request's service time, holding the slot
	// (a slower code path or dependency); default none.
	Latency *DistSpec `yaml:"latency"`
}

// IntOrPercent is Kubernetes' IntOrString for max_surge and
// max_unavailable: a count of pods (2) or a percentage of replicas
// ("25%").
type IntOrPercent string

// HealthCheck is Envoy's active health checking of the service's
// instances by each caller's proxy (models/health): a probe every
// interval, over the network (the same latency as requests), answered at
// once by an instance that is up (health endpoints do not queue behind
// requests) and refused by one that is down. A host is routable only when
// its checks pass and outlier detection has not ejected it. Fields left
// out take Envoy Gateway's defaults (timeout 1s, interval 3s,
// unhealthy_threshold 3, healthy_threshold 1) and Envoy's (no jitter).
//
//	health_check: {interval: 5s, timeout: 1s, unhealthy_threshold: 2}
type HealthCheck struct {
	Timeout               Duration `yaml:"timeout"`
	Interval              Duration `yaml:"interval"`
	UnhealthyThreshold    int      `yaml:"unhealthy_threshold"`
	HealthyThreshold      int      `yaml:"healthy_threshold"`
	InitialJitter         Duration `yaml:"initial_jitter"`
	IntervalJitter        Duration `yaml:"interval_jitter"`
	IntervalJitterPercent int      `yaml:"interval_jitter_percent"`
	UnhealthyInterval     Duration `yaml:"unhealthy_interval"`      // default interval
	UnhealthyEdgeInterval Duration `yaml:"unhealthy_edge_interval"` // default unhealthy_interval
	HealthyEdgeInterval   Duration `yaml:"healthy_edge_interval"`   // default interval
}
