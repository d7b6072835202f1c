package sshx

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// Defaults, used when neither Options nor ssh_config say otherwise.
const (
	DefaultUser           = "nutanix"
	DefaultPort           = 22
	DefaultConnectTimeout = 10 * time.Second
	// A peer that stops answering is declared dead 15-20 s after its last answer, so that a
	// reconnect can happen within 30 s; hardened CVMs drop sessions idle for 600 s anyway.
	DefaultServerAliveInterval = 5 * time.Second
	DefaultServerAliveCountMax = 3
)

// defaultIdentityFiles are tried, when present, if no identity is given anywhere (as OpenSSH).
var defaultIdentityFiles = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}

// HostConfig is the effective configuration for one host: Options, then ssh_config, then
// the defaults.
type HostConfig struct {
	Host     string // as given to Dial or Resolve
	HostName string // the address connected to
	User     string
	Port     int
	// IdentityFiles are the key files offered, in order: -i, then ssh_config's IdentityFile;
	// the default keys (~/.ssh/id_ed25519, id_ecdsa, id_rsa) when neither gives one.
	// Files from ssh_config or the defaults that do not exist are skipped when dialing.
	IdentityFiles []string
	// ProxyJump are the jump hosts as written ([user@]host[:port]), the first dialled first.
	ProxyJump []string
	// KnownHostsFile is where accept-new records a key: the first of KnownHostsFiles.
	KnownHostsFile string
	// KnownHostsFiles are the user's known_hosts files (--known-hosts, else ssh_config's
	// UserKnownHostsFile, else ~/.ssh/known_hosts and ~/.ssh/known_hosts2), and
	// GlobalKnownHostsFiles the system's (ssh_config's GlobalKnownHostsFile, else
	// /etc/ssh/ssh_known_hosts and ssh_known_hosts2): a key is checked against all of them,
	// as OpenSSH checks it.
	KnownHostsFiles       []string
	GlobalKnownHostsFiles []string
	// HostKeyAlias is the name the host's key is looked up and recorded under instead of
	// HostName:Port (ssh_config HostKeyAlias).
	HostKeyAlias string
	// IdentitiesOnly offers only the identity files, and of ssh-agent's keys only those
	// (ssh_config IdentitiesOnly yes).
	IdentitiesOnly      bool
	HostKeyCheck        HostKeyPolicy
	HashKnownHosts      bool // ssh_config HashKnownHosts: new known_hosts entries are hashed
	ConnectTimeout      time.Duration
	ServerAliveInterval time.Duration // 0: no keepalives (ServerAliveInterval 0 in ssh_config)
	ServerAliveCountMax int
}

// Addr is HostName:Port, the address dialled.
func (h HostConfig) Addr() string {
	return net.JoinHostPort(h.HostName, strconv.Itoa(h.Port))
}

// jumpSpec is one ProxyJump hop: [user@]host[:port] or ssh://[user@]host[:port].
type jumpSpec struct {
	raw  string
	user string
	host string
	port int
}

func parseJump(s string) (jumpSpec, error) {
	spec := jumpSpec{raw: s}
	rest := strings.TrimPrefix(s, "ssh://")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		spec.user, rest = rest[:i], rest[i+1:]
	}
	spec.host = rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return spec, fmt.Errorf("bad port in ProxyJump %q", s)
		}
		spec.host, spec.port = h, port
	} else if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		spec.host = rest[1 : len(rest)-1]
	}
	if spec.host == "" {
		return spec, fmt.Errorf("bad ProxyJump %q: no host", s)
	}
	return spec, nil
}

// Resolve returns the effective configuration for host, a CVM address or ssh_config
// alias. Values in ssh_config that cannot be parsed are ignored here; Dial reports them.
func (d *Dialer) Resolve(host string) HostConfig {
	hc, _ := d.resolve(host, nil)
	return hc
}

