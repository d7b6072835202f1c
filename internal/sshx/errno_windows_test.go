package sshx

import (
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// A refused connection as Go's net package reports it on Windows gets the sshd hint.
func TestRefusedOnWindows(t *testing.T) {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connectex", windows.WSAECONNREFUSED)}
	e := &DialError{Host: "cvm", Addr: "10.1.1.11:22", Err: err}
	if !e.Refused() || e.Port() != "22" {
		t.Errorf("refused %v, port %q: want a refusal on port 22", e.Refused(), e.Port())
	}
	if strings.Contains(e.Error(), "connectex") {
		t.Errorf("message %q repeats the Windows call's name", e.Error())
	}
}
