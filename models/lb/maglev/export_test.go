package maglev

import "github.com/meshsim/meshsim/models/lb"

// EntriesPerHost returns the number of table entries of each of n hosts.
func EntriesPerHost(p lb.Picker, n int) []int {
	c := make([]int, n)
	for _, h := range p.(*picker).table {
		c[h]++
	}
	return c
}
