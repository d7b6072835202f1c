//go:build race

package filter

// The race detector makes sync.Pool drop items, so regexp allocates its machines anew.
const raceEnabled = true
