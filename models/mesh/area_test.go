package mesh

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestArea(t *testing.T) {
	var a area
	a.add(5)
	a.add(-7)
	assert.Equal(t, -2.0, a.float())
	a.add(2)
	assert.Equal(t, 0.0, a.float())
	// Past int64: 4 x MaxInt64 is exact as a 128-bit integer.
	for i := 0; i < 4; i++ {
		a.add(math.MaxInt64)
	}
	assert.Equal(t, 4*float64(math.MaxInt64), a.float())
	for i := 0; i < 8; i++ {
		a.add(math.MinInt64)
	}
	assert.Equal(t, -4*float64(math.MaxInt64)-8, a.float())
}
