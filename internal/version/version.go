// Package version names the meshsim release that produced an output. It is
// written into every summary and report, because the same scenario, seed and
// version give the same bytes.
package version

import "runtime/debug"

// Version is the meshsim release. Outputs carry it; bump it with every
// change that changes simulated results.
const Version = "0.1.0-dev"

// Commit returns the VCS revision the binary was built from (12 hex digits,
// with "+dirty" for a modified tree), or "unknown" when the build carries no
// VCS information (go run with -buildvcs=false, or a build outside a
// checkout).
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}
