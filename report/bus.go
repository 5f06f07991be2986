package report

import (
	"strings"
	"time"

	"github.com/meshsim/meshsim/results"
)

// busView is the Bus section of one variant: tables of the message
// accounts, latency and lag, lag over time, and producers.
type busView struct {
	Ledgers      table
	Latency      table
	Timeline     table
	ReadModels   table // empty Rows without a read model
	Producers    table
	Conservation []string
}

// busNote explains the Bus tables.
const busNote = "One row per subscription with its own accounting: a consumer group of a topic, a queue, or a " +
	"subscription of a pub/sub topic. Message counts cover whole runs (warm-up included) and are totals over " +
	"the replications; latency (publish to the end of the first processing) leaves the warm-up out. Lag is " +
	"a partition's high watermark minus the group's committed offset (messages ready or in flight for a queue), " +
	"at the end of a replication; paused is partition-time without a consuming owner. A read model's staleness " +
	"is the time from a command's acknowledgement to its projection (0 when projected first)."

// timelinePoints is how many instants of the lag timeline the tables show.
const timelinePoints = 8

func newBusView(b *results.BusSummary, duration time.Duration) *busView {
	if b == nil {
		return nil
	}
	v := &busView{
		Ledgers: table{Header: []string{"subscription", "published", "consumed once", "duplicated", "dead-lettered",
			"dropped by policy", "lost to failures", "pending", "redeliveries", "reordered"}},
		Latency: table{Header: []string{"subscription", "latency mean", "latency p50", "latency p99", "latency p99.9",
			"lag max", "lag mean", "lag by partition", "rebalances", "paused"}},
		Producers: table{Header: []string{"caller → destination", "producers", "published", "acked", "refused",
			"retries (deduped, written twice)", "request errors (out of sequence)", "ack latency mean", "ack latency p99"}},
		ReadModels: table{Header: []string{"read model ← projector", "staleness mean", "staleness p50", "staleness p99",
			"staleness p99.9"}},
	}
	v.Timeline.Header = []string{"subscription"}
	for i := 1; i <= timelinePoints; i++ {
		v.Timeline.Header = append(v.Timeline.Header, "lag at "+(duration*time.Duration(i)/timelinePoints).String())
	}
	for _, r := range b.Readers {
		name := r.Kind + " " + r.Name
		if r.Source != r.Name {
			name += " ← " + r.Source
		}
		l := r.Ledger
		v.Ledgers.Rows = append(v.Ledgers.Rows, []string{name, count(l.Published), count(l.Consumed),
			count(l.Duplicated), count(l.DeadLettered), dropped(l), lost(l), count(l.Pending),
			count(l.Redeliveries), count(l.Reordered)})
		row := []string{name}
		row = append(row, latencyCells(r.LatencyS)...)
		byPart := "-"
		if len(r.LagByPartition) > 1 {
			parts := make([]string, len(r.LagByPartition))
			for i, x := range r.LagByPartition {
				parts[i] = sig3(x)
			}
			byPart = strings.Join(parts, " / ")
		}
		row = append(row, estimate(r.LagMax, 1, ""), estimate(r.LagMean, 1, ""), byPart,
			estimate(r.Rebalances, 1, ""), estimate(r.PausedS, 1, "s"))
		v.Latency.Rows = append(v.Latency.Rows, row)
		if n := len(r.LagTimeline); n >= timelinePoints {
			row := []string{name}
			for i := 1; i <= timelinePoints; i++ {
				row = append(row, sig3(r.LagTimeline[n*i/timelinePoints-1]))
			}
			v.Timeline.Rows = append(v.Timeline.Rows, row)
		}
		if r.ReadModel != "" {
			row := []string{r.ReadModel + " ← " + name}
			if r.StalenessS == nil {
				row = append(row, "no acknowledged command projected", "-", "-", "-")
			} else {
				row = append(row, latencyCells(r.StalenessS)...)
			}
			v.ReadModels.Rows = append(v.ReadModels.Rows, row)
		}
		verdict, rel := "conserved", " = "
		if l.Terminal() != l.Published {
			verdict, rel = "NOT CONSERVED", " ≠ "
		}
		v.Conservation = append(v.Conservation, "Conservation ("+name+"): published "+count(l.Published)+rel+
			"consumed + duplicated + dead-lettered + dropped + lost + pending "+count(l.Terminal())+", "+verdict+".")
	}
	for _, p := range b.Producers {
		mean, p99 := noData, "-"
		if a := p.AckLatencyS; a != nil {
			var m, q *results.Interval
			if a.CI95 != nil {
				m, q = &a.CI95.Mean, &a.CI95.P99
			}
			mean, p99 = ms(a.Mean, m), ms(a.P99, q)
		}
		v.Producers.Rows = append(v.Producers.Rows, []string{p.Caller + " → " + p.Destination, count(int64(p.Producers)),
			count(p.Published), count(p.Acked), count(p.Refused),
			count(p.Retries) + " (" + count(p.DedupedRetries) + ", " + count(p.DuplicateWrites) + ")",
			count(p.RequestErrors) + " (" + count(p.OutOfOrder) + ")", mean, p99})
	}
	return v
}

// latencyCells formats mean, p50, p99 and p99.9 of l.
func latencyCells(l *results.Latency) []string {
	if l == nil {
		return []string{"no processed messages", "-", "-", "-"}
	}
	var ci results.LatencyCI
	var mean, p50, p99, p999 *results.Interval
	if l.CI95 != nil {
		ci = *l.CI95
		mean, p50, p99, p999 = &ci.Mean, &ci.P50, &ci.P99, &ci.P999
	}
	return []string{ms(l.Mean, mean), ms(l.P50, p50), ms(l.P99, p99), ms(l.P999, p999)}
}

// dropped formats the dropped count with its non-zero reasons.
func dropped(l results.Ledger) string {
	d := l.DroppedBy
	return withReasons(l.Dropped, []reason{{"rejected", d.Rejected}, {"drop_head", d.DropHead},
		{"block_timeout", d.BlockTimeout}, {"nack", d.Nack}, {"delivery_limit", d.DeliveryLimit},
		{"delivery_timeout", d.DeliveryTimeout}, {"retention", d.Retention}, {"ttl", d.TTL}})
}

// lost formats the lost count with its non-zero reasons.
func lost(l results.Ledger) string {
	return withReasons(l.Lost, []reason{{"committed", l.LostBy.Committed}, {"failover", l.LostBy.Failover}})
}

type reason struct {
	name string
	n    int64
}

func withReasons(total int64, rs []reason) string {
	s := count(total)
	var parts []string
	for _, r := range rs {
		if r.n != 0 {
			parts = append(parts, r.name+" "+count(r.n))
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}
