package bus

import "encoding/binary"

// Murmur2 is Kafka's 32-bit murmur2 hash of data, bit for bit the one in
// org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c), which the
// default partitioner applies to the serialized key. Java's int arithmetic
// wraps like Go's int32 and its >>> is a shift of the unsigned bits. The
// complexity is O(len(data)); it allocates nothing.
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(data)
	h := uint32(seed) ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := n &^ 3
	switch n % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// toPositive is Kafka's Utils.toPositive: the hash with its sign bit
// cleared (not its absolute value, so that MinInt32 maps to 0).
func toPositive(h int32) int32 { return h & 0x7fffffff }

// PartitionForBytes returns the partition of a serialized key among n, as
// Kafka's BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % n.
// O(len(key)).
func PartitionForBytes(key []byte, n int) int {
	return int(toPositive(Murmur2(key))) % n
}

// PartitionForKey returns the partition of a numeric key among n. The key
// is serialized as Kafka's LongSerializer does (8 bytes, big-endian), so a
// Java producer sending the same long keys picks the same partitions.
// O(1); it allocates nothing.
func PartitionForKey(key uint64, n int) int {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], key)
	return PartitionForBytes(b[:], n)
}
