// Package rollout models a Kubernetes Deployment with the RollingUpdate
// strategy: the deployment controller's rolling update
// (kubernetes pkg/controller/deployment/rolling.go: rolloutRolling,
// reconcileNewReplicaSet, reconcileOldReplicaSets,
// cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate), its
// arithmetic (pkg/controller/deployment/util/deployment_util.go:
// NewRSNewReplicas, MaxUnavailable, ResolveFenceposts, DeploymentComplete,
// DeploymentProgressing, DeploymentTimedOut), and the ReplicaSet
// controller's choice of pods to delete (pkg/controller/controller_utils.go,
// ActivePodsWithRanks), for one Deployment whose pods the integrator runs.
//
// # The algorithm
//
// A Deployment has one ReplicaSet per version; the newest is the new RS,
// the others are old, oldest first. On every change the planner
// reconciles, repeating until nothing changes (Kubernetes reaches the same
// fixed point over several syncs; the planner's control loops have no
// latency):
//
//   - Scale the new RS up by min(replicas + max_surge - total,
//     replicas - new), where total is the pods of every version. A new
//     Deployment's first RS therefore starts all its replicas at once.
//   - Scale old RSs down, oldest first, by at most
//     total - (replicas - max_unavailable) - (new RS pods not available),
//     first removing their pods that are not available
//     (cleanupUnhealthyReplicas), then available pods while more than
//     replicas - max_unavailable pods of all versions are available.
//   - Each RS then creates or deletes pods to match its count. It deletes
//     not-ready pods first, then those ready for the shortest time, then
//     the newest (ActivePodsWithRanks, minus the node-level criteria).
//
// So at every instant, counting pods that are not terminating as
// Kubernetes does: total <= replicas + max_surge, and, if every pod was
// available when the rollout started and none fails, available >=
// replicas - max_unavailable. A pod is available once it has been ready
// for min_ready (minReadySeconds); Kubernetes requires strictly longer,
// which with its one-second clock is the same within a second.
//
// max_surge and max_unavailable are counts or percentages of replicas;
// a percentage of surge rounds up and of unavailable rounds down
// (intstr.GetScaledValueFromIntOrPercent). If both resolve to 0,
// max_unavailable becomes 1 (ResolveFenceposts); max_unavailable is at
// most replicas. Defaults 25% and 25% (apps/v1 defaults), min_ready 0,
// progress_deadline 600 s.
//
// # Progress, completion and the deadline
//
// The rollout progresses whenever the new version gains pods, old pods go
// away, or ready or available pods increase (DeploymentProgressing). If it
// makes no progress for progress_deadline it is reported once as
// ProgressDeadlineExceeded, as Kubernetes sets the Progressing condition
// to False; like Kubernetes the planner does not roll back and keeps
// reconciling, so a version that never becomes ready stalls with
// replicas - max_unavailable old pods serving and new pods not ready. It
// is Complete once every pod is of the new version and available
// (DeploymentComplete). Kubernetes checks the deadline on a requeue a
// moment after it passes; the planner fires exactly at
// last progress + progress_deadline.
//
// Not modelled: proportional scaling of several RSs when replicas change
// mid-rollout (SetReplicas reconciles with the rules above, which keep both
// bounds but may distribute differently), pausing, revision history
// limits, the Recreate strategy, and pod placement.
//
// # Integration
//
// The integrator runs the pods: StartPod creates an instance of a
// version (its readiness delay then starts), TerminatePod drains and stops
// one (the planner forgets it at once; Kubernetes does not count
// terminating pods either). It reports readiness with PodReady and
// PodNotReady, and crashes with PodFailed (the RS replaces the pod):
//
//	type pods struct{ ... }
//	func (p *pods) StartPod(id rollout.PodID, version int) {
//		// create the instance with versions[version]'s service time
//		// and error rate; after its readiness delay:
//		//   d.PodReady(id)
//	}
//	func (p *pods) TerminatePod(id rollout.PodID) {
//		// deregister from discovery, drain in-flight requests, stop
//	}
//
//	d, err := rollout.New(s, rollout.Config{Replicas: 10}, p, nil)
//	d.Start(0)              // 10 pods of version 0
//	// ... at the rollout time:
//	d.Rollout(1)            // roll to version 1
//
// A Deployment also implements SetReplicas, so an autoscale.Autoscaler
// can drive it, and Status gives the counts its Metrics needs.
//
// Everything is deterministic: no goroutines, no wall clock, no
// randomness, pods always visited in creation order.
package rollout
