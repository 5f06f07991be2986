package dist

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestNoFusedMultiplyAdd compiles this package and sim/stats for arm64, where the Go
// compiler fuses x*y+z into one instruction unless the product is converted
// explicitly (float64(x*y)), and fails if any fused instruction appears:
// fusion changes the last bit of a sample on some machines and not others
// (see fmath.go). amd64 with GOAMD64=v3, ppc64le, s390x and riscv64 fuse
// the same expressions. The test needs the go command; -short skips it.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the package for arm64")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(gocmd, "build", "-gcflags=-S", "-o", os.DevNull, ".", "../stats")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build for arm64: %v\n%s", err, out)
	}
	for _, fn := range []string{`dist\.fexp`, `stats\.u128\.quo`} {
		if !regexp.MustCompile(`\bTEXT\s+\S*` + fn + `\(SB\)`).Match(out) {
			t.Fatalf("no assembly listing for %s in the compiler output:\n%.2000s", fn, out)
		}
	}
	fused := regexp.MustCompile(`(?m)^.*\b(FMADDD|FMSUBD|FNMADDD|FNMSUBD)\b.*$`)
	for _, line := range fused.FindAll(out, -1) {
		t.Errorf("fused multiply-add: %s", line)
	}
}
