//go:build !unix

package cli

import "time"

// cpuTime is not known here: adaptProcs leaves the runtime as it is.
func cpuTime() (time.Duration, bool) { return 0, false }
