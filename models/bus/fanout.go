package bus

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// Pub/Sub subscription defaults (google.pubsub.v1.Subscription,
// RetryPolicy, DeadLetterPolicy).
const (
	DefaultAckDeadline           = 10 * time.Second   // ackDeadlineSeconds
	MinAckDeadline               = 10 * time.Second   // its range is 10 to 600 s
	MaxAckDeadline               = 600 * time.Second  //
	DefaultMinimumBackoff        = 10 * time.Second   // RetryPolicy.minimum_backoff
	DefaultMaximumBackoff        = 600 * time.Second  // RetryPolicy.maximum_backoff
	DefaultMaxDeliveryAttempts   = 5                  // DeadLetterPolicy.max_delivery_attempts, range 5 to 100
	DefaultSubscriptionRetention = 7 * 24 * time.Hour // message_retention_duration
)

// SubscriptionConfig describes a Pub/Sub-like subscription of a FanOut
// topic: an independent queue of its own copy of every message, with
// competing consumers (QueueConsumers on the Queue that Subscribe returns).
type SubscriptionConfig struct {
	Name string
	// AckDeadline defaults to 10 s (ackDeadlineSeconds, 10 to 600 s): a
	// delivery not acked within it is redelivered. Client libraries extend
	// leases automatically; model that with a longer deadline.
	AckDeadline time.Duration
	// RetryPolicy, when set, delays redelivery after a nack or an expired
	// deadline exponentially between MinimumBackoff (default 10 s) and
	// MaximumBackoff (default 600 s); without it redelivery is immediate.
	RetryPolicy    bool
	MinimumBackoff time.Duration
	MaximumBackoff time.Duration
	// DeadLetter attaches a dead-letter topic: a message whose delivery
	// attempts (1 + nacks + deadline expiries, that is its deliveries)
	// reach MaxDeliveryAttempts (default 5, range 5 to 100) and that needs
	// another is dead-lettered. Without a dead-letter policy there is no
	// limit.
	DeadLetter          bool
	MaxDeliveryAttempts int
	// Retention defaults to 7 days (message_retention_duration): an unacked
	// message older than it is deleted (DropRetention).
	Retention time.Duration
}

func (c SubscriptionConfig) withDefaults() SubscriptionConfig {
	c.AckDeadline = orDur(c.AckDeadline, DefaultAckDeadline)
	if c.RetryPolicy {
		c.MinimumBackoff = orDur(c.MinimumBackoff, DefaultMinimumBackoff)
		c.MaximumBackoff = orDur(c.MaximumBackoff, max(c.MinimumBackoff, DefaultMaximumBackoff))
	}
	if c.DeadLetter {
		c.MaxDeliveryAttempts = orInt(c.MaxDeliveryAttempts, DefaultMaxDeliveryAttempts)
	}
	c.Retention = orDur(c.Retention, DefaultSubscriptionRetention)
	return c
}

// Validate reports the first invalid field, as an error wrapping ErrConfig
// that names it.
func (c SubscriptionConfig) Validate() error {
	const o = "subscription"
	f := c.withDefaults()
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: subscription without a name", ErrConfig)
	case f.AckDeadline < MinAckDeadline || f.AckDeadline > MaxAckDeadline:
		return errField(o, c.Name, "ack_deadline", "must be in [%v, %v], got %v", MinAckDeadline, MaxAckDeadline, c.AckDeadline)
	case c.MinimumBackoff < 0 || c.MinimumBackoff > MaxAckDeadline:
		// Pub/Sub: 0 to 600 s.
		return errField(o, c.Name, "minimum_backoff", "must be in [0, %v], got %v", MaxAckDeadline, c.MinimumBackoff)
	case c.MaximumBackoff < 0 || c.MaximumBackoff > MaxAckDeadline || (c.RetryPolicy && f.MaximumBackoff < f.MinimumBackoff):
		return errField(o, c.Name, "maximum_backoff", "must be in [minimum_backoff, %v], got %v", MaxAckDeadline, c.MaximumBackoff)
	case !c.RetryPolicy && c.MinimumBackoff != 0:
		// Without a retry policy Pub/Sub redelivers at once: the bounds
		// would be ignored.
		return errField(o, c.Name, "minimum_backoff", "applies with retry_policy: true only, got %v", c.MinimumBackoff)
	case !c.RetryPolicy && c.MaximumBackoff != 0:
		return errField(o, c.Name, "maximum_backoff", "applies with retry_policy: true only, got %v", c.MaximumBackoff)
	case !c.DeadLetter && c.MaxDeliveryAttempts != 0:
		// The limit belongs to the dead-letter policy: without one,
		// Pub/Sub redelivers without end.
		return errField(o, c.Name, "max_delivery_attempts", "applies with dead_letter only, got %d", c.MaxDeliveryAttempts)
	case c.DeadLetter && (f.MaxDeliveryAttempts < 5 || f.MaxDeliveryAttempts > 100):
		return errField(o, c.Name, "max_delivery_attempts", "must be in [5, 100], got %d", c.MaxDeliveryAttempts)
	case c.Retention < 0 || c.Retention > 7*24*time.Hour:
		return errField(o, c.Name, "retention", "must be in (0, 7 days], got %v", c.Retention)
	}
	return nil
}

