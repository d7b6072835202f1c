// Package sshx opens SSH connections to CVMs the way OpenSSH would: ssh_config, keys and
// ssh-agent, known_hosts checking, ProxyJump, timeouts bounded by a context, keepalives.
//
// It reads no environment variable: the caller passes the agent socket and home directory.
package sshx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// HostKeyPolicy is --host-key-check.
type HostKeyPolicy string

const (
	HostKeyStrict    HostKeyPolicy = "strict"
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
	HostKeyOff       HostKeyPolicy = "off"
)

// Options are the explicit settings; a zero value means "not given on the command line",
// so ssh_config, then the defaults, decide.
type Options struct {
	User           string   // --ssh-user (default nutanix)
	Port           int      // --ssh-port (default 22)
	IdentityFiles  []string // -i, in order
	ConfigFile     string   // --ssh-config ("" = ~/.ssh/config; a missing default file is fine)
	KnownHostsFile string   // --known-hosts
	// GlobalKnownHostsFiles replaces OpenSSH's system-wide known_hosts files
	// (/etc/ssh/ssh_known_hosts and ssh_known_hosts2) when not nil; ssh_config's
	// GlobalKnownHostsFile wins over both.
	GlobalKnownHostsFiles []string
	HostKeyCheck          HostKeyPolicy // --host-key-check (default strict)
	ConnectTimeout        time.Duration // --connect-timeout (default 10s)
	AgentSocket           string        // SSH_AUTH_SOCK, read by the caller, or AgentSocket's default ("" = no agent)
	HomeDir               string        // for ~ in paths
	// AgentDefault says AgentSocket is the platform's default rather than SSH_AUTH_SOCK:
	// no agent listening there is normal (the Windows agent service is off by default),
	// not worth a warning.
	AgentDefault bool
	// Warn receives notices worth a stderr line, e.g. a new host key recorded.
	Warn func(msg string)

	// ServerAliveInterval and ServerAliveCountMax override ssh_config's (default
	// DefaultServerAliveInterval and DefaultServerAliveCountMax, 5s and 3):
	// a peer is declared dead after CountMax keepalives without an answer. A negative
	// interval turns keepalives off.
	ServerAliveInterval time.Duration
	ServerAliveCountMax int
}

// Dialer opens connections to CVMs. It is safe for concurrent use.
type Dialer struct {
	opts       Options
	configFile string             // for messages; "" when there is none
	config     *ssh_config.Config // nil when there is no ssh_config

	explicitSigners []ssh.Signer    // from -i, in order
	explicitPublic  map[string]bool // the public keys of the -i files, signed with here or by ssh-agent

	keyMu    sync.Mutex
	keyCache map[string]identity // ssh_config and default identity files, by path

	knownHostsMu sync.Mutex // serialises accept-new appends
	offWarn      sync.Once  // host keys not checked: said once

	agentWarn          sync.Once
	proxyCommandWarned sync.Map // host → true: warn once per host, not on every reconnect
}

// identity is a key file from ssh_config or the defaults: a signer, or why there is none.
type identity struct {
	signer   ssh.Signer
	missing  bool // skipped silently, as OpenSSH does
	unusable bool // encrypted or unparsable: named in an *AuthError's hint
}

// NewDialer loads ssh_config and the -i key files. A bad config or an unreadable,
// unparsable or encrypted key file is a *ConfigError naming the file.
func NewDialer(opts Options) (*Dialer, error) {
	switch opts.HostKeyCheck {
	case "", HostKeyStrict, HostKeyAcceptNew, HostKeyOff:
	default:
		return nil, &ConfigError{Err: fmt.Errorf("invalid host key policy %q: use strict, accept-new or off", opts.HostKeyCheck)}
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, &ConfigError{Err: fmt.Errorf("invalid ssh port %d", opts.Port)}
	}
	if opts.ConnectTimeout < 0 {
		return nil, &ConfigError{Err: fmt.Errorf("invalid connect timeout %s", opts.ConnectTimeout)}
	}
	d := &Dialer{opts: opts, keyCache: map[string]identity{}, explicitPublic: map[string]bool{}}
	if d.opts.Warn == nil {
		d.opts.Warn = func(string) {}
	}

	configFile, explicit := opts.ConfigFile, opts.ConfigFile != ""
	if !explicit && opts.HomeDir != "" {
		configFile = filepath.Join(opts.HomeDir, ".ssh", "config")
	}
	if configFile != "" {
		configFile = d.expandPath(configFile, nil)
		data, err := os.ReadFile(configFile)
		switch {
		case err == nil:
			cfg, err := parseConfigData(configFile, data)
			if err != nil {
				return nil, err
			}
			d.config, d.configFile = cfg, configFile
		case !explicit && errors.Is(err, fs.ErrNotExist):
			// No ~/.ssh/config: the defaults decide.
		default:
			return nil, &ConfigError{Err: fmt.Errorf("ssh config %s: %w", configFile, unwrapPathError(err))}
		}
	}

	var agentKeys map[string]bool // loaded only if an -i key turns out to be encrypted
	for _, path := range opts.IdentityFiles {
		path = d.expandPath(path, nil)
		signer, err := loadKey(path)
		var encrypted *ssh.PassphraseMissingError
		switch {
		case err == nil:
			d.explicitSigners = append(d.explicitSigners, signer)
			d.explicitPublic[string(signer.PublicKey().Marshal())] = true
		case errors.As(err, &encrypted):
			// Fine if ssh-agent holds it (the user ran ssh-add): the agent signs.
			if agentKeys == nil {
				agentKeys = d.agentKeys()
			}
			pub := encrypted.PublicKey
			if pub == nil {
				pub = readPublicKey(path + ".pub")
			}
			if pub != nil && agentKeys[string(pub.Marshal())] {
				d.explicitPublic[string(pub.Marshal())] = true
				continue
			}
			return nil, &ConfigError{Err: &KeyFileError{Path: path, Err: errors.New("encrypted, and cvmtail cannot ask for a passphrase"), Encrypted: true}}
		default:
			return nil, &ConfigError{Err: &KeyFileError{Path: path, Err: err}}
		}
	}
	return d, nil
}

