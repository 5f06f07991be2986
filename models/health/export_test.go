package health

// SetTransitionLimit lowers the number of transitions c keeps in its log.
func SetTransitionLimit(c *Checker, n int) { c.logMax = n }
