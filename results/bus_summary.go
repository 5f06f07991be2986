package results

import "github.com/meshsim/meshsim/sim/stats"

// BusSummary is the event bus of a variant, aggregated over its
// replications.
type BusSummary struct {
	// Readers has one entry per ledger (a consumer group, a queue, a
	// subscription, or a topic no group reads), in scenario order.
	Readers []BusReaderSummary `json:"readers"`
	// Producers has one entry per caller and destination.
	Producers []BusProducerSummary `json:"producers"`
	// TracesOpen is the traces not finished at the end of a replication
	// (a message they caused still pending), summed over replications:
	// they have no end-to-end latency.
	TracesOpen int64 `json:"traces_open"`
}

// BusReaderSummary is one subscription of the bus.
type BusReaderSummary struct {
	Kind      string `json:"kind"` // group, queue, subscription or topic
	Name      string `json:"name"`
	Source    string `json:"source"` // the topic, queue or pub/sub topic read
	Consumers int    `json:"consumers"`
	// Ledger sums the replications' message accounts (whole runs, warm-up
	// included).
	Ledger Ledger `json:"ledger"`
	// The shares of the published messages that ended duplicated, lost,
	// dead-lettered or dropped, per replication. Omitted when nothing was
	// published.
	DuplicatedShare   *Estimate `json:"duplicated_share,omitempty"`
	LostShare         *Estimate `json:"lost_share,omitempty"`
	DeadLetteredShare *Estimate `json:"dead_lettered_share,omitempty"`
	DroppedShare      *Estimate `json:"dropped_share,omitempty"`
	// LatencyS is publish to the end of the first processing, for messages
	// published after the warm-up. Omitted when none was processed.
	LatencyS *Latency `json:"latency_s,omitempty"`
	// LagMax and LagMean are the largest and the mean partition lag at the
	// end of a replication (messages); LagByPartition is each partition's,
	// averaged over replications, in partition order.
	LagMax         *Estimate `json:"lag_max,omitempty"`
	LagMean        *Estimate `json:"lag_mean,omitempty"`
	LagByPartition []float64 `json:"lag_by_partition"`
	// LagTimeline is the summed lag at the end of each slice of
	// LagStepS seconds, averaged over replications.
	LagTimeline []float64 `json:"lag_timeline"`
	// LagTimelineByPartition is each partition's lag at the end of each
	// slice, averaged over replications: [partition][slice].
	LagTimelineByPartition [][]float64 `json:"lag_timeline_by_partition"`
	LagStepS               float64     `json:"lag_step_s"`
	// Rebalances is the rebalance rounds per replication (groups).
	Rebalances *Estimate `json:"rebalances,omitempty"`
	// PausedS is the partition-seconds without a consuming owner per
	// replication (groups): during rebalances, and between a crash and
	// the reassignment.
	PausedS *Estimate `json:"paused_s,omitempty"`
	// ReadModel is the read model the reader's consumers project into
	// (CQRS); omitted for none. StalenessS is then the read-your-write
	// staleness: from a command's acknowledgement (its workload request
	// answered ok) to the projection of its event, 0 when visible before,
	// for commands after the warm-up; StalenessTimelineS is its mean per
	// slice of lag_step_s, by acknowledgement time (null for a slice
	// without commands), pooled over replications.
	ReadModel          string     `json:"read_model,omitempty"`
	StalenessS         *Latency   `json:"staleness_s,omitempty"`
	StalenessTimelineS []*float64 `json:"staleness_timeline_s,omitempty"`
}

// BusProducerSummary is what one caller's producers did towards one
// destination, summed over replications (whole runs).
type BusProducerSummary struct {
	Caller          string `json:"caller"`
	Destination     string `json:"destination"`
	Producers       int    `json:"producers"`
	Published       int64  `json:"published"`
	Acked           int64  `json:"acked"`
	Refused         int64  `json:"refused"`
	Retries         int64  `json:"retries"`
	DedupedRetries  int64  `json:"deduped_retries"`
	DuplicateWrites int64  `json:"duplicate_writes"`
	RequestErrors   int64  `json:"request_errors"`
	OutOfOrder      int64  `json:"out_of_order_sequence"`
	// AckLatencyS is publish to acknowledgement. Omitted when nothing was
	// acknowledged.
	AckLatencyS *Latency `json:"ack_latency_s,omitempty"`
}

