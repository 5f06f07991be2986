package bus

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestMurmur2MatchesKafka(t *testing.T) {
	tests := []struct {
		key  string
		want int32
	}{
		// apache/kafka UtilsTest.testMurmur2.
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
		// Akka's Murmur2Spec, "expected correct hash values from the kafka
		// murmur2 impl" (kafkajs's legacy partitioner gives other values:
		// it is not Java-compatible).
		{"1", -1993445489},
		{"12", 126087238},
		{"123", -267702483},
		{"1234", -1614185708},
		{"12345", -1188365604},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.want, Murmur2([]byte(tt.key)))
		})
	}
}

func TestPartitionForKey(t *testing.T) {
	// toPositive clears the sign bit: -973932308 & 0x7fffffff = 1173551340.
	assert.Equal(t, 1173551340%12, PartitionForBytes([]byte("21"), 12))
	assert.Equal(t, 479470107%7, PartitionForBytes([]byte("abc"), 7))
	// A numeric key hashes its 8 big-endian bytes.
	b := []byte{0, 0, 0, 0, 0, 0, 0x30, 0x39} // 12345
	assert.Equal(t, PartitionForBytes(b, 12), PartitionForKey(12345, 12))
	// Keys spread over partitions roughly evenly.
	counts := make([]int, 12)
	for k := uint64(0); k < 12000; k++ {
		counts[PartitionForKey(k, 12)]++
	}
	for p, n := range counts {
		assert.InDelta(t, 1000, n, 120, "partition %d", p)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { PartitionForKey(42, 12) }))
}

func TestZipfKeys(t *testing.T) {
	// The table's steps are the Zipf probabilities: 1/(k+1)^s / H.
	table := zipfTable(4, 1)
	h := 1 + 1.0/2 + 1.0/3 + 1.0/4
	assert.InDelta(t, 1/h, table[0], 1e-12)
	assert.InDelta(t, (1+0.5)/h, table[1], 1e-12)
	assert.Equal(t, 1.0, table[3])
	// The inverse CDF: u below table[0] is key 0, a u equal to a step
	// belongs to the next key, and the top of [0, 1) to the last key.
	assert.Equal(t, 0, zipfKey(table, 0))
	assert.Equal(t, 0, zipfKey(table, table[0]-1e-9))
	assert.Equal(t, 1, zipfKey(table, table[0]))
	assert.Equal(t, 3, zipfKey(table, 0.999999))
	// Drawn through a producer: with 1000 keys and s = 1 the hottest key
	// takes 1/H(1000) = 13.4% of the messages, and its partition more than
	// the others: the hot partition.
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(3, 0)
	pool := &Pool{}
	topic, err := NewTopic(s, streams, pool, TopicConfig{Name: "clicks", Partitions: 12})
	require.NoError(t, err)
	_, err = NewProducer(s, streams, pool, topic, ProducerConfig{Name: "web", Keys: KeyZipf, KeySpace: 1000})
	require.ErrorIs(t, err, ErrConfig, "zipf needs key_skew")
	prod, err := NewProducer(s, streams, pool, topic, ProducerConfig{Name: "web", Keys: KeyZipf, KeySpace: 1000, KeySkew: 1})
	require.NoError(t, err)
	const n = 100000
	keys := make([]int, 1000)
	for range n {
		k := zipfKey(prod.zipf, prod.keyRnd.Float64())
		keys[k]++
	}
	var hn float64
	for k := 1; k <= 1000; k++ {
		hn += 1 / float64(k)
	}
	assert.InDelta(t, n/hn, keys[0], 0.02*n/hn)
	assert.InDelta(t, n/hn/10, keys[9], 0.1*n/hn/10)
	assert.Zero(t, testing.AllocsPerRun(100, func() { zipfKey(prod.zipf, 0.5) }))
}
