//go:build !linux

package sshx

import "net"

// tcpConn is Linux-only (rawio, TCP_QUICKACK); elsewhere the connection is used as it is.
func tcpConn(c net.Conn) net.Conn { return c }
