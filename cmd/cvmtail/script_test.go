package main_test

// The command-line contract as a user's shell sees it (docs/cli): the scripts in
// testdata/script run cvmtail (the real main, see TestMain) and check its stdout, stderr
// and exit status. They need no root, no sshd and no network: every case stops before
// cvmtail would connect anywhere, and $HOME, the config and the cache are the script's own.
//
// Besides testscript's own commands, the scripts have:
//
//	status N cmd [args...]      run cmd like exec, and expect exit status N
//	messages                    every line of the last stderr starts with "cvmtail: "
//	jsonarray key...            the last stdout is a JSON array of objects, each with these keys

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// What a user's environment could change; testscript passes none of it anyway,
			// this says where cvmtail looks instead.
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":    cmdStatus,
			"messages":  cmdMessages,
			"jsonarray": cmdJSONArray,
		},
	})
}

// cmdStatus runs a command, keeping its stdout and stderr for the next commands, and
// checks its exit status: the contract gives each status a meaning (2: usage error).
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! status")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status %q: not a number", args[0])
	}
	got := 0
	var ee *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case err == nil:
	case errors.As(err, &ee):
		got = ee.ExitCode()
	default:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdMessages checks that stderr holds only cvmtail's own messages: every status, warning
// and error goes there as "cvmtail: ...".
func cmdMessages(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: messages")
	}
	for _, line := range strings.Split(strings.TrimSuffix(ts.ReadFile("stderr"), "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, "cvmtail: ") {
			ts.Fatalf("stderr line without the cvmtail: prefix: %q", line)
		}
	}
}

// cmdJSONArray checks the shape scripts rely on: stdout is one JSON array of objects, none
// without the given keys. It says nothing of the layout (indentation, key order).
func cmdJSONArray(ts *testscript.TestScript, neg bool, keys []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonarray")
	}
	var objects []map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &objects); err != nil {
		ts.Fatalf("stdout is not a JSON array of objects: %v", err)
	}
	if len(objects) == 0 {
		ts.Fatalf("stdout is an empty JSON array")
	}
	for i, o := range objects {
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				ts.Fatalf("object %d has no %q: %v", i, k, o)
			}
		}
	}
}
