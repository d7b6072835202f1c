//go:build unix

// Package lab is a simulated Nutanix cluster on one machine, for demos and tests: a Prism
// simulator over HTTPS and CVMs reachable over SSH on loopback addresses (127.0.0.11, ...),
// each with log files that grow with realistic lines and rotate now and then. cvmtail talks
// to it exactly as to a real cluster. It needs neither root nor an installed sshd: the SSH
// servers are in-process and run commands as the current user. Linux only (it listens on
// loopback addresses other than 127.0.0.1).
package lab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

// User is the only SSH user the lab's CVMs accept, as on a real CVM.
const User = "nutanix"

// Config describes a lab.
type Config struct {
	// Dir holds everything the lab writes (keys, known_hosts, CA, the CVMs' logs). It must
	// exist and its path may hold only letters, digits and -_./+,: the CVMs' log paths are
	// substituted into the commands cvmtail sends, inside its single quotes.
	Dir string
	// Mode is "pe" (one cluster) or "pc" (a Prism Central with two clusters).
	Mode string
	// CVMs per cluster (default 4).
	CVMs int
	// FirstAddr is the first CVM's address (default 127.0.0.11); the others follow it.
	FirstAddr string
	// SSHPort is where every CVM listens (0: a free port).
	SSHPort int
	// PrismAddr is where Prism listens (default 127.0.0.1:9440; port 0: a free port).
	PrismAddr string
	// Rate is lines per second per log file (default 5).
	Rate float64
	// RotateEvery is about how often each file rotates (0: never).
	RotateEvery time.Duration
	// Backlog lines per file written at start (default 200; negative: none).
	Backlog int
	// History is how far back the rotated history written at start reaches, before the
	// backlog: a line per file every 10s, a generation every 30 minutes, all but the newest
	// three compressed (default 3h; negative: none).
	History time.Duration
	// Grace is how long a command may outlive its SSH channel before its process group is
	// killed (default 500ms).
	Grace time.Duration
	// Errorf reports trouble that is not the client's business (nil: ignored).
	Errorf func(format string, args ...any)
}

// CVM is one simulated CVM.
type CVM struct {
	Name    string // as Prism reports it: <host>-CVM
	Host    string
	Cluster string
	Address string // where its SSH server listens (port Lab.SSHPort)
	LogDir  string // what /home/nutanix/data/logs is on this CVM
}

// Lab is a running lab.
type Lab struct {
	Dir        string
	PrismAddr  string // host:port, for --prism
	SSHPort    int
	Clusters   []string
	CVMs       []CVM
	CACert     string // DIR/prism-ca.pem, for --ca-cert
	Identity   string // DIR/id_ed25519, for -i
	KnownHosts string // DIR/known_hosts
	SSHConfig  string // DIR/ssh_config
	EnvFile    string // DIR/env
	Password   string // DIR/password, for --password-file
	FlagsFile  string // DIR/cvmtail-flags: Args on one line, for scripts
	ConfigFile string // DIR/config.yaml: a cvmtail config file whose context "lab" is Args

	prism   *prismsim.Server
	servers []*cvmServer
	logs    []*cvmLogs
	procs   *procTable
	cancel  context.CancelFunc
	writers sync.WaitGroup
	once    sync.Once
}

