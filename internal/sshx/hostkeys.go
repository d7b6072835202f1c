package sshx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyCallback checks server keys against hc's known_hosts files (the user's and the
// system's, as OpenSSH reads them) under hc.HostKeyCheck. The algorithms returned make the
// server present a key type known_hosts holds for the host: otherwise a CVM with ed25519
// recorded could present ecdsa and look changed.
func (d *Dialer) hostKeyCallback(hc HostConfig) (ssh.HostKeyCallback, []string, error) {
	if hc.HostKeyCheck == HostKeyOff {
		d.offWarn.Do(func() {
			why := "as asked"
			if d.opts.HostKeyCheck != HostKeyOff {
				why = "StrictHostKeyChecking no in " + d.configFile
			}
			d.opts.Warn(fmt.Sprintf("warning: not checking the CVMs' SSH host keys (%s): anyone answering at their addresses gets the connection", why))
		})
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	file := hc.KnownHostsFile
	if file == "" {
		return nil, nil, &ConfigError{Err: ErrNoKnownHosts}
	}
	files := knownHostsFiles(hc)
	db, err := loadKnownHosts(files)
	if err != nil {
		return nil, nil, err
	}
	algorithms := knownAlgorithms(db, files, lookupName(hc, hc.Addr()))

	callback := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		hostname, remote = lookupAs(hc, hostname, remote)
		err := checkKnown(db, hostname, remote, key)
		if err == nil {
			return nil
		}
		hkErr := hostKeyError(hc, file, key, err)
		if hkErr == nil {
			return err
		}
		if hc.HostKeyCheck == HostKeyAcceptNew && !hkErr.Changed && !hkErr.Revoked {
			return d.recordHostKey(hc, hostname, remote, key)
		}
		return hkErr
	}
	return callback, algorithms, nil
}

// knownHostsFiles are every known_hosts file OpenSSH would read for hc: the user's, then
// the system's.
func knownHostsFiles(hc HostConfig) []string {
	return append(append([]string(nil), hc.KnownHostsFiles...), hc.GlobalKnownHostsFiles...)
}

// lookupName is the name a host's key is known under: its HostKeyAlias, or addr.
func lookupName(hc HostConfig, addr string) string {
	if hc.HostKeyAlias != "" {
		return net.JoinHostPort(hc.HostKeyAlias, "22") // known_hosts spells it without a port
	}
	return addr
}

// lookupAs applies HostKeyAlias: the key is looked up under the alias alone, not under the
// address connected to (OpenSSH then skips its CheckHostIP too).
func lookupAs(hc HostConfig, hostname string, remote net.Addr) (string, net.Addr) {
	if hc.HostKeyAlias == "" {
		return hostname, remote
	}
	name := lookupName(hc, hostname)
	// An address no known_hosts line names, so that only the alias is checked.
	return name, &net.TCPAddr{IP: net.IPv6unspecified, Port: 0}
}

// loadKnownHosts reads known_hosts files; missing ones know no host. nil: none exists.
func loadKnownHosts(files []string) (ssh.HostKeyCallback, error) {
	var present []string
	for _, f := range files {
		st, err := os.Stat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, &ConfigError{Err: fmt.Errorf("known hosts file %s: %w", f, unwrapPathError(err))}
		case st.IsDir():
			return nil, &ConfigError{Err: fmt.Errorf("known hosts file %s: is a directory", f)}
		}
		present = append(present, f)
	}
	if len(present) == 0 {
		return nil, nil
	}
	db, err := knownhosts.New(present...)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("known hosts file %s: %w", pe.Path, pe.Err)
		}
		return nil, &ConfigError{Err: err}
	}
	return db, nil
}

func checkKnown(db ssh.HostKeyCallback, hostname string, remote net.Addr, key ssh.PublicKey) error {
	if db == nil {
		return &knownhosts.KeyError{}
	}
	return db(hostname, remote, key)
}

// hostKeyError turns a knownhosts refusal into ours; nil for other errors.
func hostKeyError(hc HostConfig, file string, key ssh.PublicKey, err error) *HostKeyError {
	hkErr := &HostKeyError{Host: hc.Host, Addr: hc.Addr(), Alias: hc.HostKeyAlias, Fingerprint: ssh.FingerprintSHA256(key), KnownHostsFile: file}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		hkErr.Revoked = true
		hkErr.KnownHostsFile, hkErr.Line = revoked.Revoked.Filename, revoked.Revoked.Line
	case errors.As(err, &keyErr):
		if len(keyErr.Want) > 0 {
			hkErr.Changed = true
			hkErr.KnownHostsFile, hkErr.Line = keyErr.Want[0].Filename, keyErr.Want[0].Line
		}
	default:
		return nil
	}
	return hkErr
}

