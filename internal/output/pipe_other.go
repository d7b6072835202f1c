//go:build !linux

package output

import "io"

// pipeOut is Linux-only (rawio); elsewhere the writer writes w as it is.
func pipeOut(w io.Writer) (io.Writer, func() error) { return w, nil }