// resolve computes host's configuration. For a ProxyJump hop, jump carries the user and
// port written in the hop; the command-line user and port are for the CVMs, not the hops
// (as OpenSSH's -l and -p).
func (d *Dialer) resolve(host string, jump *jumpSpec) (HostConfig, error) {
	var firstErr error
	bad := func(key, val string) {
		if firstErr == nil {
			firstErr = &ConfigError{Err: fmt.Errorf("ssh config %s: host %s: bad %s %q", d.configFile, host, key, val)}
		}
	}
	hc := HostConfig{
		Host:                host,
		HostName:            host,
		User:                DefaultUser,
		Port:                DefaultPort,
		HostKeyCheck:        HostKeyStrict,
		ConnectTimeout:      DefaultConnectTimeout,
		ServerAliveInterval: DefaultServerAliveInterval,
		ServerAliveCountMax: DefaultServerAliveCountMax,
	}

	if v := d.get(host, "HostName"); v != "" {
		hc.HostName = expandTokens(v, map[byte]string{'h': host})
	}
	if v := d.get(host, "User"); v != "" {
		hc.User = v
	}
	if v := d.get(host, "Port"); v != "" {
		if p, err := strconv.Atoi(v); err == nil && p > 0 && p < 65536 {
			hc.Port = p
		} else {
			bad("Port", v)
		}
	}
	if jump != nil {
		if jump.user != "" {
			hc.User = jump.user
		}
		if jump.port != 0 {
			hc.Port = jump.port
		}
	} else {
		if d.opts.User != "" {
			hc.User = d.opts.User
		}
		if d.opts.Port != 0 {
			hc.Port = d.opts.Port
		}
	}
	tokens := map[byte]string{'h': hc.HostName, 'n': host, 'p': strconv.Itoa(hc.Port), 'r': hc.User}

	hc.IdentityFiles = append(hc.IdentityFiles, d.opts.IdentityFiles...)
	for _, v := range d.getAll(host, "IdentityFile") {
		if strings.EqualFold(v, "none") {
			continue
		}
		hc.IdentityFiles = append(hc.IdentityFiles, d.expandPath(v, tokens))
	}
	if len(hc.IdentityFiles) == 0 && d.opts.HomeDir != "" {
		for _, f := range defaultIdentityFiles {
			hc.IdentityFiles = append(hc.IdentityFiles, d.expandPath(f, nil))
		}
	}

	if v := d.get(host, "ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
		for _, hop := range strings.Split(v, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hc.ProxyJump = append(hc.ProxyJump, hop)
			}
		}
	}

	userFilesSet := false
	if d.opts.KnownHostsFile != "" {
		hc.KnownHostsFiles, userFilesSet = []string{d.expandPath(d.opts.KnownHostsFile, nil)}, true
	} else if v := d.get(host, "UserKnownHostsFile"); v != "" {
		hc.KnownHostsFiles, userFilesSet = d.knownHostsList(v, tokens), true
	}
	if v := d.get(host, "GlobalKnownHostsFile"); v != "" {
		hc.GlobalKnownHostsFiles = d.knownHostsList(v, tokens)
	} else if d.opts.GlobalKnownHostsFiles != nil {
		hc.GlobalKnownHostsFiles = d.opts.GlobalKnownHostsFiles
	} else {
		hc.GlobalKnownHostsFiles = defaultGlobalKnownHosts
	}
	if v := d.get(host, "HostKeyAlias"); v != "" && !strings.EqualFold(v, "none") {
		hc.HostKeyAlias = v
	}
	if v := d.get(host, "IdentitiesOnly"); v != "" {
		switch strings.ToLower(v) {
		case "yes":
			hc.IdentitiesOnly = true
		case "no":
		default:
			bad("IdentitiesOnly", v)
		}
	}

	if d.opts.HostKeyCheck != "" {
		hc.HostKeyCheck = d.opts.HostKeyCheck
	} else if v := d.get(host, "StrictHostKeyChecking"); v != "" {
		switch strings.ToLower(v) {
		case "yes", "ask": // there is no one to ask: refuse, as strict
			hc.HostKeyCheck = HostKeyStrict
		case "accept-new":
			hc.HostKeyCheck = HostKeyAcceptNew
		case "no", "off":
			hc.HostKeyCheck = HostKeyOff
		default:
			bad("StrictHostKeyChecking", v)
		}
	}
	if v := d.get(host, "HashKnownHosts"); strings.EqualFold(v, "yes") {
		hc.HashKnownHosts = true
	}

	if d.opts.ConnectTimeout > 0 {
		hc.ConnectTimeout = d.opts.ConnectTimeout
	} else if v := d.get(host, "ConnectTimeout"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			hc.ConnectTimeout = time.Duration(s) * time.Second
		} else if err != nil || s < 0 {
			bad("ConnectTimeout", v)
		}
	}
	if v := d.get(host, "ServerAliveInterval"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			hc.ServerAliveInterval = time.Duration(s) * time.Second
		} else {
			bad("ServerAliveInterval", v)
		}
	}
	if v := d.get(host, "ServerAliveCountMax"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			hc.ServerAliveCountMax = n
		} else {
			bad("ServerAliveCountMax", v)
		}
	}
	if !userFilesSet && d.opts.HomeDir != "" {
		hc.KnownHostsFiles = []string{d.expandPath("~/.ssh/known_hosts", nil), d.expandPath("~/.ssh/known_hosts2", nil)}
	}
	if len(hc.KnownHostsFiles) > 0 {
		hc.KnownHostsFile = hc.KnownHostsFiles[0]
	}
	if d.opts.ServerAliveInterval != 0 {
		hc.ServerAliveInterval = max(d.opts.ServerAliveInterval, 0)
	}
	if d.opts.ServerAliveCountMax > 0 {
		hc.ServerAliveCountMax = d.opts.ServerAliveCountMax
	}
	return hc, firstErr
}

