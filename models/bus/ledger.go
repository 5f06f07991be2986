package bus

import (
	"errors"
	"fmt"

	"github.com/meshsim/meshsim/models/mesh"
)

// State is where a message stands in the accounting. Every published
// message is in exactly one state; Pending ones have not ended yet, the
// others are terminal, except that a Consumed message becomes Duplicated
// when it is consumed again and a consumed message can still be
// dead-lettered (an effect happened, but the broker gave up on it).
type State uint8

// The states.
const (
	StatePending      State = iota // published, not consumed yet (at the producer, in a log or queue, in flight)
	StateConsumed                  // consumed exactly once
	StateDuplicated                // consumed more than once
	StateDeadLettered              // moved to the dead-letter queue
	StateDropped                   // dropped by a policy (see DropReason)
	StateLost                      // lost to a failure: committed or acked but never processed
	NumStates
)

var stateNames = [NumStates]string{"pending", "consumed", "duplicated", "dead_lettered", "dropped", "lost"}

func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// DropReason says which policy dropped a message.
type DropReason uint8

// The reasons.
const (
	DropRejected        DropReason = iota // a full partition or queue refused it (reject / reject-publish)
	DropHead                              // a full partition or queue dropped its oldest message (drop-head)
	DropBlockTimeout                      // the producer blocked longer than max_block
	DropNack                              // nacked without requeue and no dead-letter queue
	DropDeliveryLimit                     // delivered max_deliveries times and no dead-letter queue
	DropDeliveryTimeout                   // the producer could not get it acknowledged within delivery_timeout (Kafka delivery.timeout.ms)
	DropRetention                         // deleted unconsumed by retention (Kafka retention.ms/bytes, SQS MessageRetentionPeriod, Pub/Sub message_retention_duration)
	DropTTL                               // expired at the head of a queue without a dead-letter queue (RabbitMQ x-message-ttl)
	NumDropReasons
)

var dropNames = [NumDropReasons]string{"rejected", "drop_head", "block_timeout", "nack", "delivery_limit",
	"delivery_timeout", "retention", "ttl"}

func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", uint8(r))
}

// LossReason says how a message was lost.
type LossReason uint8

// The reasons.
const (
	// LossCommitted: its offset was committed (or it was acked) before it
	// was processed, and the consumer crashed (or, acked at delivery, its
	// processing failed): at most once.
	LossCommitted LossReason = iota
	// LossFailover: a partition leader acknowledged it (acks=0 or 1) and
	// failed before any follower had it; the new leader never had it.
	LossFailover
	NumLossReasons
)

var lossNames = [NumLossReasons]string{"committed", "failover"}

func (r LossReason) String() string {
	if r < NumLossReasons {
		return lossNames[r]
	}
	return fmt.Sprintf("LossReason(%d)", uint8(r))
}

// Counts is a snapshot of a Ledger.
type Counts struct {
	Published int64
	// ByState counts messages by their current state; they sum to
	// Published.
	ByState [NumStates]int64
	// DroppedBy splits ByState[StateDropped] by reason.
	DroppedBy [NumDropReasons]int64
	// LostBy splits ByState[StateLost] by reason.
	LostBy [NumLossReasons]int64
	// Deliveries counts hand-overs to consumers, Redeliveries those of a
	// message already delivered before. Processed counts finished
	// processings (effects), Duplicates those of a message already
	// processed before. Reordered counts first processings of a keyed
	// message after a later message with the same key (publish order) was
	// already processed.
	Deliveries   int64
	Redeliveries int64
	Processed    int64
	Duplicates   int64
	Reordered    int64
	// Absorbed counts processings of a message already processed within
	// the idempotent consumer's dedup window: they had no effect, so they
	// are in neither Processed nor Duplicates.
	Absorbed int64
	// DuplicateRecords counts records a producer wrote twice: a retry of a
	// write whose acknowledgement was lost, without idempotence. Their
	// processings count for the original message.
	DuplicateRecords int64
	// Failed counts processings that failed (a failed call to a service,
	// or a queue consumer's failure_probability): no effect; the message
	// was retried, nacked, abandoned or given up on.
	Failed int64
}

