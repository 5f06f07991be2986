// Package autoscale models the Kubernetes Horizontal Pod Autoscaler for one
// scale target (a Deployment): every sync period it reads the target's
// metric, proposes a replica count, stabilises it over a window, limits the
// rate of change and sets the target's replicas.
//
// Sources: kubernetes pkg/controller/podautoscaler/horizontal.go
// (reconcileAutoscaler, normalizeDesiredReplicasWithBehaviors,
// stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate,
// calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors,
// and the legacy normalizeDesiredReplicas), replica_calculator.go
// (GetResourceReplicas, calcPlainMetricReplicas, groupPods),
// metrics/utilization.go, pkg/apis/autoscaling/v2/defaults.go (the default
// behavior), and the kube-controller-manager flags
// --horizontal-pod-autoscaler-sync-period (15 s), -tolerance (0.1) and
// -downscale-stabilization (5 min).
//
// # One sync
//
//  1. Observe the target: spec replicas (current), the ready pods that
//     have a metric, the unready pods, and the total of the metric over
//     the ready pods.
//  2. If current is 0 (and min_replicas is not), autoscaling is disabled:
//     do nothing. If current is above max_replicas or below min_replicas,
//     set it to the bound at once (no stabilisation, no rate limit), as
//     reconcileAutoscaler does.
//  3. Otherwise propose ceil(ratio * ready), where ratio = metric/target,
//     or keep current if |1 - ratio| <= tolerance. The metric is the
//     average over the ready pods, truncated as Kubernetes truncates it: a
//     whole percentage of the request for Utilization
//     (GetResourceUtilizationRatio), a whole milli-unit for AverageValue
//     (GetMetricUtilizationRatio). The documented formula
//     ceil(current * metric/target) is this with every pod ready.
//  4. Unready pods are the ones groupPods ignores (Pending pods for every
//     metric; for cpu also pods not yet ready within the cpu
//     initialisation period): the integrator counts as unready the pods
//     whose readiness delay has not elapsed. They are left out of the
//     average. If the ratio asks to scale up, it is recomputed with them
//     counted at 0 over ready+unready pods; if that ratio is within the
//     tolerance or on the other side of 1, current is kept, else the
//     proposal is ceil(new ratio * (ready+unready)). On a scale-down they
//     are simply left out. Pods that are ready but have no metric
//     ("missing" pods) are not modelled: every ready pod has one. A sync
//     with no ready pod does nothing, as Kubernetes fails it.
//  5. Stabilise (behavior path): the recommendation is current, raised to
//     the minimum of the proposals over the scale-up window and lowered to
//     the maximum of the proposals over the scale-down window, the new
//     proposal included. A proposal is in a window of w if it was made
//     after now - w (strictly). With the defaults (scale-up window 0,
//     scale-down 300 s) this keeps the highest proposal of the last five
//     minutes on the way down and follows the proposal on the way up.
//  6. Limit the rate: each policy allows, from the replica count at the
//     start of its period (current minus the additions plus the removals
//     made after now - period), Value more pods (Pods) or Value percent
//     more, rounded up (Percent); on the way down Value fewer pods or
//     Value percent fewer, rounded down. select_policy Max takes the most
//     permissive policy, Min the least, Disabled forbids the direction.
//     Clamp to [min_replicas, max_replicas].
//  7. If the result differs from current, call Scaler.SetReplicas and
//     remember the change for the rate limits.
//
// # Defaults (the v2 default behavior)
//
// Scale up: stabilization window 0, select Max of {4 pods per 15 s, 100%
// per 15 s} (pkg/apis/autoscaling/v2/defaults.go, defaultHPAScaleUpRules):
// at most max(2*current, current+4) per 15 s. Scale down: stabilization
// window 300 s (the controller's --horizontal-pod-autoscaler-downscale-
// stabilization, since the API leaves it unset), 100% per 15 s: no rate
// limit beyond the window. Sync period 15 s, tolerance 0.1, min_replicas
// 1. max_replicas and the target have no default.
//
// Kubernetes fills these defaults only when the HPA object has a behavior
// field. An HPA without one takes the legacy path (normalizeDesiredReplicas),
// which Config.Legacy selects: the recommendation is the maximum of the
// proposals made at or after now - 300 s (inclusive), in both directions,
// then capped at max(2*current, 4) and clamped to [min, max]. With syncs
// exactly 15 s apart the two paths differ only there: the legacy window
// holds one more proposal, and on the way up it keeps a higher recent
// proposal instead of the current one.
//
// # Timing
//
// The first sync runs one sync period after Start, then every period: a
// simulator's metric needs one window of data before it means anything
// (Kubernetes syncs a new HPA at once, on metrics that metrics-server has
// been collecting all along). Proposals and scale events older than every
// window and period are reused in place, so memory is bounded by
// window/period, and a sync allocates nothing once the decision log is
// full or not growing.
//
// # Integration
//
// The integrator implements Metrics (read the target) and Scaler (set its
// replicas: start or drain pods, for example through models/rollout, whose
// planner owns the Deployment's pods):
//
//	type target struct{ ... } // the service's instances
//	func (t *target) Observe() autoscale.Observation {
//		return autoscale.Observation{
//			Replicas: t.spec,            // what SetReplicas last set
//			Ready:    t.ready(),         // pods past their readiness delay
//			Unready:  t.starting(),      // pods created, not yet ready
//			Usage:    t.busyMilli(),     // sum over ready pods: busy fraction of
//			                             // each pod's workers x 1000 (Utilization),
//			                             // or in-flight requests x 1000 (AverageValue)
//		}
//	}
//	func (t *target) SetReplicas(n int) { t.spec = n; /* start or drain pods */ }
//
//	hpa, err := autoscale.New(s, autoscale.Config{
//		MaxReplicas: 20, Metric: autoscale.Utilization, Target: 60, // 60%
//	}, t, t)
//	hpa.Start()
//
// Decisions returns a bounded log of every sync for reports and timelines.
// Everything is deterministic: no goroutines, no wall clock, no randomness.
package autoscale