// recordHostKey appends a new key for hostname to the known_hosts file (accept-new).
func (d *Dialer) recordHostKey(hc HostConfig, hostname string, remote net.Addr, key ssh.PublicKey) error {
	d.knownHostsMu.Lock()
	defer d.knownHostsMu.Unlock()
	file := hc.KnownHostsFile

	// Another dial may have recorded a key for this host since the files were read.
	db, err := loadKnownHosts(knownHostsFiles(hc))
	if err != nil {
		return err
	}
	if err := checkKnown(db, hostname, remote, key); err == nil {
		return nil
	} else if hkErr := hostKeyError(hc, file, key, err); hkErr == nil || hkErr.Changed || hkErr.Revoked {
		if hkErr == nil {
			return err
		}
		return hkErr
	}

	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return &ConfigError{Err: fmt.Errorf("known hosts file %s: %w", file, unwrapPathError(err))}
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("known hosts file %s: %w", file, unwrapPathError(err))}
	}
	entry := knownhosts.Normalize(hostname)
	if hc.HashKnownHosts {
		entry = knownhosts.HashHostname(entry)
	}
	line := knownhosts.Line([]string{entry}, key) + "\n"
	if !endsWithNewline(file) {
		line = "\n" + line
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("known hosts file %s: %w", file, unwrapPathError(err))}
	}
	d.opts.Warn(fmt.Sprintf("%s: added host key %s to %s", hc.Host, ssh.FingerprintSHA256(key), file))
	return nil
}

// endsWithNewline is true for an empty file, or one whose last byte is a newline.
func endsWithNewline(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return true
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return true
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return true
	}
	return last[0] == '\n'
}

// hostKeyAlgorithmsByType maps a key type in known_hosts to the algorithms that present
// it, best first.
var hostKeyAlgorithmsByType = map[string][]string{
	ssh.KeyAlgoED25519:  {ssh.KeyAlgoED25519},
	ssh.KeyAlgoECDSA256: {ssh.KeyAlgoECDSA256},
	ssh.KeyAlgoECDSA384: {ssh.KeyAlgoECDSA384},
	ssh.KeyAlgoECDSA521: {ssh.KeyAlgoECDSA521},
	ssh.KeyAlgoRSA:      {ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA},
}

// hostKeyTypePreference orders the key types when known_hosts holds several for a host.
var hostKeyTypePreference = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA}

// knownAlgorithms returns the host key algorithms matching the keys known for addr, or nil
// (the library's defaults) when none is known or they cannot be told.
func knownAlgorithms(db ssh.HostKeyCallback, files []string, addr string) []string {
	if db == nil {
		return nil
	}
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && bytes.Contains(data, []byte("@cert-authority")) {
			return nil // host certificates: leave the choice to the library
		}
	}
	// Asking with a key no file can hold makes knownhosts list every key it has for addr.
	err := db(addr, &net.TCPAddr{IP: net.IPv4zero}, probeKey{})
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
		return nil
	}
	types := map[string]bool{}
	for _, k := range keyErr.Want {
		if _, ok := hostKeyAlgorithmsByType[k.Key.Type()]; !ok {
			return nil
		}
		types[k.Key.Type()] = true
	}
	var algorithms []string
	for _, t := range hostKeyTypePreference {
		if types[t] {
			algorithms = append(algorithms, hostKeyAlgorithmsByType[t]...)
		}
	}
	return algorithms
}

// probeKey is a public key that matches no known_hosts entry.
type probeKey struct{}

func (probeKey) Type() string    { return "sshx-probe@cvmtail" }
func (probeKey) Marshal() []byte { return []byte("\x00\x00\x00\x12sshx-probe@cvmtail") }
func (probeKey) Verify([]byte, *ssh.Signature) error {
	return errors.New("probe key verifies nothing")
}

// normalizeAddr is how known_hosts spells addr: host for port 22, else [host]:port.
func normalizeAddr(addr string) string {
	return knownhosts.Normalize(addr)
}
