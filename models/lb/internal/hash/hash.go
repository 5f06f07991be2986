// Package hash implements XXH64, the 64-bit xxHash that Envoy uses for ring
// hash and Maglev (HashUtil::xxHash64, source/common/common/hash.h), so that
// the simulated rings and tables are built from the same kind of hash as
// Envoy's. It is a straight port of the reference algorithm
// (github.com/Cyan4973/xxHash, xxhash.h XXH64), checked against the test
// vectors of Envoy and of github.com/cespare/xxhash.
//
// The functions are pure, allocate nothing and give the same result on every
// platform (inputs are read little-endian, as XXH64 specifies).
package hash

import (
	"encoding/binary"
	"math/bits"
)

const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// Sum64 returns XXH64(b, seed). The complexity is O(len(b)).
func Sum64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1 := seed + prime1 + prime2
		v2 := seed + prime2
		v3 := seed
		v4 := seed - prime1
		for len(b) >= 32 {
			v1 = round(v1, binary.LittleEndian.Uint64(b[0:8]))
			v2 = round(v2, binary.LittleEndian.Uint64(b[8:16]))
			v3 = round(v3, binary.LittleEndian.Uint64(b[16:24]))
			v4 = round(v4, binary.LittleEndian.Uint64(b[24:32]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = mergeRound(h, v1)
		h = mergeRound(h, v2)
		h = mergeRound(h, v3)
		h = mergeRound(h, v4)
	} else {
		h = seed + prime5
	}
	h += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		h ^= round(0, binary.LittleEndian.Uint64(b[:8]))
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b[:4])) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		b = b[4:]
	}
	for ; len(b) > 0; b = b[1:] {
		h ^= uint64(b[0]) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	return avalanche(h)
}

// Uint64 returns XXH64 of the 8 little-endian bytes of v with seed 0: Envoy's
// HashUtil::xxHash64Value(uint64_t). Pickers use it to spread a request's
// hash key over the ring or table, since keys in scenarios are often small
// consecutive integers. The complexity is O(1).
func Uint64(v uint64) uint64 {
	h := prime5 + 8
	h ^= round(0, v)
	h = bits.RotateLeft64(h, 27)*prime1 + prime4
	return avalanche(h)
}

func round(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func mergeRound(acc, val uint64) uint64 {
	acc ^= round(0, val)
	return acc*prime1 + prime4
}

func avalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}
