package results

// ServiceTimeline is the pods of one service that scales or rolls out,
// over time: per window, time-weighted means over the window, then means
// across replications.
type ServiceTimeline struct {
	Name string `json:"name"`
	// Desired is the Deployment's desired replicas (the autoscaler's
	// decision).
	Desired []float64 `json:"desired"`
	// Running is the pods up: starting, ready or draining.
	Running []float64 `json:"running"`
	// Ready is the pods ready and registered (receiving traffic).
	Ready []float64 `json:"ready"`
	// Versions are the running pods of each version, v0 first.
	Versions []VersionTimeline `json:"versions"`
}

// VersionTimeline is the running pods of one version per window.
type VersionTimeline struct {
	Name    string    `json:"name"`
	Running []float64 `json:"running"`
}

// AutoscalerSummary is one service's autoscaler in a variant.
type AutoscalerSummary struct {
	Service string `json:"service"`
	// ScaleUps and ScaleDowns are the syncs that raised or lowered the
	// replicas, per replication (mean across replications).
	ScaleUps   Estimate `json:"scale_ups"`
	ScaleDowns Estimate `json:"scale_downs"`
	// MaxDesired is the highest replica count set in any replication.
	MaxDesired int `json:"max_desired"`
	// Decisions are replication 0's syncs, in order (at most 10,000).
	Decisions []DecisionSummary `json:"decisions"`
}

// DecisionSummary is one sync of an autoscaler.
type DecisionSummary struct {
	AtS     float64 `json:"at_s"`
	Current int     `json:"current"`
	Ready   int     `json:"ready"`
	Unready int     `json:"unready"`
	// Metric is the average over the ready pods as the HPA computed it:
	// whole percent (utilization) or thousandths of a request
	// (in_flight); -1 when not computed.
	Metric     int64  `json:"metric"`
	Proposal   int    `json:"proposal"`
	Stabilized int    `json:"stabilized"`
	Desired    int    `json:"desired"`
	Reason     string `json:"reason"`
}

// DeploySummary is one deploy in a variant.
type DeploySummary struct {
	Service string  `json:"service"`
	Target  string  `json:"target"` // "<service> <version>"
	AtS     float64 `json:"at_s"`
	// Completed is the replications in which every pod came to run the
	// version (a deploy superseded by a rollback before that did not);
	// DurationS the time from the deploy to that, over those replications
	// (omitted when none completed).
	Completed int       `json:"completed"`
	DurationS *Estimate `json:"duration_s,omitempty"`
}

// summarizeFleets returns the autoscalers and deploys of v, in service
// order, or nil when it has none.
func summarizeFleets(v *Variant) ([]AutoscalerSummary, []DeploySummary) {
	var scalers []AutoscalerSummary
	var deploys []DeploySummary
	if len(v.Replications) == 0 {
		return nil, nil
	}
	for fi, fl := range v.Replications[0].Fleets {
		if fl.Autoscaled {
			as := AutoscalerSummary{Service: fl.Service, Decisions: []DecisionSummary{}}
			var ups, downs []float64
			for _, r := range v.Replications {
				if fi >= len(r.Fleets) {
					continue
				}
				u, d := 0, 0
				for _, dec := range r.Fleets[fi].Decisions {
					switch {
					case dec.Desired > dec.Current:
						u++
					case dec.Desired < dec.Current:
						d++
					}
					as.MaxDesired = max(as.MaxDesired, dec.Desired, dec.Current)
				}
				ups, downs = append(ups, float64(u)), append(downs, float64(d))
			}
			if e := estimate(ups); e != nil {
				as.ScaleUps = *e
			}
			if e := estimate(downs); e != nil {
				as.ScaleDowns = *e
			}
			for _, d := range fl.Decisions {
				as.Decisions = append(as.Decisions, DecisionSummary{
					AtS: d.At.Seconds(), Current: d.Current, Ready: d.Ready, Unready: d.Unready, Metric: d.Metric,
					Proposal: d.Proposal, Stabilized: d.Stabilized, Desired: d.Desired, Reason: d.Reason,
				})
			}
			scalers = append(scalers, as)
		}
		for di, d := range fl.Deploys {
			ds := DeploySummary{Service: fl.Service, Target: d.Target, AtS: d.From.Seconds()}
			var durs []float64
			for _, r := range v.Replications {
				if fi >= len(r.Fleets) || di >= len(r.Fleets[fi].Deploys) || !r.Fleets[fi].Deploys[di].Completed {
					continue
				}
				rd := r.Fleets[fi].Deploys[di]
				ds.Completed++
				durs = append(durs, (rd.To - rd.From).Seconds())
			}
			ds.DurationS = estimate(durs)
			deploys = append(deploys, ds)
		}
	}
	return scalers, deploys
}

// serviceTimelines returns the fleets' series averaged over v's
// replications, in service order; nil when there are none.
func serviceTimelines(v *Variant) []ServiceTimeline {
	if len(v.Replications) == 0 {
		return nil
	}
	var out []ServiceTimeline
	for fi, fl := range v.Replications[0].Fleets {
		st := ServiceTimeline{Name: fl.Service}
		mean := func(get func(f *Fleet) []float64) []float64 {
			sum := make([]float64, len(get(&fl)))
			n := 0
			for ri := range v.Replications {
				r := &v.Replications[ri]
				if fi >= len(r.Fleets) {
					continue
				}
				n++
				for k, x := range get(&r.Fleets[fi]) {
					if k < len(sum) {
						sum[k] += x
					}
				}
			}
			for k := range sum {
				sum[k] /= float64(max(n, 1))
			}
			return sum
		}
		st.Desired = mean(func(f *Fleet) []float64 { return f.Spec })
		st.Running = mean(func(f *Fleet) []float64 { return f.Running })
		st.Ready = mean(func(f *Fleet) []float64 { return f.Ready })
		st.Versions = []VersionTimeline{}
		for vi, ver := range fl.Versions {
			st.Versions = append(st.Versions, VersionTimeline{Name: ver.Name, Running: mean(func(f *Fleet) []float64 {
				if vi < len(f.Versions) {
					return f.Versions[vi].Running
				}
				return nil
			})})
		}
		out = append(out, st)
	}
	return out
}
