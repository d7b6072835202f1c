package cmdutil

import (
	"errors"
	"fmt"
)

// Exit statuses, as the README ("Exit status") and `cvmtail tail --help` promise them.
const (
	ExitOK          = 0
	ExitPartial     = 1 // some stream or CVM failed for good while others delivered
	ExitUsage       = 2 // usage or configuration error
	ExitNothingDone = 3 // Prism unreachable or refused, or every CVM failed
	ExitSIGINT      = 130
	ExitSIGTERM     = 143
)

// UsageError is a bad flag, argument or configuration: exit status 2.
type UsageError struct {
	Err  error
	Hint string // a way forward, printed as "cvmtail: hint: ..."
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// WithHint attaches a hint to a usage error.
func UsageWithHint(err error, hint string) error { return &UsageError{Err: err, Hint: hint} }

// NothingDoneError means nothing could be done (Prism refused, every CVM failed): exit 3.
type NothingDoneError struct {
	Err  error
	Hint string
}

func (e *NothingDoneError) Error() string { return e.Err.Error() }
func (e *NothingDoneError) Unwrap() error { return e.Err }

// PartialError means some streams failed for good while others delivered: exit 1. The
// failures were already reported on stderr.
type PartialError struct{ Failed int }

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d stream(s) failed", e.Failed)
}

// SilentError carries an exit status whose cause was already reported.
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode maps an error returned by a command to the process's exit status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	var nd *NothingDoneError
	var pe *PartialError
	var se *SilentError
	switch {
	case errors.As(err, &se):
		return se.Code
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &nd):
		return ExitNothingDone
	case errors.As(err, &pe):
		return ExitPartial
	}
	return ExitNothingDone
}

// HintOf returns the way forward for err: the hint a command attached, else the one for the
// engine error it wraps (hints.go), if any.
func HintOf(err error) string {
	_, hint := hintAndKind(err)
	return hint
}

// hintAndKind is err's way forward (HintOf) and its kind (HintKind).
func hintAndKind(err error) (kind, hint string) {
	var ue *UsageError
	var nd *NothingDoneError
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &ue) && ue.Hint != "":
		return "usage:" + ue.Hint, ue.Hint
	case errors.As(err, &nd) && nd.Hint != "":
		return "nothing:" + nd.Hint, nd.Hint
	}
	kind, hint, _ = engineHint(err)
	return kind, hint
}
