package assign

import (
	"cmp"
	"slices"
)

// StickyAssign is the target assignment of Kafka's AbstractStickyAssignor:
// as balanced as possible (counts differ by at most one when subscriptions
// are identical) while keeping as many owned partitions as possible with
// their owners.
//
// With identical subscriptions it is a port of Kafka 3.x
// constrainedAssign: each member keeps up to its quota of owned partitions
// (maxQuota for the first (partitions mod members) members that own that
// many, minQuota for the others), then the remaining partitions, in
// (topic, partition) order, are dealt round-robin to the members under
// minQuota in ID order, and then one each to members at minQuota. Kafka
// visits members in hash-map order when it hands out the maxQuota slots;
// this function visits them in ID order.
//
// With differing subscriptions Kafka runs a general algorithm of several
// hundred lines; this function keeps the valid owned partitions, gives each
// unassigned partition (fewest eligible members first) to the eligible
// member with the fewest partitions, then moves partitions from a member to
// an eligible one with at least two fewer until none can move. It
// reproduces both examples in the StickyAssignor javadoc for differing
// subscriptions, and is balanced in the same sense as Kafka's.
//
// A partition claimed by two members is owned by neither (Kafka logs and
// drops such claims). The complexity is O(P log P + M log M) with identical
// subscriptions and O(P·M·(P+M)) in the worst general case, for P
// partitions and M members.
func StickyAssign(topics []Topic, members []Member) [][]TopicPartition {
	return sticky(topics, members, newOwners(topics, members))
}

// CooperativeStickyAssign is Kafka's CooperativeStickyAssignor for one
// rebalance round: the StickyAssign target minus every partition that
// moves from one member of this round to another. The losing member revokes
// it and rejoins; the next round, where nobody owns it, assigns it. A
// partition whose owner left the group is assigned at once. The complexity
// is that of StickyAssign.
func CooperativeStickyAssign(topics []Topic, members []Member) [][]TopicPartition {
	own := newOwners(topics, members)
	out := sticky(topics, members, own)
	for i := range out {
		out[i] = slices.DeleteFunc(out[i], func(tp TopicPartition) bool {
			o, ok := own.owner[tp]
			return ok && o != i // owned by another member, or claimed twice
		})
	}
	return out
}

// owners holds the valid previous ownership: owner[tp] is the index of the
// member that owned tp, or -1 if several claimed it; valid[i] lists the
// partitions members[i] may keep.
type owners struct {
	owner map[TopicPartition]int
	valid [][]TopicPartition
}

func newOwners(topics []Topic, members []Member) owners {
	size := make(map[string]int, len(topics))
	for _, t := range topics {
		size[t.Name] = t.Partitions
	}
	o := owners{owner: map[TopicPartition]int{}, valid: make([][]TopicPartition, len(members))}
	for i := range members {
		m := &members[i]
		for _, tp := range m.Owned {
			if n, ok := size[tp.Topic]; !ok || int(tp.Partition) >= n || tp.Partition < 0 || !subscribes(m, tp.Topic) {
				continue
			}
			if prev, ok := o.owner[tp]; ok && prev != i {
				o.owner[tp] = -1
				continue
			}
			o.owner[tp] = i
		}
	}
	for i := range members {
		for _, tp := range members[i].Owned {
			if o.owner[tp] == i && !slices.Contains(o.valid[i], tp) {
				o.valid[i] = append(o.valid[i], tp)
			}
		}
	}
	return o
}

func sticky(topics []Topic, members []Member, own owners) [][]TopicPartition {
	out := make([][]TopicPartition, len(members))
	if len(members) == 0 {
		return out
	}
	if identical(members) {
		var all []TopicPartition
		for _, t := range sortedTopics(topics) {
			if subscribes(&members[0], t.Name) {
				for p := 0; p < t.Partitions; p++ {
					all = append(all, TopicPartition{t.Name, int32(p)})
				}
			}
		}
		return constrained(all, members, own.valid)
	}
	return general(topics, members, own.valid)
}

