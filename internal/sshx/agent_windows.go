package sshx

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/windows"
)

// defaultAgentSocket: without SSH_AUTH_SOCK, Windows' ssh.exe asks the OpenSSH agent
// service on its named pipe, and so do we.
const defaultAgentSocket = windowsAgentPipe

// dialAgent opens a named pipe, or a unix socket (AF_UNIX exists since Windows 10 1803)
// when SSH_AUTH_SOCK names one. The pipe is opened overlapped, so that Go's poller serves
// it and SetDeadline works as on a socket; no library beyond x/sys is needed for that
// since Go 1.26, which passes FILE_FLAG_OVERLAPPED through os.OpenFile.
func dialAgent(ctx context.Context, socket string) (agentConn, error) {
	if !isNamedPipe(socket) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", socket)
	}
	pipe := strings.ReplaceAll(socket, "/", `\`) // //./pipe/NAME is \\.\pipe\NAME
	for {
		f, err := os.OpenFile(pipe, os.O_RDWR|windows.O_FILE_FLAG_OVERLAPPED, 0)
		if err == nil {
			return f, nil
		}
		// Every instance of the pipe is serving another client: the agent makes a new one
		// as soon as it can, so wait a moment rather than fail.
		if !errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(10 * time.Millisecond):
		}
	}
}