// Start builds and starts a lab; cancelling ctx stops its log writers, Close stops it all.
func Start(ctx context.Context, cfg Config) (*Lab, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if !safePath(dir) {
		return nil, fmt.Errorf("lab directory %q: only letters, digits and -_./+,: are allowed in its path", dir)
	}
	clusters := 1
	if cfg.Mode == "pc" {
		clusters = 2
	}
	first, err := netip.ParseAddr(cfg.FirstAddr)
	if err != nil || !first.Is4() || !first.IsLoopback() {
		return nil, fmt.Errorf("--first-addr %q: want an IPv4 loopback address such as 127.0.0.11", cfg.FirstAddr)
	}
	l := &Lab{Dir: dir, procs: newProcTable(),
		CACert: filepath.Join(dir, "prism-ca.pem"), Identity: filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"), SSHConfig: filepath.Join(dir, "ssh_config"),
		EnvFile: filepath.Join(dir, "env"), Password: filepath.Join(dir, "password"),
		FlagsFile: filepath.Join(dir, "cvmtail-flags"), ConfigFile: filepath.Join(dir, "config.yaml")}
	addr := first
	for c := range clusters {
		l.Clusters = append(l.Clusters, prismsim.ClusterName(c))
		for n := range cfg.CVMs {
			if !addr.IsValid() || !addr.IsLoopback() || addr.As4()[3] == 255 {
				return nil, fmt.Errorf("%d CVMs from %s run out of loopback addresses", clusters*cfg.CVMs, cfg.FirstAddr)
			}
			host := prismsim.HostName(c, n)
			l.CVMs = append(l.CVMs, CVM{Name: host + "-CVM", Host: host, Cluster: prismsim.ClusterName(c),
				Address: addr.String(), LogDir: filepath.Join(dir, fmt.Sprintf("cvm%d", len(l.CVMs)+1), "logs")})
			addr = addr.Next()
		}
	}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()

	// The client key and the CVMs' host keys.
	clientPub, err := writeClientKey(l.Identity)
	if err != nil {
		return nil, err
	}
	hostKeys := make([]ssh.Signer, len(l.CVMs))
	for i := range hostKeys {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if hostKeys[i], err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}

	// Prism.
	perCluster := cfg.CVMs
	sim := prismsim.New(prismsim.Options{
		Mode: map[string]prismsim.Mode{"pc": prismsim.PC, "pe": prismsim.PE}[cfg.Mode],
		Generate: &prismsim.Generate{Clusters: clusters, CVMs: cfg.CVMs, Address: func(c, n int) string {
			return l.CVMs[c*perCluster+n].Address
		}},
	})
	prismHost, _, err := net.SplitHostPort(cfg.PrismAddr)
	if err != nil {
		return nil, fmt.Errorf("--prism-addr %q: %w", cfg.PrismAddr, err)
	}
	hosts := prismsim.DefaultHosts
	if !containsString(hosts, prismHost) && prismHost != "" {
		hosts = append([]string{prismHost}, hosts...)
	}
	if l.prism, err = prismsim.StartTLSFor(nil, sim, cfg.PrismAddr, hosts); err != nil {
		return nil, fmt.Errorf("prism on %s: %w", cfg.PrismAddr, err)
	}
	l.PrismAddr = l.prism.Addr
	if err := l.prism.WriteCA(l.CACert); err != nil {
		return nil, err
	}

	// The CVMs' SSH servers, all on one port.
	listeners, port, err := listenAll(l.CVMs, cfg.SSHPort)
	if err != nil {
		return nil, err
	}
	l.SSHPort = port
	errorf := cfg.Errorf
	if errorf == nil {
		errorf = func(string, ...any) {}
	}
	for i, c := range l.CVMs {
		if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
			for _, ln := range listeners[i:] {
				ln.Close()
			}
			return nil, err
		}
		s := newCVMServer(listeners[i], hostKeys[i], clientPub, User, c.LogDir, filepath.Dir(c.LogDir),
			cfg.Grace, l.procs, errorf)
		l.servers = append(l.servers, s)
	}

	// The logs, with their backlog, before anyone can connect.
	ctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	hypervisors := make([]string, len(l.CVMs))
	for i := range hypervisors {
		// Invented, like the hypervisor addresses Prism reports: only ever text in a log.
		hypervisors[i] = fmt.Sprintf("10.100.1.%d", 131+i)
	}
	now := time.Now()
	for i, c := range l.CVMs {
		var peers []string
		for _, o := range l.CVMs {
			if o.Cluster == c.Cluster {
				peers = append(peers, o.Address)
			}
		}
		env := &msgEnv{self: c.Address, peers: peers, hypervisor: hypervisors, cvms: cfg.CVMs}
		host := strings.ToLower(c.Name)
		logs, err := newCVMLogs(c.LogDir, host, env, uint64(i+1), cfg.Rate, cfg.RotateEvery, cfg.Backlog, cfg.History, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.LogDir, err)
		}
		l.logs = append(l.logs, logs)
	}
	for _, lg := range l.logs {
		l.writers.Add(1)
		go func() {
			defer l.writers.Done()
			lg.run(ctx, errorf)
		}()
	}

	if err := l.writeClientFiles(hostKeys); err != nil {
		return nil, err
	}
	for _, s := range l.servers {
		s.serve()
	}
	ok = true
	return l, nil
}

