package lb_test

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/lbtest"
	"github.com/meshsim/meshsim/models/lb/leastrequest"
	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/sim"
)

// regressCases pin the pick sequences of round_robin and least_request as
// they were before slow start existed (recorded at commit 0c2121d). With no
// slow start window, hosts that report being in slow start (lb.Warming)
// must not change a single pick: the settings are off by default.
var regressCases = []struct {
	name    string
	policy  string
	weights []uint32
	cfg     lb.Config
	first   string // the first 24 picks
	hash    uint64 // FNV-64a of all 5000 picks, one byte each
}{
	{"rr/equal", roundrobin.Name, []uint32{1, 1, 1, 1, 1}, lb.Config{},
		"[1 2 3 4 0 1 2 3 4 0 1 2 3 4 0 1 2 3 4 0 1 2 3 4]", 0x9a25fe4336e40fe5},
	{"rr/weighted", roundrobin.Name, []uint32{1, 2, 3, 4}, lb.Config{},
		"[1 3 2 3 0 1 2 3 3 2 1 3 2 3 0 1 2 3 3 2 1 3 2 3]", 0x7d23bfa552330c07},
	{"lr/p2c", leastrequest.Name, []uint32{1, 1, 1, 1, 1}, lb.Config{},
		"[4 0 3 1 3 0 4 1 4 2 2 0 1 4 0 3 1 4 1 2 4 3 0 2]", 0xc1dd9f62814761a6},
	{"lr/fullscan", leastrequest.Name, []uint32{1, 1, 1, 1, 1}, lb.Config{FullScan: true},
		"[2 3 1 4 3 2 4 1 0 3 4 2 1 0 2 4 3 0 1 3 2 0 1 4]", 0x15ea6d9811ea8530},
	{"lr/weighted", leastrequest.Name, []uint32{1, 2, 3, 4}, lb.Config{},
		"[1 3 2 3 0 1 2 3 2 1 2 3 0 1 3 2 1 2 3 0 1 3 2 1]", 0x40495cb6033c737f},
	{"lr/weighted-bias0.5", leastrequest.Name, []uint32{1, 2, 3, 4}, lb.Config{ActiveRequestBias: 0.5},
		"[1 3 2 3 0 1 2 3 2 3 1 2 3 0 1 2 3 2 1 3 2 3 0 1]", 0xd88ef689ed3257e0},
}

func regressHosts(ws []uint32, warm bool) []lb.Host {
	hs := make([]lb.Host, len(ws))
	for i, w := range ws {
		if warm {
			hs[i] = &lbtest.WarmHost{Host: lbtest.Host{W: w}, Since: sim.Time(i) * sim.Time(time.Millisecond), Warming: true}
		} else {
			hs[i] = &lbtest.Host{W: w}
		}
	}
	return hs
}

func TestPicksWithoutSlowStartAreUnchanged(t *testing.T) {
	for _, tc := range regressCases {
		for _, warm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/warming=%v", tc.name, warm), func(t *testing.T) {
				hs := regressHosts(tc.weights, warm)
				p := lbtest.Build(t, tc.policy, hs, tc.cfg, sim.NewRand(42, 7))
				seq := lbtest.Drive(t, p, hs, 5000, func(i int) sim.Time { return sim.Time(i) * sim.Time(time.Millisecond) })
				h := fnv.New64a()
				for _, x := range seq {
					h.Write([]byte{byte(x)})
				}
				assert.Equal(t, tc.first, fmt.Sprint(seq[:24]))
				assert.Equal(t, tc.hash, h.Sum64())
			})
		}
	}
}
