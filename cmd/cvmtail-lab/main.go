//go:build unix

// Command cvmtail-lab runs a simulated Nutanix cluster on this machine, for demos and
// tests: a Prism simulator over HTTPS and CVMs reachable over SSH on loopback addresses,
// with log files that grow and rotate. No root and no installed sshd are needed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/lab"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("cvmtail-lab", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg lab.Config
	fs.IntVar(&cfg.CVMs, "cvms", 4, "CVMs per cluster")
	fs.StringVar(&cfg.FirstAddr, "first-addr", "127.0.0.11", "loopback address of the first CVM; the others follow it")
	fs.IntVar(&cfg.SSHPort, "ssh-port", 2222, "SSH port of every CVM (0: a free port)")
	fs.StringVar(&cfg.PrismAddr, "prism-addr", "127.0.0.1:9440", "where Prism listens (port 0: a free port)")
	fs.StringVar(&cfg.Mode, "mode", "pe", "pe: a Prism Element with one cluster; pc: a Prism Central with two")
	fs.StringVar(&cfg.Dir, "dir", "", "directory for keys, CA and logs (default: a new temporary directory, removed at exit)")
	fs.Float64Var(&cfg.Rate, "rate", 5, "lines per second per log file")
	fs.DurationVar(&cfg.RotateEvery, "rotate-every", 2*time.Minute, "about how often each log rotates (0: never)")
	fs.IntVar(&cfg.Backlog, "backlog", 200, "lines per log file written at start")
	fs.DurationVar(&cfg.History, "history", 3*time.Hour, "how far back the rotated (and compressed) history written at start reaches, for --since (0: none)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: cvmtail-lab [flags]

Runs a simulated Nutanix cluster on loopback addresses: Prism over HTTPS and CVMs over SSH,
whose logs grow and rotate. It prints the cvmtail command lines that reach it, then "ready"
on stdout, and runs until SIGINT or SIGTERM.

Flags:
%s`, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return usageError(stderr, "%v", err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.Mode != "pe" && cfg.Mode != "pc":
		return usageError(stderr, "--mode %q: want pe or pc", cfg.Mode)
	case cfg.CVMs < 1:
		return usageError(stderr, "--cvms %d: want at least 1", cfg.CVMs)
	case cfg.Rate < 0:
		return usageError(stderr, "--rate %v: want lines per second, 0 or more", cfg.Rate)
	case cfg.RotateEvery < 0:
		return usageError(stderr, "--rotate-every %v: want a duration, 0 for never", cfg.RotateEvery)
	}
	if cfg.Backlog == 0 {
		cfg.Backlog = -1 // lab.Config's zero means the default
	}
	if cfg.History <= 0 {
		cfg.History = -1 // idem
	}
	if cfg.Rate == 0 {
		cfg.Rate = 1e-9 // idem: asked for silence
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tempDir := ""
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "cvmtail-lab-")
		if err != nil {
			fmt.Fprintf(stderr, "cvmtail-lab: %v\n", err)
			return 1
		}
		tempDir, cfg.Dir = d, d
		defer os.RemoveAll(tempDir)
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "cvmtail-lab: %v\n", err)
		return 1
	}
	cfg.Errorf = func(format string, args ...any) {
		fmt.Fprintf(stderr, "cvmtail-lab: "+format+"\n", args...)
	}

	l, err := lab.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cvmtail-lab: %v\n", err)
		if strings.Contains(err.Error(), "address already in use") {
			fmt.Fprintln(stderr, "cvmtail-lab: hint: another lab may be running; stop it, or pick other ports with --ssh-port and --prism-addr (0: a free port)")
		}
		return 1
	}
	defer l.Close()
	printUsage(stderr, l, cfg)
	fmt.Fprintln(stdout, "ready")

	<-ctx.Done()
	fmt.Fprintln(stderr, "cvmtail-lab: stopping")
	return 0
}

func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "cvmtail-lab: "+format+"\n", args...)
	fmt.Fprintln(stderr, "cvmtail-lab: hint: see cvmtail-lab --help")
	return 2
}

func printUsage(w io.Writer, l *lab.Lab, cfg lab.Config) {
	kind := "Prism Element"
	if len(l.Clusters) > 1 {
		kind = "Prism Central"
	}
	fmt.Fprintf(w, "cvmtail-lab: a simulated %s with %d CVMs, files in %s\n\n", kind, len(l.CVMs), l.Dir)
	fmt.Fprintf(w, "  prism  https://%s  user admin, password in %s, CA %s\n", l.PrismAddr, l.Password, l.CACert)
	for _, c := range l.CVMs {
		fmt.Fprintf(w, "  cvm    %-20s %s:%d  %s  logs in %s\n", c.Name, c.Address, l.SSHPort, c.Cluster, c.LogDir)
	}
	cluster := ""
	if len(l.Clusters) > 1 {
		cluster = " --cluster " + l.Clusters[0]
	}
	prism := fmt.Sprintf("--prism %s --ca-cert %s --password-file %s%s", l.PrismAddr, l.CACert, l.Password, cluster)
	ssh := fmt.Sprintf("--ssh-port %d -i %s --known-hosts %s --ssh-config /dev/null", l.SSHPort, l.Identity, l.KnownHosts)
	fmt.Fprintf(w, `
Try:
  cvmtail list-cvms %s
  cvmtail tail genesis 'stargate.INFO' %s %s

or, with the lab's context (every command: list-cvms, logs --remote, tail):
  CVMTAIL_CONFIG=%s cvmtail --context lab tail genesis stargate.INFO

or, with the lab's environment and ssh_config:
  . %s
  cvmtail tail acropolis stargate.INFO cerebro.INFO --ca-cert %s%s --ssh-config %s

cvmtail keeps the CVM list for 5 minutes: after restarting the lab with other --cvms or
--mode, add --refresh. Each CVM's /home/nutanix/data/logs is its directory above.
`, prism, prism, ssh, l.ConfigFile, l.EnvFile, l.CACert, cluster, l.SSHConfig)
	if cfg.Rate >= 0.01 {
		fmt.Fprintf(w, "Logs grow by %g lines/s per file", cfg.Rate)
		if cfg.RotateEvery > 0 {
			fmt.Fprintf(w, " and rotate about every %s", cfg.RotateEvery)
		}
		fmt.Fprintln(w, ".")
	}
	fmt.Fprintf(w, "Stop with Ctrl-C.\n\n")
}