func (cfg *Config) defaults() error {
	if cfg.Dir == "" {
		return errors.New("lab: no directory")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = "pe"
	case "pe", "pc":
	default:
		return fmt.Errorf("--mode %q: want pe or pc", cfg.Mode)
	}
	if cfg.CVMs == 0 {
		cfg.CVMs = 4
	}
	if cfg.CVMs < 1 {
		return fmt.Errorf("--cvms %d: want at least 1", cfg.CVMs)
	}
	if cfg.FirstAddr == "" {
		cfg.FirstAddr = "127.0.0.11"
	}
	if cfg.PrismAddr == "" {
		cfg.PrismAddr = "127.0.0.1:9440"
	}
	if cfg.Rate == 0 {
		cfg.Rate = 5
	}
	if cfg.Rate < 0 {
		return fmt.Errorf("--rate %v: want lines per second, 0 or more", cfg.Rate)
	}
	if cfg.Backlog == 0 {
		cfg.Backlog = 200
	}
	if cfg.History == 0 {
		cfg.History = 3 * time.Hour
	}
	if cfg.Grace == 0 {
		cfg.Grace = 500 * time.Millisecond
	}
	return nil
}

// safePath: nothing a shell would treat specially, inside or outside single quotes.
func safePath(p string) bool {
	for _, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+,:", r)
		if !ok {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// listenAll listens on every CVM's address on one port; with port 0, on a port free on all
// of them.
func listenAll(cvms []CVM, port int) ([]net.Listener, int, error) {
	attempts := 1
	if port == 0 {
		attempts = 10
	}
	var lastErr error
	for range attempts {
		var lns []net.Listener
		p := port
		var err error
		for _, c := range cvms {
			var ln net.Listener
			ln, err = net.Listen("tcp", net.JoinHostPort(c.Address, strconv.Itoa(p)))
			if err != nil {
				break
			}
			if p == 0 {
				p = ln.Addr().(*net.TCPAddr).Port
			}
			lns = append(lns, ln)
		}
		if err == nil {
			return lns, p, nil
		}
		for _, ln := range lns {
			ln.Close()
		}
		lastErr = err
	}
	return nil, 0, fmt.Errorf("ssh: %w", lastErr)
}

func writeClientKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "cvmtail-lab client key")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		return nil, err
	}
	return sshPub, nil
}

