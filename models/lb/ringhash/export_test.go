package ringhash

import "github.com/meshsim/meshsim/models/lb"

// PointsPerHost returns the number of ring points of each of n hosts.
func PointsPerHost(p lb.Picker, n int) []int {
	c := make([]int, n)
	for _, h := range p.(*picker).hosts {
		c[h]++
	}
	return c
}
