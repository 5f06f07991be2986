package bus

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