// ErrConservation is wrapped by the errors of Check.
var ErrConservation = errors.New("bus: message accounting not conserved")

// Check verifies that the counts are conserved: the states sum to the
// messages published, the drop reasons to the dropped messages, and no
// message was processed more often than delivered. It is O(1).
func (c Counts) Check() error {
	var sum int64
	for _, n := range c.ByState {
		if n < 0 {
			return fmt.Errorf("%w: negative state count in %v", ErrConservation, c.ByState)
		}
		sum += n
	}
	if sum != c.Published {
		return fmt.Errorf("%w: published %d != sum of states %d %v", ErrConservation, c.Published, sum, c.ByState)
	}
	var drops int64
	for _, n := range c.DroppedBy {
		drops += n
	}
	if drops != c.ByState[StateDropped] {
		return fmt.Errorf("%w: dropped %d != sum of drop reasons %d", ErrConservation, c.ByState[StateDropped], drops)
	}
	var losses int64
	for _, n := range c.LostBy {
		losses += n
	}
	if losses != c.ByState[StateLost] {
		return fmt.Errorf("%w: lost %d != sum of loss reasons %d", ErrConservation, c.ByState[StateLost], losses)
	}
	if c.Processed+c.Absorbed > c.Deliveries || c.Duplicates > c.Processed || c.Redeliveries > c.Deliveries {
		return fmt.Errorf("%w: processed %d, absorbed %d, duplicates %d, deliveries %d, redeliveries %d", ErrConservation,
			c.Processed, c.Absorbed, c.Duplicates, c.Deliveries, c.Redeliveries)
	}
	return nil
}

// String formats the counts on one line, states in their declared order.
func (c Counts) String() string {
	s := fmt.Sprintf("published=%d", c.Published)
	for i, n := range c.ByState {
		s += fmt.Sprintf(" %s=%d", State(i), n)
	}
	s += fmt.Sprintf(" deliveries=%d redeliveries=%d processed=%d duplicates=%d reordered=%d",
		c.Deliveries, c.Redeliveries, c.Processed, c.Duplicates, c.Reordered)
	if c.Absorbed != 0 || c.DuplicateRecords != 0 {
		s += fmt.Sprintf(" absorbed=%d duplicate_records=%d", c.Absorbed, c.DuplicateRecords)
	}
	if c.Failed != 0 {
		s += fmt.Sprintf(" failed=%d", c.Failed)
	}
	return s
}

// Add returns the sum of two counts: the counts of several subscriptions
// summed are conserved if each is. O(1).
func (c Counts) Add(d Counts) Counts {
	c.Published += d.Published
	for i := range c.ByState {
		c.ByState[i] += d.ByState[i]
	}
	for i := range c.DroppedBy {
		c.DroppedBy[i] += d.DroppedBy[i]
	}
	for i := range c.LostBy {
		c.LostBy[i] += d.LostBy[i]
	}
	c.Deliveries += d.Deliveries
	c.Redeliveries += d.Redeliveries
	c.Processed += d.Processed
	c.Duplicates += d.Duplicates
	c.Reordered += d.Reordered
	c.Absorbed += d.Absorbed
	c.DuplicateRecords += d.DuplicateRecords
	c.Failed += d.Failed
	return c
}

