// Package assign computes consumer-group partition assignments the way
// Kafka's client-side assignors do: RangeAssignor, RoundRobinAssignor and
// CooperativeStickyAssignor (clients/.../consumer/*Assignor.java). The
// functions are pure: the same topics and members always give the same
// assignment, whatever the order of the input slices, because members are
// sorted by ID and partitions by (topic, partition) first, as Kafka does.
//
// Kafka keeps members and partitions in hash maps where the Java code does
// not sort them; this package iterates in sorted member order instead, so
// that a tie Kafka leaves to hash order is broken by member ID here. Each
// function says where that matters.
package assign

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%sp%d", tp.Topic, tp.Partition) }

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Topic is a topic and its number of partitions.
type Topic struct {
	Name       string
	Partitions int
}

// Member is one group member as the assignor sees it: its ID, the topics it
// subscribes to and, for the sticky assignors, the partitions it owned
// before this rebalance. IDs must be unique.
type Member struct {
	ID     string
	Topics []string
	Owned  []TopicPartition
}

// Strategy is a partition assignment strategy
// (partition.assignment.strategy).
type Strategy uint8

// The strategies. Kafka's default list is [Range, CooperativeSticky], and
// Range wins until every member supports cooperative rebalancing
// (ConsumerConfig), so Range is the zero value.
const (
	Range             Strategy = iota // RangeAssignor, eager
	RoundRobin                        // RoundRobinAssignor, eager
	CooperativeSticky                 // CooperativeStickyAssignor, cooperative (KIP-429)
	numStrategies
)

var strategyNames = [numStrategies]string{"range", "round_robin", "cooperative_sticky"}

func (s Strategy) String() string {
	if s < numStrategies {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// ErrStrategy is wrapped by ParseStrategy's error.
var ErrStrategy = errors.New("assign: unknown strategy")

// ParseStrategy returns the strategy named name: "range", "round_robin" or
// "cooperative_sticky".
func ParseStrategy(name string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == name {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want range, round_robin or cooperative_sticky)", ErrStrategy, name)
}

// Cooperative reports whether the strategy uses the cooperative rebalance
// protocol (members keep the partitions that do not move) rather than the
// eager one (every member revokes everything).
func (s Strategy) Cooperative() bool { return s == CooperativeSticky }

// Assign runs the strategy. The result holds, for members[i], its
// partitions at index i. For CooperativeSticky it is the assignment of the
// first cooperative round: partitions that move from one living member to
// another are left out, to be assigned in a second round after their owner
// revoked them.
func (s Strategy) Assign(topics []Topic, members []Member) [][]TopicPartition {
	switch s {
	case Range:
		return RangeAssign(topics, members)
	case RoundRobin:
		return RoundRobinAssign(topics, members)
	case CooperativeSticky:
		return CooperativeStickyAssign(topics, members)
	}
	panic(fmt.Sprintf("assign: unknown strategy %d", s))
}

// order returns the indexes of members sorted by ID.
func order(members []Member) []int {
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(members[a].ID, members[b].ID) })
	return idx
}

func subscribes(m *Member, topic string) bool { return slices.Contains(m.Topics, topic) }

// sortedTopics returns the topics sorted by name.
func sortedTopics(topics []Topic) []Topic {
	t := slices.Clone(topics)
	slices.SortFunc(t, func(a, b Topic) int { return cmp.Compare(a.Name, b.Name) })
	return t
}

// RangeAssign is Kafka's RangeAssignor: per topic, partitions in numeric
// order are split into contiguous ranges over the subscribed members in
// ID order, the first (partitions mod members) members taking one extra.
// The complexity is O(T·M log M + P) for T topics, M members and P
// partitions.
func RangeAssign(topics []Topic, members []Member) [][]TopicPartition {
	out := make([][]TopicPartition, len(members))
	idx := order(members)
	for _, t := range sortedTopics(topics) {
		var subs []int
		for _, i := range idx {
			if subscribes(&members[i], t.Name) {
				subs = append(subs, i)
			}
		}
		if len(subs) == 0 {
			continue
		}
		per, extra := t.Partitions/len(subs), t.Partitions%len(subs)
		for k, i := range subs {
			start := per*k + min(k, extra)
			n := per
			if k < extra {
				n++
			}
			for p := start; p < start+n; p++ {
				out[i] = append(out[i], TopicPartition{t.Name, int32(p)})
			}
		}
	}
	return out
}

// RoundRobinAssign is Kafka's RoundRobinAssignor: all partitions, sorted
// by topic then partition, are dealt in turn to the members in ID order,
// skipping a member that does not subscribe to the partition's topic. The
// complexity is O(P·M) in the worst case (O(P) with identical
// subscriptions).
func RoundRobinAssign(topics []Topic, members []Member) [][]TopicPartition {
	out := make([][]TopicPartition, len(members))
	idx := order(members)
	if len(idx) == 0 {
		return out
	}
	next := 0
	for _, t := range sortedTopics(topics) {
		subscribed := false
		for _, i := range idx {
			subscribed = subscribed || subscribes(&members[i], t.Name)
		}
		if !subscribed {
			continue
		}
		for p := 0; p < t.Partitions; p++ {
			for !subscribes(&members[idx[next]], t.Name) {
				next = (next + 1) % len(idx)
			}
			i := idx[next]
			out[i] = append(out[i], TopicPartition{t.Name, int32(p)})
			next = (next + 1) % len(idx)
		}
	}
	return out
}