// loadKey reads a private key file.
func loadKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		var encrypted *ssh.PassphraseMissingError
		if errors.As(err, &encrypted) {
			return nil, err
		}
		return nil, fmt.Errorf("not a private key: %s", describeNetError(err))
	}
	return signer, nil
}

func readPublicKey(path string) ssh.PublicKey {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}

// unwrapPathError drops the path from an *fs.PathError: our messages name the file already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// agentKeys lists the public keys ssh-agent holds, by their wire form.
func (d *Dialer) agentKeys() map[string]bool {
	keys := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, ok := d.connectAgent(ctx)
	if !ok {
		return keys
	}
	defer func() { _ = conn.Close() }()
	list, err := agent.NewClient(conn).List()
	if err != nil {
		return keys
	}
	for _, k := range list {
		keys[string(k.Marshal())] = true
	}
	return keys
}

// identityFile loads a key file named by ssh_config or the defaults, once.
func (d *Dialer) identityFile(path string) identity {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	if id, ok := d.keyCache[path]; ok {
		return id
	}
	var id identity
	signer, err := loadKey(path)
	switch {
	case err == nil:
		id.signer = signer
	case errors.Is(err, fs.ErrNotExist):
		id.missing = true
	default:
		id.unusable = true
	}
	d.keyCache[path] = id
	return id
}

// identitiesOnly is nil without IdentitiesOnly; with it, the public keys ssh-agent may sign
// with: those of the identity files (-i, ssh_config's IdentityFile, else the default files),
// as OpenSSH offers them.
func (d *Dialer) identitiesOnly(hc HostConfig) map[string]bool {
	if !hc.IdentitiesOnly {
		return nil
	}
	allowed := map[string]bool{}
	for k := range d.explicitPublic {
		allowed[k] = true
	}
	for _, path := range hc.IdentityFiles[len(d.opts.IdentityFiles):] {
		if id := d.identityFile(path); id.signer != nil {
			allowed[string(id.signer.PublicKey().Marshal())] = true
		} else if pub := readPublicKey(path + ".pub"); pub != nil {
			allowed[string(pub.Marshal())] = true // encrypted: ssh-agent holds it
		}
	}
	return allowed
}

// Dial connects to host (a CVM address or ssh_config alias), bounded by ctx and the
// connect timeout, through the ProxyJump hosts if any. Errors are *DialError,
// *HostKeyError, *AuthError, *JumpError (wrapping one of those for a hop) or *ConfigError.
func (d *Dialer) Dial(ctx context.Context, host string) (*Client, error) {
	return d.DialPort(ctx, host, 0)
}