// defaultGlobalKnownHosts are OpenSSH's system-wide known_hosts files.
var defaultGlobalKnownHosts = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}

// knownHostsList reads a UserKnownHostsFile or GlobalKnownHostsFile value: files separated
// by whitespace, or "none".
func (d *Dialer) knownHostsList(v string, tokens map[byte]string) []string {
	files := []string{}
	for _, f := range strings.Fields(v) {
		if strings.EqualFold(f, "none") {
			return []string{}
		}
		files = append(files, d.expandPath(f, tokens))
	}
	return files
}

func (d *Dialer) get(host, key string) string {
	if d.config == nil {
		return ""
	}
	v, err := d.config.Get(host, key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

func (d *Dialer) getAll(host, key string) []string {
	if d.config == nil {
		return nil
	}
	vs, err := d.config.GetAll(host, key)
	if err != nil {
		return nil
	}
	return vs
}

// expandPath expands a leading ~ and ssh_config's % tokens (%d is the home directory).
// Without a home directory, ~ stays as written. On Windows ~\ works as well as ~/.
func (d *Dialer) expandPath(p string, tokens map[byte]string) string {
	if d.opts.HomeDir != "" && (p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator))) {
		p = filepath.Join(d.opts.HomeDir, p[1:])
	}
	all := map[byte]string{}
	if d.opts.HomeDir != "" {
		all['d'] = d.opts.HomeDir
	}
	for k, v := range tokens {
		all[k] = v
	}
	return expandTokens(p, all)
}

// expandTokens replaces %x tokens known in tokens and %% by %; unknown tokens stay as written.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// parseConfigFile reads an ssh_config file; Include directives are followed by the library.
func parseConfigData(name string, data []byte) (cfg *ssh_config.Config, err error) {
	cfg, err = ssh_config.DecodeBytes(data)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("ssh config %s: %w", name, err)}
	}
	return cfg, nil
}
