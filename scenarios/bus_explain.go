package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/bus"
)

// explainBus writes the bus of sc with every default resolved, as models/bus
// applies them (their values and sources are in models/bus/config.go).
func explainBus(b *strings.Builder, sc *Scenario) error {
	bs := &sc.Bus
	if bs.empty() {
		return nil
	}
	election := fmt.Sprintf("uniform on [%v, %v] (KRaft session timeout)", bus.DefaultSessionTimeoutKRaft-bus.DefaultBrokerHeartbeat, bus.DefaultSessionTimeoutKRaft)
	if bs.ElectionDelay != nil {
		d, err := bs.ElectionDelay.Build()
		if err != nil {
			return err
		}
		election = d.String()
	}
	fmt.Fprintf(b, "  bus: {brokers: %d, election_delay: %s}\n", max(bs.Brokers, 1), election)
	for _, t := range bs.Topics {
		rd := "none"
		if t.ReplicationDelay != nil {
			d, err := t.ReplicationDelay.Build()
			if err != nil {
				return err
			}
			rd = d.String()
		}
		overflow := t.Overflow
		if overflow == "" {
			overflow = "block"
		}
		fmt.Fprintf(b, "    topic %s: {partitions: %d, replication_factor: %d, min_insync_replicas: %d, replication_delay: %s, capacity: %s, overflow: %s, retention: %v, retention_bytes: %s}\n",
			t.Name, max(t.Partitions, 1), max(t.ReplicationFactor, 1), max(t.MinInsyncReplicas, 1), rd,
			orDefault(t.Capacity, "unbounded"), overflow, durDefault(t.Retention, bus.DefaultRetention), orDefault(int(t.RetentionBytes), "unlimited"))
		if err := explainProducer(b, t.Producer); err != nil {
			return err
		}
	}
	for _, q := range bs.Queues {
		overflow := q.Overflow
		if overflow == "" {
			overflow = "drop_head"
		}
		limit := "unlimited"
		if q.MaxDeliveries > 0 {
			limit = fmt.Sprint(q.MaxDeliveries)
		}
		retry := "immediate"
		if q.RetryMinBackoff > 0 {
			retry = fmt.Sprintf("exponential %v to %v", time.Duration(q.RetryMinBackoff), durDefault(q.RetryMaxBackoff, max(time.Duration(q.RetryMinBackoff), bus.DefaultMaximumBackoff)))
		}
		fmt.Fprintf(b, "    queue %s: {visibility_timeout: %v, max_deliveries: %s, dead_letter: %t, ttl: %s, retention: %v, capacity: %s, overflow: %s, redelivery: %s}\n",
			q.Name, durDefault(q.VisibilityTimeout, bus.DefaultVisibilityTimeout), limit, q.DeadLetter,
			durOr(time.Duration(q.TTL), "none"), durDefault(q.Retention, bus.DefaultQueueRetention),
			orDefault(q.Capacity, "unbounded"), overflow, retry)
		if err := explainProducer(b, q.Producer); err != nil {
			return err
		}
	}
	for _, ps := range bs.PubSub {
		fmt.Fprintf(b, "    pubsub %s:\n", ps.Name)
		for _, s := range ps.Subscriptions {
			retry := "immediate"
			if s.RetryPolicy {
				retry = fmt.Sprintf("exponential %v to %v", durDefault(s.MinimumBackoff, bus.DefaultMinimumBackoff), durDefault(s.MaximumBackoff, bus.DefaultMaximumBackoff))
			}
			dl := "none"
			if s.DeadLetter {
				dl = fmt.Sprintf("after %s deliveries", orDefault(s.MaxDeliveryAttempts, fmt.Sprint(bus.DefaultMaxDeliveryAttempts)))
			}
			fmt.Fprintf(b, "      subscription %s: {ack_deadline: %v, redelivery: %s, dead_letter: %s, retention: %v}\n",
				s.Name, durDefault(s.AckDeadline, bus.DefaultAckDeadline), retry, dl, durDefault(s.Retention, bus.DefaultSubscriptionRetention))
		}
		if err := explainProducer(b, ps.Producer); err != nil {
			return err
		}
	}
	for _, g := range bs.Groups {
		pt, err := processingString(g.ProcessingTime, g.Call)
		if err != nil {
			return err
		}
		if g.Call != "" {
			then := "skip (dropped, delivery_limit)"
			if g.DeadLetter {
				then = "dead-letter"
			}
			pt += fmt.Sprintf(", then call %s through each member's sidecar (a failed call: retried in place after %v, up to %d attempts, then %s)",
				g.Call, time.Duration(g.RetryBackoff), orInt(g.MaxAttempts, bus.DefaultMaxAttempts), then)
		}
		strategy := g.Strategy
		if strategy == "" {
			strategy = "range"
		}
		kind := "eager"
		if strategy == "cooperative_sticky" {
			kind = "cooperative"
		}
		commit := g.Commit
		dedup := dedupString(g.Dedup)
		switch g.Delivery {
		case "at_most_once":
			commit = "before_processing (delivery: at_most_once)"
		case "at_least_once":
			commit = "after_processing (delivery: at_least_once)"
		case "effectively_once":
			commit = "after_processing (delivery: effectively_once)"
			if g.Dedup == nil {
				dedup = dedupString(&Dedup{})
			}
		}
		if commit == "" || commit == "auto" {
			commit = fmt.Sprintf("auto every %v", durDefault(g.AutoCommitInterval, bus.DefaultAutoCommitInterval))
		}
		fmt.Fprintf(b, "    consumer group %s on %s: {consumers: %d, strategy: %s (%s), processing_time: %s, max_poll_records: %s, commit: %s, session_timeout: %v, heartbeat_interval: %v, sync_delay: %v, dedup: %s}\n",
			g.Name, g.Topic, max(g.Consumers, 1), strategy, kind, pt, orDefault(g.MaxPollRecords, fmt.Sprint(bus.DefaultMaxPollRecords)),
			commit, durDefault(g.SessionTimeout, bus.DefaultSessionTimeout), durDefault(g.HeartbeatInterval, bus.DefaultHeartbeatInterval),
			time.Duration(g.SyncDelay), dedup+readModelString(g.ReadModel))
	}
	for _, q := range bs.Consumers {
		pt, err := processingString(q.ProcessingTime, q.Call)
		if err != nil {
			return err
		}
		if q.Call != "" {
			pt += fmt.Sprintf(", then call %s through each consumer's sidecar (a failed call fails the processing)", q.Call)
		}
		onFailure := q.OnFailure
		if onFailure == "" {
			onFailure = "nack_requeue"
		}
		dedup := dedupString(q.Dedup)
		switch q.Delivery {
		case "at_most_once":
			onFailure = "none: acked on delivery (delivery: at_most_once), a failure loses the message"
		case "effectively_once":
			if q.Dedup == nil {
				dedup = dedupString(&Dedup{}) + " (delivery: effectively_once)"
			}
		}
		fmt.Fprintf(b, "    queue consumers %s on %s: {consumers: %d, prefetch: %s, concurrency: %d, processing_time: %s, failure_probability: %g, poison: %g, on_failure: %s, dedup: %s}\n",
			q.Name, q.Queue, max(q.Consumers, 1), orDefault(q.Prefetch, "unlimited"), max(q.Concurrency, 1), pt,
			q.FailureProbability, q.Poison, onFailure, dedup+readModelString(q.ReadModel))
	}
	return nil
}

