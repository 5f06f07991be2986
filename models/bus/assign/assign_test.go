package assign

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tps parses "t0p0 t1p2" into partitions.
func tps(s string) []TopicPartition {
	var out []TopicPartition
	for _, f := range strings.Fields(s) {
		var p int32
		i := strings.LastIndexByte(f, 'p')
		_, err := fmt.Sscanf(f[i+1:], "%d", &p)
		if err != nil {
			panic(err)
		}
		out = append(out, TopicPartition{f[:i], p})
	}
	return out
}

// show formats an assignment as "C0 [t0p0 t0p1] C1 [...]".
func show(members []Member, a [][]TopicPartition) string {
	var b strings.Builder
	for i, m := range members {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s %v", m.ID, a[i])
	}
	return b.String()
}

func members(ids string, topics string) []Member {
	var ms []Member
	for _, id := range strings.Fields(ids) {
		ms = append(ms, Member{ID: id, Topics: strings.Fields(topics)})
	}
	return ms
}

var twoByThree = []Topic{{"t0", 3}, {"t1", 3}}

// The three-topic example with differing subscriptions in the
// RoundRobinAssignor and StickyAssignor javadoc.
var oneTwoThree = []Topic{{"t0", 1}, {"t1", 2}, {"t2", 3}}

func differing() []Member {
	return []Member{
		{ID: "C0", Topics: []string{"t0"}},
		{ID: "C1", Topics: []string{"t0", "t1"}},
		{ID: "C2", Topics: []string{"t0", "t1", "t2"}},
	}
}

