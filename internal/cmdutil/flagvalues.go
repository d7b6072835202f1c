package cmdutil

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/suggest"
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

// FlagError turns pflag's parse errors into cvmtail's usage errors: an unknown flag gets
// the nearest of the command's flags as a did-you-mean, and a value that does not parse
// is told in the tool's words ("invalid --since "1x": use a duration such as ..."),
// never strconv's or time's.
func FlagError(c *cobra.Command, err error) error {
	help := fmt.Sprintf("see '%s --help'", c.CommandPath())
	var notExist *pflag.NotExistError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		// --grpe; or -grep, which pflag reads as the shorthands g, r, e, p.
		typed := notExist.GetSpecifiedName()
		if short := notExist.GetSpecifiedShortnames(); short != "" {
			typed = short
		}
		if near := nearestFlag(c, typed); near != "" {
			return &UsageError{Err: err, Hint: fmt.Sprintf("did you mean --%s?", near)}
		}
	case errors.As(err, &invalid):
		fl := invalid.GetFlag()
		return &UsageError{Err: fmt.Errorf("invalid --%s %q: %s", fl.Name, invalid.GetValue(), valueProblem(fl, errors.Unwrap(err))), Hint: help}
	}
	return &UsageError{Err: err, Hint: help}
}

// nearestFlag is the flag of c whose name is closest to typed, or "".
func nearestFlag(c *cobra.Command, typed string) string {
	if typed == "" {
		return ""
	}
	var names []string
	seen := map[string]bool{}
	for _, fs := range []*pflag.FlagSet{c.Flags(), c.InheritedFlags()} {
		fs.VisitAll(func(fl *pflag.Flag) {
			if !fl.Hidden && !seen[fl.Name] {
				seen[fl.Name] = true
				names = append(names, fl.Name)
			}
		})
	}
	if near := suggest.Nearest(typed, names, 1); len(near) > 0 {
		return near[0]
	}
	return ""
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