// queueConfig is the queue that models the subscription.
func (c SubscriptionConfig) queueConfig() QueueConfig {
	q := QueueConfig{Name: c.Name, VisibilityTimeout: c.AckDeadline, Retention: c.Retention,
		DeadLetter: c.DeadLetter, MaxDeliveries: c.MaxDeliveryAttempts}
	if c.RetryPolicy {
		q.RetryMinBackoff, q.RetryMaxBackoff = c.MinimumBackoff, c.MaximumBackoff
		if q.RetryMinBackoff == 0 {
			q.RetryMinBackoff = time.Nanosecond // a policy with a zero minimum still grows
		}
	}
	return q
}

// FanOut is a pub/sub topic (Pub/Sub, or SNS in front of SQS queues): every
// published message is copied into each of its subscriptions, each a
// Queue with its own consumers, deliveries, acks, redeliveries and Ledger.
// A message counts once in every subscription's ledger (see Ledger), so a
// message read by three subscriptions is three deliveries and three
// terminal states. Publishing is acknowledged when the copies are stored.
// Offering a message is O(subscriptions).
type FanOut struct {
	name    string
	s       *sim.Scheduler
	streams sim.Streams
	pool    *Pool
	subs    []*Queue
	ledgers []*Ledger
	written bool
}

// NewFanOut returns a fan-out topic named name whose messages come from
// pool.
func NewFanOut(s *sim.Scheduler, streams sim.Streams, pool *Pool, name string) (*FanOut, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: fan-out topic without a name", ErrConfig)
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: fan-out topic %q: no message pool", ErrConfig, name)
	}
	return &FanOut{name: name, s: s, streams: streams, pool: pool}, nil
}

// Subscribe adds a Pub/Sub-like subscription and returns its queue, for
// QueueConsumers to consume. Subscriptions must be added before the first
// message is published.
func (f *FanOut) Subscribe(cfg SubscriptionConfig) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := newQueue(f.s, f.streams, f.pool, cfg.withDefaults().queueConfig().withDefaults())
	return q, f.AddQueue(q)
}

// AddQueue subscribes an existing queue (SNS to SQS): it gets a copy of
// every message, under its own configuration. A queue's overflow policy
// applies to its copy; block acts as reject (SNS does not wait).
func (f *FanOut) AddQueue(q *Queue) error {
	if f.written {
		return fmt.Errorf("%w: fan-out topic %q: subscription %q added after the first publish", ErrConfig, f.name, q.Name())
	}
	for _, o := range f.subs {
		if o == q || o.Name() == q.Name() {
			return fmt.Errorf("%w: fan-out topic %q: subscription %q added twice", ErrConfig, f.name, q.Name())
		}
	}
	f.subs = append(f.subs, q)
	f.ledgers = append(f.ledgers, q.ledger)
	return nil
}

// Name returns the topic name.
func (f *FanOut) Name() string { return f.name }

// Partitions returns 1.
func (f *FanOut) Partitions() int { return 1 }

// Subscription returns subscription i's queue.
func (f *FanOut) Subscription(i int) *Queue { return f.subs[i] }

// Subscriptions returns the number of subscriptions.
func (f *FanOut) Subscriptions() int { return len(f.subs) }

// Ledger returns the first subscription's accounting (nil without one).
func (f *FanOut) Ledger() *Ledger {
	if len(f.ledgers) == 0 {
		return nil
	}
	return f.ledgers[0]
}

// Counts returns the sum of the subscriptions' counts. O(subscriptions).
func (f *FanOut) Counts() Counts {
	var c Counts
	for _, l := range f.ledgers {
		c = c.Add(l.Counts())
	}
	return c
}

func (f *FanOut) ledgerList() []*Ledger { return f.ledgers }

func (f *FanOut) await(int32, *Producer) {} // never full

func (f *FanOut) offer(m *Message) offerResult {
	f.written = true
	for i, q := range f.subs {
		c := f.pool.Get()
		f.pool.nextID-- // the copy keeps the message's identity
		c.ID, c.Key, c.HasKey, c.TraceID = m.ID, m.Key, m.HasKey, m.TraceID
		c.Topic, c.Produced, c.Bytes = q.Name(), m.Produced, m.Bytes
		c.track = *m.tr(i)
		c.trace = m.trace // track i's hold on it goes with the copy
		switch q.offer(c) {
		case offerAccepted:
		default:
			q.ledger.dropped(c, &c.track, DropRejected)
			c.gone = true
			f.pool.release(c)
		}
	}
	m.Partition, m.Offset = 0, 0
	if m.producer != nil {
		m.producer.appended(m)
	}
	if m.producer != nil {
		m.producer.replicated(m)
	}
	m.gone = true
	f.pool.release(m)
	return offerAccepted
}
