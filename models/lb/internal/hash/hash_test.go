package hash

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSum64Vectors(t *testing.T) {
	tests := []struct {
		in   string
		seed uint64
		want uint64
	}{
		// Envoy test/common/common/hash_test.cc (TEST(Hash, xxHash)).
		{"foo", 0, 3728699739546630719},
		{"bar", 0, 5234164152756840025},
		{"foo\nbar", 0, 8917841378505826757},
		{"lyft", 0, 4400747396090729504},
		{"", 0, 17241709254077376921},
		// Envoy xxHash64Value(false, /*seed=*/42): one zero byte.
		{"\x00", 42, 9486749600008296231},
		// github.com/cespare/xxhash xxhash_test.go TestSum.
		{"a", 0, 0xd24ec4f1a98c6e5b},
		{"as", 0, 0x1c330fb2d66be179},
		{"asd", 0, 0x631c37ce72a97393},
		{"asdf", 0, 0x415872f599cea71e},
		// 63 bytes: exercises the 32-byte stripes, 8-, 4- and 1-byte tails.
		{"Call me Ishmael. Some years ago--never mind how long precisely-", 0, 0x02a2e85470d6fd96},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, Sum64([]byte(tt.in), tt.seed))
		})
	}
}

func TestUint64MatchesEnvoyXXHash64Value(t *testing.T) {
	// Envoy test/common/common/hash_test.cc (TEST(Hash, xxHash64Value)).
	neg := int64(-1234567890123456789)
	tests := []struct {
		in   uint64
		want uint64
	}{
		{1234567890123456789, 11149811956558368074},
		{uint64(neg), 5127252389447085590},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Uint64(tt.in))
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], tt.in)
		assert.Equal(t, Sum64(b[:], 0), Uint64(tt.in), "Uint64 is Sum64 of the 8 little-endian bytes")
	}
}

func TestUint64AllocatesNothing(t *testing.T) {
	var sink uint64
	allocs := testing.AllocsPerRun(100, func() { sink += Uint64(sink) })
	assert.Zero(t, allocs)
}