// Ledger tracks every message of one subscription (a consumer group on a
// topic, a subscription of a fan-out topic, or a queue) from publish to its
// state, with counters updated as messages move, so that it needs no memory
// per message.
//
// Fan-out: each subscription has its own ledger, and every message
// published to the topic counts once in each (Published is the same in
// all of them), with its own terminal state there: a message consumed by
// three subscriptions is three deliveries and three consumed states, one
// per ledger, and dropped at one of them it is dropped there only. Each
// ledger is conserved on its own, and so is their sum (Counts.Add), whose
// Published is messages x subscriptions. Per-key
// reordering detection keeps the highest processed message ID per key:
// its memory grows with the number of distinct keys, not of messages.
// Every method is O(1).
type Ledger struct {
	c       Counts
	lastIDs map[uint64]uint64 // key -> highest message ID processed; only looked up, never ranged over
	// readModel, if set, is the read model this subscription's consumers
	// project into: the first processing of a traced message makes its
	// trace visible there (mesh.Trace.Projected).
	readModel *mesh.ReadModel
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{lastIDs: map[uint64]uint64{}} }

// Counts returns a snapshot of the counts.
func (l *Ledger) Counts() Counts { return l.c }

// CheckHeld verifies the counts (Counts.Check) and that the pending count
// equals held, the pending messages counted independently by walking the
// producers, logs and queues.
func (l *Ledger) CheckHeld(held int64) error {
	if err := l.c.Check(); err != nil {
		return err
	}
	if p := l.c.ByState[StatePending]; p != held {
		return fmt.Errorf("%w: ledger says %d pending, the brokers and producers hold %d", ErrConservation, p, held)
	}
	return nil
}

func (l *Ledger) move(t *track, to State) {
	l.c.ByState[t.state]--
	l.c.ByState[to]++
	t.state = to
}

func (l *Ledger) published(t *track) {
	l.c.Published++
	l.c.ByState[StatePending]++
	t.state = StatePending
}

func (l *Ledger) delivered(t *track) {
	t.Deliveries++
	l.c.Deliveries++
	if t.Deliveries > 1 {
		l.c.Redeliveries++
	}
}

// processed records one finished processing of m, whose track here is t.
func (l *Ledger) processed(m *Message, t *track) {
	t.Consumed++
	l.c.Processed++
	if t.Consumed > 1 {
		l.c.Duplicates++
		if t.state == StateConsumed {
			l.move(t, StateDuplicated)
		}
		return
	}
	if t.state == StatePending && m.trace != nil {
		m.trace.Effect()
		if l.readModel != nil {
			m.trace.Projected(l.readModel)
		}
	}
	if m.HasKey {
		if last := l.lastIDs[m.Key]; last > m.ID {
			l.c.Reordered++
		} else {
			l.lastIDs[m.Key] = m.ID
		}
	}
	if t.state == StatePending {
		l.move(t, StateConsumed)
		m.untrace()
	}
}

// untrace releases the trace hold of one of m's tracks, which left
// StatePending.
func (m *Message) untrace() {
	if m.trace != nil {
		m.trace.Release()
	}
}

// absorbed records a processing that the idempotent consumer recognised as
// a duplicate within its window: no effect.
func (l *Ledger) absorbed() { l.c.Absorbed++ }

func (l *Ledger) duplicateRecord() { l.c.DuplicateRecords++ }

// failed records a processing that failed: no effect.
func (l *Ledger) failed() { l.c.Failed++ }

func (l *Ledger) deadLettered(m *Message, t *track) {
	if t.state == StatePending {
		m.untrace()
	}
	l.move(t, StateDeadLettered)
}

// dropped records that a policy dropped m, which must be pending: a
// message already consumed that leaves a log is not a loss.
func (l *Ledger) dropped(m *Message, t *track, r DropReason) {
	if t.state != StatePending {
		panic(fmt.Sprintf("bus: message %d dropped (%v) in state %v", m.ID, r, t.state))
	}
	l.c.DroppedBy[r]++
	l.move(t, StateDropped)
	m.untrace()
}

// lost records that m, pending, can no longer be delivered, for reason r.
func (l *Ledger) lost(m *Message, t *track, r LossReason) {
	if t.state != StatePending {
		panic(fmt.Sprintf("bus: message %d lost (%v) in state %v", m.ID, r, t.state))
	}
	l.c.LostBy[r]++
	l.move(t, StateLost)
	m.untrace()
}
