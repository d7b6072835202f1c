package cmdutil

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/units"
)

// DurationVar defines a duration flag read with units.ParseDuration (1d, 2w as well as Go's
// 30s, 15m, 2h): every duration flag of every command takes the same words.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(units.Duration{D: p}, name, usage)
}

// LinesVarP defines a line count flag read with units.ParseLines (a number, or all).
func LinesVarP(fs *pflag.FlagSet, p *int, name, shorthand string, value int, usage string) {
	*p = value
	fs.VarP(units.Lines{N: p}, name, shorthand, usage)
}

// FlagError turns pflag's parse errors into cvmtail's usage errors: a value that does not
// parse is told in the tool's words ("invalid --since "1x": use a duration such as ..."),
// never strconv's or time's.
func FlagError(c *cobra.Command, err error) error {
	help := fmt.Sprintf("see '%s --help'", c.CommandPath())
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		fl := invalid.GetFlag()
		return &UsageError{Err: fmt.Errorf("invalid --%s %q: %s", fl.Name, invalid.GetValue(), valueProblem(fl, errors.Unwrap(err))), Hint: help}
	}
	return &UsageError{Err: err, Hint: help}
}

// valueProblem says what is wrong with a flag's value: the parser's own words when they
// are cvmtail's, else what the flag's type takes.
func valueProblem(fl *pflag.Flag, cause error) string {
	var num *strconv.NumError
	switch {
	case cause == nil:
		return "not a valid value"
	case !errors.As(cause, &num):
		return cause.Error()
	}
	switch t := fl.Value.Type(); {
	case t == "bool":
		return "use true or false"
	case strings.HasPrefix(t, "uint"):
		return "use a whole number, 0 or more"
	case strings.HasPrefix(t, "int"):
		return "use a whole number"
	case strings.HasPrefix(t, "float"):
		return "use a number"
	}
	return "not a valid value"
}
