// Package listcvms implements `cvmtail list-cvms`.
package listcvms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/tableprinter"
	"github.com/cvmtail/cvmtail/internal/targets"
	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// Output formats of -o.
const (
	FormatTable   = "table"
	FormatWide    = "wide"
	FormatJSON    = "json"
	FormatAddress = "address"
)

// Options are list-cvms's flags and dependencies.
type Options struct {
	IO      *iostreams.IOStreams
	Targets targets.Options
	// SSH is accepted and not used: list-cvms only asks Prism, but one set of flags works
	// for every command.
	SSH    cmdutil.SSHOptions
	Output string

	// ListCVMs resolves the selected CVMs (through Prism, or the --cvm addresses as given).
	ListCVMs func(ctx context.Context) ([]targets.Target, error)
}

// NewCmdListCVMs builds the command; runF replaces the run function in tests.
func NewCmdListCVMs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "list-cvms",
		Short: "List the CVMs of the selected cluster(s), resolved through Prism",
		Long: `List the CVMs of the selected cluster(s), resolved through Prism Element or Prism Central.

With --prism, the CVMs come from Prism: all CVMs of the cluster, or only those named by
--cvm (CVM IP, host name or CVM name). A Prism Central managing several clusters needs
--cluster: names or UUIDs (repeatable and comma-separated), or all (or '*') for every AOS
cluster; with --cvm alone, the CVMs are looked for in every cluster, and a --cvm that
matches CVMs of several clusters is a usage error that lists them. Compute-only hosts
(host type COMPUTE_ONLY) have no CVM and are left out (a note on stderr says how many); a
host of another type without a usable CVM address is left out with a line naming it. A
cluster Prism Central reports as unavailable is left out with a line saying so, as is one
whose hosts cannot be listed (exit status 1 then; 3 when no cluster could be listed). CVMs
in maintenance or on nodes being removed are listed with their state.
The list is cached for 5 minutes per Prism, user, TLS settings (--insecure, --ca-cert) and
cluster selection; --refresh asks again.

A CVM's name is its own where Prism serves it (v4.3 clusters/{id}/cvms), else its host's
name + "-CVM". Names are made safe and unique: '/', "..", spaces and control characters
become '_', and a name two CVMs share gets "@<cluster>" (then "@<address>") appended.
An address Prism gives that is not an IP address or a plain host name is never used.

STATE is one of these, the same for v4, v3 and v2 (docs/prism-states.md has the fields
behind each); when several apply, the first listed wins:
  being-removed      the node is being removed from the cluster
  maintenance        the CVM is in maintenance mode (only v4 reports it)
  host-maintenance   the host is entering or in maintenance mode
  ha-failover        the host is the source or target of an HA failover
  ha-healing         the host is the source or target of HA healing
  ha-reserved        the host is (being) reserved for HA failover
  host-disconnected  Acropolis has lost the connection to the host's hypervisor
  new                the node is new to the cluster
  preprotected       node status TO_BE_PREPROTECTED or PREPROTECTED
  unknown            Prism gives no state (v3 never does) or one this version does not know
  normal             none of the above

Without --prism, the --cvm addresses are listed as given (name = address), as every other
command would use them; no Prism call is made.

The SSH flags (--ssh-user, --ssh-port, --identity, --ssh-config, --known-hosts,
--host-key-check, --connect-timeout, --use-nat) are accepted and not used, so that one set
of flags (tail's) works for every command: list-cvms only asks Prism.

Output (-o):
  table    NAME, ADDRESS, CLUSTER, HOST, STATE; aligned with a header on a terminal,
           tab-separated without a header into a pipe ("-" for an unknown value)
  wide     table plus CLUSTER_UUID, HYPERVISOR_ADDRESS, NODE_STATUS, HYPERVISOR_STATE,
           HOST_TYPE, NAT (NAT address:port, for tail --use-nat)
  json     an array of objects: name, address, cluster, cluster_uuid, host,
           hypervisor_address, state, in_maintenance (the CVM's), node_status,
           host_in_maintenance, hypervisor_state, connection_state, maintenance_state
           (the raw values STATE is made of), host_type, nat_address, nat_port, raw_name
           (as Prism gave it), name_source (prism, host or address); [] for none
  address  one CVM IP per line, for xargs`,
		Example: `  cvmtail list-cvms --prism pe.example.com
  cvmtail list-cvms --prism pc.example.com --cluster prod -o wide
  cvmtail list-cvms --prism pc.example.com --cluster prod -o address | xargs -n1 ping -c1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageWithHint(fmt.Errorf("list-cvms takes no arguments, got %q", args[0]),
					"to list only some CVMs, name them with --cvm "+args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.Output {
			case FormatTable, FormatWide, FormatJSON, FormatAddress:
			default:
				return cmdutil.UsageWithHint(fmt.Errorf("invalid --output %q", opts.Output),
					"use -o table, wide, json or address")
			}
			if err := cmdutil.ApplyContext(cmd, f, &opts.Targets.TargetOptions, nil); err != nil {
				return err
			}
			opts.ListCVMs = func(ctx context.Context) ([]targets.Target, error) { return targets.List(ctx, f, &opts.Targets) }
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	targets.AddFlags(cmd, &opts.Targets)
	cmdutil.AddSSHFlags(cmd, &opts.SSH)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", FormatTable, "output format: table, wide, json or address")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{FormatTable, FormatWide, FormatJSON, FormatAddress}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func listRun(ctx context.Context, opts *Options) error {
	cvms, err := opts.ListCVMs(ctx)
	// Some clusters could not be listed (already reported): the others are still shown,
	// and the exit status says what happened.
	var partial *cmdutil.SilentError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	if werr := writeList(opts, cvms); werr != nil {
		return werr
	}
	return err
}

func writeList(opts *Options, cvms []targets.Target) error {
	out := opts.IO.Out
	switch opts.Output {
	case FormatJSON:
		return writeJSON(out, cvms)
	case FormatAddress:
		var b strings.Builder
		for _, c := range cvms {
			b.WriteString(clean(c.Address) + "\n")
		}
		_, err := io.WriteString(out, b.String())
		return err
	}
	if len(cvms) == 0 {
		_, _ = fmt.Fprintln(opts.IO.ErrOut, "cvmtail: no CVM found")
		return nil
	}
	return writeTable(out, cvms, opts.Output == FormatWide, opts.IO.IsStdoutTTY())
}

// cvmJSON is the stable JSON shape of a CVM; fields are only ever added.
type cvmJSON struct {
	Name              string `json:"name"`
	Address           string `json:"address"`
	Cluster           string `json:"cluster"`
	ClusterUUID       string `json:"cluster_uuid"`
	Host              string `json:"host"`
	HypervisorAddress string `json:"hypervisor_address"`
	State             string `json:"state"`
	InMaintenance     bool   `json:"in_maintenance"`
	NodeStatus        string `json:"node_status"`
	// Added with the state table of docs/prism-states.md.
	HostInMaintenance bool   `json:"host_in_maintenance"`
	HypervisorState   string `json:"hypervisor_state"`
	ConnectionState   string `json:"connection_state"`
	MaintenanceState  string `json:"maintenance_state"`
	HostType          string `json:"host_type"`
	NATAddress        string `json:"nat_address"`
	NATPort           int    `json:"nat_port"`
	RawName           string `json:"raw_name"`
	NameSource        string `json:"name_source"`
}

func writeJSON(w io.Writer, cvms []targets.Target) error {
	list := make([]cvmJSON, 0, len(cvms))
	for _, c := range cvms {
		list = append(list, cvmJSON{c.Name, c.Address, c.Cluster, c.ClusterUUID, c.Host,
			c.HypervisorAddress, c.State, c.InMaintenance, c.NodeStatus,
			c.HostInMaintenance, c.HypervisorState, c.ConnectionState, c.MaintenanceState, c.HostType,
			c.NATAddress, c.NATPort, rawName(c), c.NameSource})
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeTable(w io.Writer, cvms []targets.Target, wide, tty bool) error {
	header := []string{"NAME", "ADDRESS", "CLUSTER", "HOST", "STATE"}
	if wide {
		header = append(header, "CLUSTER_UUID", "HYPERVISOR_ADDRESS", "NODE_STATUS", "HYPERVISOR_STATE", "HOST_TYPE", "NAT")
	}
	t := tableprinter.New(w, tty, header...)
	t.EmptyAs = "-"
	for _, c := range cvms {
		fields := []string{c.Name, c.Address, c.Cluster, c.Host, c.State}
		if wide {
			fields = append(fields, c.ClusterUUID, c.HypervisorAddress, c.NodeStatus, c.HypervisorState, c.HostType, nat(c))
		}
		t.Row(fields...)
	}
	return t.Flush()
}

// nat is the NAT address and port as one column: "203.0.113.5:2201", or the address alone
// when Prism gives no port.
func nat(c targets.Target) string {
	switch {
	case c.NATAddress == "":
		return ""
	case c.NATPort == 0:
		return c.NATAddress
	}
	return net.JoinHostPort(c.NATAddress, strconv.Itoa(c.NATPort))
}

// rawName is the name as Prism gave it; a CVM given by --cvm has only its name.
func rawName(c targets.Target) string {
	if c.RawName == "" {
		return c.Name
	}
	return c.RawName
}

// clean keeps a value from Prism on one line and one field: control characters (tabs,
// newlines, escapes) are shown escaped, as in every table cvmtail prints.
func clean(s string) string { return termsafe.Field(s) }
