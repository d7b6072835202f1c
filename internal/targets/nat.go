package targets

import (
	"fmt"
	"net"
	"strconv"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// UseNAT points each target at the NAT address and port Prism gives for it (--use-nat):
// Address becomes "host:port", or the bare NAT address when Prism gives no port, which
// cmdutil.DialSSH dials. Name stays, so prefixes and capture directories do not change. A CVM
// without a NAT address keeps its own, with a warning.
func UseNAT(f *cmdutil.Factory, targets []Target) []Target {
	out := make([]Target, len(targets))
	var missing []string
	for i, t := range targets {
		var ok bool
		if out[i], ok = natTarget(t); !ok {
			missing = append(missing, t.Name)
		}
	}
	switch {
	case len(missing) == 0:
	case len(missing) == len(targets):
		fmt.Fprintln(f.IOStreams.ErrOut, "cvmtail: warning: --use-nat: no CVM has a NAT address in Prism: connecting to their own addresses")
	default:
		for _, name := range missing {
			fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: warning: %s: --use-nat: no NAT address in Prism: connecting to its own address\n", name)
		}
	}
	return out
}

// natTarget is t reached at its NAT address and port; false when Prism gives none.
func natTarget(t Target) (Target, bool) {
	switch {
	case t.NATAddress == "":
		return t, false
	case t.NATPort == 0:
		t.Address = t.NATAddress
	default:
		t.Address = net.JoinHostPort(t.NATAddress, strconv.Itoa(t.NATPort))
	}
	return t, true
}
