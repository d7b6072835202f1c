// Command cvmtail follows log files on the Controller VMs of Nutanix clusters.
package main

import (
	"os"

	"github.com/cvmtail/cvmtail/internal/cli"
)

func main() { os.Exit(cli.Main()) }