// writeClientFiles writes what a client needs: known_hosts, ssh_config, env, password and
// the flags file.
func (l *Lab) writeClientFiles(hostKeys []ssh.Signer) error {
	var kh strings.Builder
	for i, c := range l.CVMs {
		kh.WriteString(knownHostsAddr(c.Address, l.SSHPort) + " " + string(ssh.MarshalAuthorizedKey(hostKeys[i].PublicKey())))
	}
	if err := os.WriteFile(l.KnownHosts, []byte(kh.String()), 0o644); err != nil {
		return err
	}
	conf := fmt.Sprintf(`# cvmtail-lab: cvmtail --ssh-config %s needs no other SSH flag
Host 127.0.0.*
  User %s
  Port %d
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, l.SSHConfig, User, l.SSHPort, l.Identity, l.KnownHosts)
	if err := os.WriteFile(l.SSHConfig, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(l.Password, []byte(prismsim.DefaultPassword+"\n"), 0o600); err != nil {
		return err
	}
	env := fmt.Sprintf("# cvmtail-lab: . %s\nexport CVMTAIL_PRISM=%s\nexport CVMTAIL_USERNAME=%s\nexport CVMTAIL_PASSWORD='%s'\n",
		l.EnvFile, l.PrismAddr, prismsim.DefaultUsername, prismsim.DefaultPassword)
	if err := os.WriteFile(l.EnvFile, []byte(env), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(l.ConfigFile, []byte(l.configFile()), 0o600); err != nil {
		return err
	}
	// Every word is safe unquoted (see safePath), so `cvmtail tail x $(cat FILE)` works.
	return os.WriteFile(l.FlagsFile, []byte(strings.Join(l.Args(), " ")+"\n"), 0o644)
}

// configFile is a cvmtail config file with one context, "lab", that reaches this lab as
// Args do: CVMTAIL_CONFIG=DIR/config.yaml cvmtail --context lab ... works for every command.
func (l *Lab) configFile() string {
	cluster := ""
	if len(l.Clusters) > 1 {
		cluster = "    cluster: " + l.Clusters[0] + "\n"
	}
	return fmt.Sprintf(`# cvmtail-lab: CVMTAIL_CONFIG=%s cvmtail --context lab ...
default: lab
contexts:
  lab:
    prism: %s
    ca-cert: %s
    password-file: %s
%s    ssh-port: %d
    identity: %s
    known-hosts: %s
    ssh-config: /dev/null
`, l.ConfigFile, l.PrismAddr, l.CACert, l.Password, cluster, l.SSHPort, l.Identity, l.KnownHosts)
}

func knownHostsAddr(addr string, port int) string {
	if port == 22 {
		return addr
	}
	return "[" + addr + "]:" + strconv.Itoa(port)
}

// PrismArgs are the cvmtail flags that reach the lab's Prism with nothing else set up:
// address, CA, password and, in PC mode, the first cluster.
func (l *Lab) PrismArgs() []string {
	args := []string{"--prism", l.PrismAddr, "--ca-cert", l.CACert, "--password-file", l.Password}
	if len(l.Clusters) > 1 {
		args = append(args, "--cluster", l.Clusters[0])
	}
	return args
}

// SSHArgs are the cvmtail flags that reach the lab's CVMs, ignoring ~/.ssh/config.
func (l *Lab) SSHArgs() []string {
	return []string{"--ssh-port", strconv.Itoa(l.SSHPort), "-i", l.Identity,
		"--known-hosts", l.KnownHosts, "--ssh-config", "/dev/null"}
}

// Args are PrismArgs and SSHArgs: what tail and logs --remote need.
func (l *Lab) Args() []string { return append(l.PrismArgs(), l.SSHArgs()...) }

// Rotate rotates one log of CVM i now: a file name (genesis.out) or a glog service
// (stargate). It returns the path of the new file (for glog, the new INFO file).
func (l *Lab) Rotate(ctx context.Context, i int, log string) (string, error) {
	req := rotation{id: log, reply: make(chan rotated, 1)}
	select {
	case l.logs[i].rotations <- req:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	r := <-req.reply
	return r.path, r.err
}

// Leftovers lists the processes still running that the lab's SSH servers started, in
// sessions of their own (Linux /proc).
func (l *Lab) Leftovers() []int { return l.procs.alive() }

// Close stops everything: connections dropped, every session's processes killed, the log
// writers stopped. It leaves Dir alone.
func (l *Lab) Close() {
	l.once.Do(func() {
		if l.prism != nil {
			l.prism.Close()
		}
		close(l.procs.stopping)
		var wg sync.WaitGroup
		for _, s := range l.servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.close()
			}()
		}
		wg.Wait()
		if l.cancel != nil {
			l.cancel()
		}
		l.writers.Wait()
	})
}
