package autoscale

// SetDecisionLimit lowers the number of decisions a keeps in its log.
func SetDecisionLimit(a *Autoscaler, n int) { a.logMax = n }