// readModelString names the read model a reader projects into, if any.
func readModelString(rm string) string {
	if rm == "" {
		return ""
	}
	return ", read_model: " + rm + " (staleness measured from each command's acknowledgement)"
}

// processingString describes a processing time, "none" when the
// consumers only call a service.
func processingString(d DistSpec, call string) (string, error) {
	pt, err := processing(d, call)
	if err != nil || pt == nil {
		return "none", err
	}
	return pt.String(), nil
}

// explainProducer writes a destination's producer settings, resolved.
func explainProducer(b *strings.Builder, p Producer) error {
	cfg, err := p.config("explain")
	if err != nil {
		return err
	}
	keys := p.Keys
	switch keys {
	case "", "none":
		keys = "none (sticky partitioning)"
	case "uniform":
		keys = fmt.Sprintf("uniform over %d", p.KeySpace)
	case "zipf":
		keys = fmt.Sprintf("zipf over %d, skew %g", p.KeySpace, p.KeySkew)
	}
	acks := cfg.Acks
	if acks == bus.AcksDefault {
		acks = bus.AcksAll
	}
	idem := acks == bus.AcksAll && !cfg.DisableIdempotence
	batch, msg := orInt(p.BatchBytes, bus.DefaultBatchBytes), orInt(p.MessageBytes, bus.DefaultMessageBytes)
	buf := p.BufferMemory
	if buf == 0 {
		buf = bus.DefaultBufferMemory
	}
	rt := "none"
	if cfg.ResponseTime != nil {
		rt = cfg.ResponseTime.String()
	}
	errs := ""
	if p.ErrorProbability > 0 {
		lo := durDefault(p.RetryBackoff, bus.DefaultRetryBackoff)
		errs = fmt.Sprintf(", errors: %g per request, retried after %v doubling to %v (±20%%)", p.ErrorProbability,
			lo, durDefault(p.RetryBackoffMax, max(lo, bus.DefaultRetryBackoffMax)))
	}
	fmt.Fprintf(b, "      producers: {acks: %v, keys: %s, linger: %v, batch: %d messages (%d/%d bytes), max_in_flight: %d, idempotence: %t, delivery_timeout: %v, max_block: %v, buffer_memory: %d bytes (%d messages), response_time: %s%s}\n",
		acks, keys, time.Duration(p.Linger), max(1, batch/msg), batch, msg, orInt(p.MaxInFlight, bus.DefaultMaxInFlight), idem,
		durDefault(p.DeliveryTimeout, bus.DefaultDeliveryTimeout), durDefault(p.MaxBlock, bus.DefaultMaxBlock), buf, buf/int64(msg), rt, errs)
	return nil
}

func dedupString(d *Dedup) string {
	if d == nil {
		return "off"
	}
	return fmt.Sprintf("window %v", durDefault(d.Window, bus.DefaultDedupWindow))
}

// durDefault returns d, or def when d is zero.
func durDefault(d Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
