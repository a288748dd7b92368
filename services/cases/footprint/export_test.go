package footprint

// SetExactBelow lowers the count below which cases are counted rather
// than estimated, so that a test reaches the estimate with a few cases.
func SetExactBelow(n float64) (restore func()) {
	old := exactBelow
	exactBelow = n
	return func() { exactBelow = old }
}
