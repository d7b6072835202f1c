package sshx

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// Every error Dial returns names the host as the caller gave it and, through Hint, the way
// forward; the CLI prints Hint as a "cvmtail: hint: ..." line. Test them with errors.As.

// HostKeyError is a host key that the known_hosts policy refused.
type HostKeyError struct {
	Host           string // as given to Dial (or the jump host as written)
	Addr           string // host:port the key came from
	Alias          string // ssh_config HostKeyAlias: the name the key is known under
	Changed        bool   // false: no key known for Addr; true: known_hosts holds another key
	Fingerprint    string // SHA256:... of the key the server presented
	KnownHostsFile string
	Line           int  // Changed or Revoked: the line in KnownHostsFile holding the other key
	Revoked        bool // the key presented is marked @revoked in KnownHostsFile
}

func (e *HostKeyError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("%s: host key %s is revoked (%s:%d)", e.Host, e.Fingerprint, e.KnownHostsFile, e.Line)
	}
	if e.Changed {
		return fmt.Sprintf("%s: HOST KEY CHANGED (now %s; %s:%d has another)", e.Host, e.Fingerprint, e.KnownHostsFile, e.Line)
	}
	return fmt.Sprintf("%s: unknown host key %s", e.Host, e.Fingerprint)
}

// AuthError is a server that accepted none of the keys offered.
type AuthError struct {
	Host string
	User string
	// Offered counts the public keys offered (files and agent); 0 means none was found.
	Offered int
	// Skipped lists key files from ssh_config or the default locations that could not be
	// used: encrypted (there is no passphrase prompt) or unreadable.
	Skipped []string
	Err     error // the ssh library's error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: permission denied for user %s (publickey)", e.Host, e.User)
}

func (e *AuthError) Unwrap() error { return e.Err }

// DialError is a connection that could not be made or did not finish its SSH handshake:
// refused, timed out, cancelled, reset.
type DialError struct {
	Host string
	Addr string
	// Timeout is the connect timeout that ran out, 0 when the error is not a timeout.
	Timeout time.Duration
	Err     error
}

func (e *DialError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("%s: connect to %s: timed out after %s", e.Host, e.Addr, e.Timeout)
	}
	return fmt.Sprintf("%s: connect to %s: %s", e.Host, e.Addr, describeNetError(e.Err))
}

func (e *DialError) Unwrap() error { return e.Err }

// ConfigError is a bad option, ssh_config or key file. The CLI maps it to exit status 2.
type ConfigError struct {
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrNoKnownHosts is a host key check without a known_hosts file to check against.
var ErrNoKnownHosts = errors.New("no known_hosts file: the home directory is unknown")

// KeyFileError is an identity file that cannot be used.
type KeyFileError struct {
	Path      string
	Err       error
	Encrypted bool // and not held by ssh-agent: there is no passphrase prompt
}

func (e *KeyFileError) Error() string {
	return fmt.Sprintf("identity file %s: %s", e.Path, describeNetError(e.Err))
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// JumpError is a failure reaching a ProxyJump hop on the way to Host. Unwrap gives the
// hop's own *HostKeyError, *AuthError or *DialError.
type JumpError struct {
	Host string // the CVM as given to Dial
	Jump string // the hop as written in ProxyJump
	Err  error
}

func (e *JumpError) Error() string {
	return fmt.Sprintf("%s: through jump host %s", e.Host, e.Err.Error())
}

func (e *JumpError) Unwrap() error { return e.Err }

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || isRefusedErrno(err)
}

// describeNetError turns "dial tcp 127.0.0.11:22: connect: connection refused" into
// "connection refused": the address is already in our message.
func describeNetError(err error) string {
	if err == nil {
		return "unknown error"
	}
	if opErr, ok := err.(*net.OpError); ok && opErr.Err != nil {
		err = opErr.Err
	}
	msg := err.Error()
	for _, op := range []string{"connect: ", "connectex: "} { // connectex: Windows
		if i := strings.LastIndex(msg, op); i >= 0 {
			msg = msg[i+len(op):]
		}
	}
	msg = strings.TrimPrefix(msg, "ssh: handshake failed: ")
	msg = strings.TrimPrefix(msg, "ssh: ")
	return msg
}

// hostInKnownHosts is how known_hosts (and ssh-keygen -R) spells addr.
func hostInKnownHosts(addr string) string {
	return normalizeAddr(addr)
}

// keyscanArgs is the ssh-keyscan argument list that fetches addr's key.
func keyscanArgs(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if port == "22" {
		return host
	}
	return "-p " + port + " " + host
}

// Permanent tells whether retrying the dial is pointless until someone changes something:
// a refused host key, a refused login, a bad configuration. Refused, timed-out or dropped
// connections are not permanent.
func Permanent(err error) bool {
	var (
		hostKeyErr *HostKeyError
		authErr    *AuthError
		configErr  *ConfigError
	)
	return errors.As(err, &hostKeyErr) || errors.As(err, &authErr) || errors.As(err, &configErr)
}

// KnownAs is how known_hosts (and ssh-keygen -R) names the host: its HostKeyAlias, or the
// address as known_hosts spells it.
func (e *HostKeyError) KnownAs() string {
	if e.Alias != "" {
		return e.Alias
	}
	return hostInKnownHosts(e.Addr)
}

// KeyscanArgs are the ssh-keyscan arguments that fetch the host's key.
func (e *HostKeyError) KeyscanArgs() string { return keyscanArgs(e.Addr) }

// Port is the port that was dialled.
func (e *DialError) Port() string {
	if _, p, err := net.SplitHostPort(e.Addr); err == nil {
		return p
	}
	return "22"
}

// Refused tells whether nothing listened at the address (the connection was refused).
func (e *DialError) Refused() bool { return isRefused(e.Err) }