// DialPort is Dial to a port of the caller's: a CVM reached through NAT listens on the port
// Prism gives for it, which wins over --ssh-port and ssh_config's Port. Port 0 is Dial's.
func (d *Dialer) DialPort(ctx context.Context, host string, port int) (*Client, error) {
	if host == "" {
		return nil, &ConfigError{Err: errors.New("no host to connect to")}
	}
	if port < 0 || port > 65535 {
		return nil, &ConfigError{Err: fmt.Errorf("invalid ssh port %d for %s", port, host)}
	}
	hc, err := d.resolve(host, nil)
	if err != nil {
		return nil, err
	}
	if port != 0 {
		hc.Port = port
	}
	if v := d.get(host, "ProxyCommand"); v != "" && !strings.EqualFold(v, "none") && len(hc.ProxyJump) == 0 {
		if _, warned := d.proxyCommandWarned.LoadOrStore(host, true); !warned {
			d.opts.Warn(fmt.Sprintf("%s: ssh config %s: ProxyCommand is not supported, connecting directly (use ProxyJump)", host, d.configFile))
		}
	}
	var jumps []*ssh.Client
	closeJumps := func() {
		for i := len(jumps) - 1; i >= 0; i-- {
			_ = jumps[i].Close()
		}
	}
	var via *ssh.Client
	for _, hop := range hc.ProxyJump {
		spec, err := parseJump(hop)
		if err != nil {
			closeJumps()
			return nil, &ConfigError{Err: fmt.Errorf("ssh config %s: host %s: %w", d.configFile, host, err)}
		}
		// A hop's own ProxyJump is not followed: `Host *` with ProxyJump would loop.
		jhc, err := d.resolve(spec.host, &spec)
		if err != nil {
			closeJumps()
			return nil, err
		}
		jhc.Host = hop
		jc, err := d.dialOne(ctx, jhc, via)
		if err != nil {
			closeJumps()
			return nil, &JumpError{Host: host, Jump: hop, Err: err}
		}
		jumps = append(jumps, jc)
		via = jc
	}
	c, err := d.dialOne(ctx, hc, via)
	if err != nil {
		closeJumps()
		return nil, err
	}
	return newClient(c, jumps, hc), nil
}

// dialOne connects to one host, directly or through via, within ctx and hc.ConnectTimeout:
// TCP connect, SSH handshake and authentication together.
func (d *Dialer) dialOne(parent context.Context, hc HostConfig, via *ssh.Client) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(parent, hc.ConnectTimeout)
	defer cancel()
	addr := hc.Addr()
	dialErr := func(err error) error {
		if parent.Err() != nil {
			return &DialError{Host: hc.Host, Addr: addr, Err: parent.Err()}
		}
		if ctx.Err() != nil {
			return &DialError{Host: hc.Host, Addr: addr, Timeout: hc.ConnectTimeout, Err: ctx.Err()}
		}
		return &DialError{Host: hc.Host, Addr: addr, Err: err}
	}

	config, offered, skipped, release, err := d.clientConfig(ctx, hc)
	if err != nil {
		return nil, err
	}
	defer release()

	var conn net.Conn
	if via == nil {
		var nd net.Dialer
		conn, err = nd.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn = tcpConn(conn)
		}
	} else {
		conn, err = via.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, dialErr(err)
	}
	conn = readBuffered(conn)

	// The handshake takes no context: a deadline bounds it on a TCP connection, and closing
	// the connection when ctx ends aborts it anywhere (channels over a jump host take no
	// deadline).
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stopWatch := context.AfterFunc(ctx, func() { _ = conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stopWatch() {
		if err == nil {
			_ = sc.Close()
		}
		return nil, dialErr(context.Cause(ctx))
	}
	if err != nil {
		_ = conn.Close()
		var hkErr *HostKeyError
		var cfgErr *ConfigError
		switch {
		case errors.As(err, &hkErr):
			return nil, hkErr
		case errors.As(err, &cfgErr):
			return nil, cfgErr
		case isAuthFailure(err):
			return nil, &AuthError{Host: hc.Host, User: hc.User, Offered: offered, Skipped: skipped, Err: err}
		}
		if ctx.Err() == nil && isTimeout(err) {
			// The deadline fired a moment before ctx noticed.
			return nil, &DialError{Host: hc.Host, Addr: addr, Timeout: hc.ConnectTimeout, Err: context.DeadlineExceeded}
		}
		inner := errors.Unwrap(err)
		if inner == nil {
			inner = err
		}
		return nil, dialErr(fmt.Errorf("ssh handshake failed: %w", inner))
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func isAuthFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// clientConfig builds the handshake settings for hc: keys to offer (files, then agent),
// host key checking. release closes the agent connection once the handshake is over.
func (d *Dialer) clientConfig(ctx context.Context, hc HostConfig) (config *ssh.ClientConfig, offered int, skipped []string, release func(), err error) {
	release = func() {}
	var signers []ssh.Signer
	seen := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			signers = append(signers, s)
		}
	}
	for _, s := range d.explicitSigners {
		add(s)
	}
	for _, path := range hc.IdentityFiles[len(d.opts.IdentityFiles):] {
		id := d.identityFile(path)
		switch {
		case id.signer != nil:
			add(id.signer)
		case id.unusable:
			skipped = append(skipped, path)
		}
	}
	if conn, ok := d.connectAgent(ctx); ok {
		release = func() { _ = conn.Close() }
		agentSigners, err := agent.NewClient(conn).Signers()
		if err == nil {
			allowed := d.identitiesOnly(hc)
			for _, s := range agentSigners {
				if allowed == nil || allowed[string(s.PublicKey().Marshal())] {
					add(s)
				}
			}
		}
	}

	hostKeyCallback, algorithms, err := d.hostKeyCallback(hc)
	if err != nil {
		release()
		return nil, 0, nil, func() {}, err
	}
	config = &ssh.ClientConfig{
		User:              hc.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: algorithms,
	}
	return config, len(signers), skipped, release, nil
}
