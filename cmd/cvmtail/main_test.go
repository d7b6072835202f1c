package main_test

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	cvmtail "github.com/cvmtail/cvmtail/cmd/cvmtail"
	"github.com/cvmtail/cvmtail/internal/testenv/binrun"
)

// binary is cvmtail built for the end-to-end tests.
var binary string

// TestMain serves the two layers of tests of the built program. The test scripts
// (script_test.go) run the real main, installed by testscript as the command cvmtail; the
// end-to-end tests (e2e*_test.go, faults_test.go, prism_e2e_test.go) run the binary built
// here against sshd CVMs and the Prism simulator.
func TestMain(m *testing.M) {
	testscript.Main(binrun.WithSetup(m, func(dir string) (err error) {
		binary, err = binrun.Build(dir, ".", "")
		return err
	}), map[string]func(){"cvmtail": cvmtail.Main})
}