func TestJavadocExamples(t *testing.T) {
	fourByTwo := []Topic{{"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}}
	tests := []struct {
		name    string
		fn      func([]Topic, []Member) [][]TopicPartition
		topics  []Topic
		members []Member
		want    string
	}{
		// RangeAssignor javadoc.
		{"range", RangeAssign, twoByThree, members("C0 C1", "t0 t1"),
			"C0 [t0p0 t0p1 t1p0 t1p1] C1 [t0p2 t1p2]"},
		// RoundRobinAssignor javadoc, identical subscriptions.
		{"round_robin", RoundRobinAssign, twoByThree, members("C0 C1", "t0 t1"),
			"C0 [t0p0 t0p2 t1p1] C1 [t0p1 t1p0 t1p2]"},
		// RoundRobinAssignor javadoc, differing subscriptions.
		{"round_robin differing", RoundRobinAssign, oneTwoThree, differing(),
			"C0 [t0p0] C1 [t1p0] C2 [t1p1 t2p0 t2p1 t2p2]"},
		// StickyAssignor javadoc example 1: a fresh sticky assignment equals
		// round robin's.
		{"sticky fresh", StickyAssign, fourByTwo, members("C0 C1 C2", "t0 t1 t2 t3"),
			"C0 [t0p0 t1p1 t3p0] C1 [t0p1 t2p0 t3p1] C2 [t1p0 t2p1]"},
		{"round_robin example 1", RoundRobinAssign, fourByTwo, members("C0 C1 C2", "t0 t1 t2 t3"),
			"C0 [t0p0 t1p1 t3p0] C1 [t0p1 t2p0 t3p1] C2 [t1p0 t2p1]"},
		// Example 1 after C1 leaves: round robin reshuffles...
		{"round_robin example 1 without C1", RoundRobinAssign, fourByTwo, members("C0 C2", "t0 t1 t2 t3"),
			"C0 [t0p0 t1p0 t2p0 t3p0] C2 [t0p1 t1p1 t2p1 t3p1]"},
		// ...while sticky keeps all five owned partitions in place. The
		// javadoc's lists come from the pre-2.8 general algorithm and give
		// t2p0 to C0 and t0p1 to C2; Kafka 3.x takes the constrained path
		// for identical subscriptions, which deals the three freed
		// partitions in (topic, partition) order, as here.
		{"sticky example 1 without C1", StickyAssign, fourByTwo, []Member{
			{ID: "C0", Topics: []string{"t0", "t1", "t2", "t3"}, Owned: tps("t0p0 t1p1 t3p0")},
			{ID: "C2", Topics: []string{"t0", "t1", "t2", "t3"}, Owned: tps("t1p0 t2p1")},
		}, "C0 [t0p0 t1p1 t3p0 t0p1] C2 [t1p0 t2p1 t2p0 t3p1]"},
		// StickyAssignor javadoc example 2: differing subscriptions.
		{"sticky example 2", StickyAssign, oneTwoThree, differing(),
			"C0 [t0p0] C1 [t1p0 t1p1] C2 [t2p0 t2p1 t2p2]"},
		{"sticky example 2 without C0", StickyAssign, oneTwoThree, []Member{
			{ID: "C1", Topics: []string{"t0", "t1"}, Owned: tps("t1p0 t1p1")},
			{ID: "C2", Topics: []string{"t0", "t1", "t2"}, Owned: tps("t2p0 t2p1 t2p2")},
		}, "C1 [t1p0 t1p1 t0p0] C2 [t2p0 t2p1 t2p2]"},
		{"round_robin example 2 without C0", RoundRobinAssign, oneTwoThree, []Member{
			{ID: "C1", Topics: []string{"t0", "t1"}}, {ID: "C2", Topics: []string{"t0", "t1", "t2"}},
		}, "C1 [t0p0 t1p1] C2 [t1p0 t2p0 t2p1 t2p2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, show(tt.members, tt.fn(tt.topics, tt.members)))
		})
	}
}

func TestInputOrderDoesNotMatter(t *testing.T) {
	// Members are sorted by ID and topics by name, as Kafka sorts them, so
	// shuffling the inputs changes nothing.
	fwd := members("C0 C1 C2", "a b")
	rev := members("C2 C1 C0", "b a")
	topicsF := []Topic{{"a", 5}, {"b", 4}}
	topicsR := []Topic{{"b", 4}, {"a", 5}}
	for _, s := range []Strategy{Range, RoundRobin, CooperativeSticky} {
		t.Run(s.String(), func(t *testing.T) {
			a, b := s.Assign(topicsF, fwd), s.Assign(topicsR, rev)
			for i := range fwd {
				assert.Equal(t, a[i], b[len(rev)-1-i], fwd[i].ID)
			}
		})
	}
}

func TestRangeSortsIDsLexicographically(t *testing.T) {
	// Kafka compares member ids as strings: "c10" sorts before "c2".
	ms := members("c2 c10 c1", "t")
	got := RangeAssign([]Topic{{"t", 4}}, ms)
	assert.Equal(t, "c2 [tp3] c10 [tp2] c1 [tp0 tp1]", show(ms, got))
}

func TestCooperativeStickyRounds(t *testing.T) {
	all := "t"
	tests := []struct {
		name    string
		members []Member
		want    string
	}{
		{"fresh group: nothing to revoke", members("A B C", all),
			"A [tp0 tp3] B [tp1 tp4] C [tp2 tp5]"},
		{"stable: same assignment", []Member{
			{ID: "A", Topics: []string{all}, Owned: tps("tp0 tp3")},
			{ID: "B", Topics: []string{all}, Owned: tps("tp1 tp4")},
			{ID: "C", Topics: []string{all}, Owned: tps("tp2 tp5")},
		}, "A [tp0 tp3] B [tp1 tp4] C [tp2 tp5]"},
		// C joins: A and B keep two each; the two partitions that move to
		// C are left out of round one (their owners revoke them)...
		{"join, round one", []Member{
			{ID: "A", Topics: []string{all}, Owned: tps("tp0 tp1 tp2")},
			{ID: "B", Topics: []string{all}, Owned: tps("tp3 tp4 tp5")},
			{ID: "C", Topics: []string{all}},
		}, "A [tp0 tp1] B [tp3 tp4] C []"},
		// ...and assigned to C in round two, when nobody owns them.
		{"join, round two", []Member{
			{ID: "A", Topics: []string{all}, Owned: tps("tp0 tp1")},
			{ID: "B", Topics: []string{all}, Owned: tps("tp3 tp4")},
			{ID: "C", Topics: []string{all}},
		}, "A [tp0 tp1] B [tp3 tp4] C [tp2 tp5]"},
		// A member left (crashed): its partitions have no living owner and
		// move at once; nobody else loses anything.
		{"leave", []Member{
			{ID: "A", Topics: []string{all}, Owned: tps("tp0 tp1")},
			{ID: "C", Topics: []string{all}, Owned: tps("tp4 tp5")},
		}, "A [tp0 tp1 tp2] C [tp4 tp5 tp3]"},
		// A partition claimed by two members belongs to neither.
		{"double claim", []Member{
			{ID: "A", Topics: []string{all}, Owned: tps("tp0 tp1 tp2")},
			{ID: "B", Topics: []string{all}, Owned: tps("tp2 tp3 tp4 tp5")},
		}, "A [tp0 tp1] B [tp3 tp4 tp5]"},
	}
	topics := []Topic{{all, 6}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, show(tt.members, CooperativeStickyAssign(topics, tt.members)))
		})
	}
}