// identical reports whether every member subscribes to the same topics.
func identical(members []Member) bool {
	a := slices.Clone(members[0].Topics)
	slices.Sort(a)
	a = slices.Compact(a)
	for _, m := range members[1:] {
		b := slices.Clone(m.Topics)
		slices.Sort(b)
		if !slices.Equal(a, slices.Compact(b)) {
			return false
		}
	}
	return true
}

// constrained is Kafka's constrainedAssign; all is sorted by (topic,
// partition).
func constrained(all []TopicPartition, members []Member, owned [][]TopicPartition) [][]TopicPartition {
	n, total := len(members), len(all)
	minQ, maxQ := total/n, (total+n-1)/n
	expectedOver, curOver := total%n, 0
	out := make([][]TopicPartition, n)
	assigned := make(map[TopicPartition]bool, total)
	var under, exactlyMin []int
	for _, i := range order(members) {
		o := owned[i]
		keep := len(o)
		switch {
		case len(o) < minQ:
			under = append(under, i)
		case len(o) >= maxQ && curOver < expectedOver:
			keep = maxQ
			curOver++
			if curOver == expectedOver {
				exactlyMin = exactlyMin[:0]
			}
		default:
			keep = minQ
			if curOver < expectedOver {
				exactlyMin = append(exactlyMin, i)
			}
		}
		for _, tp := range o[:keep] {
			out[i] = append(out[i], tp)
			assigned[tp] = true
		}
	}
	// under and exactlyMin are already in ID order (Kafka sorts them).
	it := 0
	for _, tp := range all {
		if assigned[tp] {
			continue
		}
		var c int
		switch {
		case it < len(under):
			c = under[it]
			it++
		case len(under) == 0 && len(exactlyMin) == 0:
			panic("assign: constrained assignment ran out of members (a bug)")
		case len(under) == 0:
			c, exactlyMin = exactlyMin[0], exactlyMin[1:]
		default:
			c, it = under[0], 1
		}
		out[c] = append(out[c], tp)
		switch len(out[c]) {
		case minQ:
			under = slices.Delete(under, it-1, it)
			it--
			exactlyMin = append(exactlyMin, c)
		case maxQ:
			curOver++
		}
	}
	return out
}

// general handles differing subscriptions; see StickyAssign.
func general(topics []Topic, members []Member, owned [][]TopicPartition) [][]TopicPartition {
	out := make([][]TopicPartition, len(members))
	idx := order(members)
	taken := map[TopicPartition]bool{}
	for i := range members {
		out[i] = append(out[i], owned[i]...)
		for _, tp := range owned[i] {
			taken[tp] = true
		}
	}
	type cand struct {
		tp       TopicPartition
		eligible int
	}
	var free []cand
	for _, t := range topics {
		e := 0
		for i := range members {
			if subscribes(&members[i], t.Name) {
				e++
			}
		}
		for p := 0; p < t.Partitions && e > 0; p++ {
			if tp := (TopicPartition{t.Name, int32(p)}); !taken[tp] {
				free = append(free, cand{tp, e})
			}
		}
	}
	slices.SortFunc(free, func(a, b cand) int {
		if c := cmp.Compare(a.eligible, b.eligible); c != 0 {
			return c
		}
		return compareTP(a.tp, b.tp)
	})
	// least returns the eligible member for topic with the fewest
	// partitions, ties broken by ID, or -1.
	least := func(topic string) int {
		best := -1
		for _, i := range idx {
			if subscribes(&members[i], topic) && (best < 0 || len(out[i]) < len(out[best])) {
				best = i
			}
		}
		return best
	}
	for _, c := range free {
		i := least(c.tp.Topic)
		out[i] = append(out[i], c.tp)
	}
	// Balance: move a partition from a member to an eligible member with at
	// least two fewer. Each move lowers the sum of squared counts, so the
	// loop ends.
	for moved := true; moved; {
		moved = false
		for _, a := range idx {
			for k, tp := range out[a] {
				b := least(tp.Topic)
				if b >= 0 && len(out[a])-len(out[b]) >= 2 {
					out[a] = slices.Delete(out[a], k, k+1)
					out[b] = append(out[b], tp)
					moved = true
					break
				}
			}
		}
	}
	return out
}