// summarizeBus aggregates the bus over v's replications, readers and
// producers in order of first appearance; nil when no replication had a
// bus.
func summarizeBus(v *Variant) *BusSummary {
	var out *BusSummary
	readerAt := map[[2]string]int{}
	prodAt := map[[2]string]int{}
	type readerAcc struct {
		dup, lost, dead, drop, lagMax, lagMean, rebalances, paused []float64
		hists, stale                                               []*stats.Histogram
		byPart, timeline                                           []float64
		partTimeline                                               [][]float64
		staleSum, staleN                                           []int64
		n                                                          int
	}
	var racc []readerAcc
	var pacc [][]*stats.Histogram
	for _, r := range v.Replications {
		if r.Bus == nil {
			continue
		}
		if out == nil {
			out = &BusSummary{Readers: []BusReaderSummary{}, Producers: []BusProducerSummary{}}
		}
		out.TracesOpen += r.Bus.TracesOpen
		for _, br := range r.Bus.Readers {
			key := [2]string{br.Kind, br.Name}
			i, ok := readerAt[key]
			if !ok {
				i = len(out.Readers)
				readerAt[key] = i
				out.Readers = append(out.Readers, BusReaderSummary{Kind: br.Kind, Name: br.Name, Source: br.Source,
					Consumers: br.Consumers, LagStepS: br.LagStep.Seconds()})
				racc = append(racc, readerAcc{})
			}
			s, a := &out.Readers[i], &racc[i]
			l := br.Ledger
			s.Ledger = s.Ledger.Add(l)
			if l.Published > 0 {
				p := float64(l.Published)
				a.dup = append(a.dup, float64(l.Duplicated)/p)
				a.lost = append(a.lost, float64(l.Lost)/p)
				a.dead = append(a.dead, float64(l.DeadLettered)/p)
				a.drop = append(a.drop, float64(l.Dropped)/p)
			}
			a.hists = append(a.hists, br.Latency)
			if len(br.PartitionLag) > 0 {
				var m, sum int64
				for k, n := range br.PartitionLag {
					m = max(m, n)
					sum += n
					if k == len(a.byPart) {
						a.byPart = append(a.byPart, 0)
					}
					a.byPart[k] += float64(n)
				}
				a.lagMax = append(a.lagMax, float64(m))
				a.lagMean = append(a.lagMean, float64(sum)/float64(len(br.PartitionLag)))
			}
			for k, n := range br.LagTimeline {
				if k == len(a.timeline) {
					a.timeline = append(a.timeline, 0)
				}
				a.timeline[k] += float64(n)
			}
			for p, series := range br.PartitionLagTimeline {
				if p == len(a.partTimeline) {
					a.partTimeline = append(a.partTimeline, nil)
				}
				for k, n := range series {
					if k == len(a.partTimeline[p]) {
						a.partTimeline[p] = append(a.partTimeline[p], 0)
					}
					a.partTimeline[p][k] += float64(n)
				}
			}
			a.n++
			if br.ReadModel != "" {
				s.ReadModel = br.ReadModel
				a.stale = append(a.stale, br.Staleness)
				for k := range br.StalenessSum {
					if k == len(a.staleSum) {
						a.staleSum, a.staleN = append(a.staleSum, 0), append(a.staleN, 0)
					}
					a.staleSum[k] += br.StalenessSum[k]
					a.staleN[k] += br.StalenessCount[k]
				}
			}
			if br.Kind == "group" {
				a.rebalances = append(a.rebalances, float64(br.Rebalances))
				a.paused = append(a.paused, br.Paused.Seconds())
			}
		}
		for _, bp := range r.Bus.Producers {
			key := [2]string{bp.Caller, bp.Destination}
			i, ok := prodAt[key]
			if !ok {
				i = len(out.Producers)
				prodAt[key] = i
				out.Producers = append(out.Producers, BusProducerSummary{Caller: bp.Caller, Destination: bp.Destination, Producers: bp.Producers})
				pacc = append(pacc, nil)
			}
			s := &out.Producers[i]
			s.Published += bp.Published
			s.Acked += bp.Acked
			s.Refused += bp.Refused
			s.Retries += bp.Retries
			s.DedupedRetries += bp.DedupedRetries
			s.DuplicateWrites += bp.DuplicateWrites
			s.RequestErrors += bp.RequestErrors
			s.OutOfOrder += bp.OutOfOrder
			pacc[i] = append(pacc[i], bp.AckLatency)
		}
	}
	if out == nil {
		return nil
	}
	for i := range out.Readers {
		s, a := &out.Readers[i], &racc[i]
		s.DuplicatedShare, s.LostShare = estimate(a.dup), estimate(a.lost)
		s.DeadLetteredShare, s.DroppedShare = estimate(a.dead), estimate(a.drop)
		s.LatencyS = summarizeLatency(a.hists)
		s.LagMax, s.LagMean = estimate(a.lagMax), estimate(a.lagMean)
		s.Rebalances, s.PausedS = estimate(a.rebalances), estimate(a.paused)
		s.LagByPartition = meanOf(a.byPart, a.n)
		s.LagTimeline = meanOf(a.timeline, a.n)
		s.LagTimelineByPartition = [][]float64{}
		for _, series := range a.partTimeline {
			s.LagTimelineByPartition = append(s.LagTimelineByPartition, meanOf(series, a.n))
		}
		if s.ReadModel != "" {
			s.StalenessS = summarizeLatency(a.stale)
			s.StalenessTimelineS = make([]*float64, len(a.staleSum))
			for k, sum := range a.staleSum {
				if a.staleN[k] > 0 {
					x := float64(sum) / float64(a.staleN[k]) / 1e9
					s.StalenessTimelineS[k] = &x
				}
			}
		}
	}
	for i := range out.Producers {
		out.Producers[i].AckLatencyS = summarizeLatency(pacc[i])
	}
	return out
}

// meanOf divides each sum by n; never nil.
func meanOf(sums []float64, n int) []float64 {
	out := make([]float64, len(sums))
	for i, s := range sums {
		out[i] = s / float64(n)
	}
	return out
}