// check asserts that a is a valid assignment: every subscribed partition
// exactly once, only to subscribers, and counts within one of each other
// when subscriptions are identical.
func check(t *testing.T, topics []Topic, ms []Member, a [][]TopicPartition, balanced bool) {
	t.Helper()
	seen := map[TopicPartition]int{}
	lo, hi := 1<<30, -1
	for i, ps := range a {
		for _, tp := range ps {
			seen[tp]++
			assert.True(t, subscribes(&ms[i], tp.Topic), "%s got %v", ms[i].ID, tp)
		}
		lo, hi = min(lo, len(ps)), max(hi, len(ps))
	}
	for _, tp := range topics {
		for p := 0; p < tp.Partitions; p++ {
			assert.Equal(t, 1, seen[TopicPartition{tp.Name, int32(p)}], "%s p%d", tp.Name, p)
		}
	}
	if balanced && len(a) > 0 {
		assert.LessOrEqual(t, hi-lo, 1)
	}
}

func TestValidAndBalancedAcrossSizes(t *testing.T) {
	for _, s := range []Strategy{Range, RoundRobin, CooperativeSticky} {
		for parts := 0; parts <= 13; parts++ {
			for n := 1; n <= 5; n++ {
				topics := []Topic{{"t", parts}}
				var ms []Member
				for i := range n {
					ms = append(ms, Member{ID: fmt.Sprintf("m%d", i), Topics: []string{"t"}})
				}
				a := s.Assign(topics, ms)
				check(t, topics, ms, a, true)
				// A sticky reassignment after a member leaves keeps every
				// surviving member's partitions (up to its new quota).
				if s == CooperativeSticky && n > 1 {
					for i := range ms {
						ms[i].Owned = a[i]
					}
					rest := ms[1:]
					b := StickyAssign(topics, rest)
					check(t, topics, rest, b, true)
					quota := (parts + len(rest) - 1) / len(rest)
					for i := range rest {
						keep := min(len(rest[i].Owned), quota)
						assert.Subset(t, b[i], rest[i].Owned[:keep], "parts=%d n=%d", parts, n)
					}
				}
			}
		}
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []Strategy{Range, RoundRobin, CooperativeSticky} {
		got, err := ParseStrategy(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	assert.True(t, CooperativeSticky.Cooperative())
	assert.False(t, Range.Cooperative())
	_, err := ParseStrategy("roundrobin")
	assert.ErrorIs(t, err, ErrStrategy)
	assert.ErrorContains(t, err, `"roundrobin"`)
}
