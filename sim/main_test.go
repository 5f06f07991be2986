package sim

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain proves the kernel starts no goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
