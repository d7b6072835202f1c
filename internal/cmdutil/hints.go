package cmdutil

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// Every way forward that names a flag, a command or a file of the user's is here, in one
// place: the engine packages return errors that hold the facts (which address, which
// file, which status), and never know the command line that will show them.

// engineHint is the hint for the first engine error in err's chain that has one, and the
// kind of that error: the same way forward for many CVMs is said once (HintKind).
func engineHint(err error) (kind, hint string, ok bool) {
	var (
		prismAuth   *prism.AuthError
		prismPerm   *prism.PermissionError
		prismTLS    *prism.TLSError
		prismNet    *prism.UnreachableError
		prismProto  *prism.ProtocolError
		prismNF     *prism.NotFoundError
		prismServer *prism.ServerError
		prismLarge  *prism.TooLargeError
		prismUnav   *prism.UnavailableError
		hostKey     *sshx.HostKeyError
		sshAuth     *sshx.AuthError
		dial        *sshx.DialError
		keyFile     *sshx.KeyFileError
		unknownLog  *catalog.UnknownError
		badPath     *catalog.PathError
		locked      *output.LockedError
		fileErr     *tailer.FileError
		sudoErr     *tailer.SudoError
	)
	switch {
	case errors.As(err, &prismAuth):
		return "prismAuth", "check --username (or CVMTAIL_USERNAME) and the password in CVMTAIL_PASSWORD or --password-file", true
	case errors.As(err, &prismPerm):
		return "prismPerm", "use a Prism user allowed to view clusters and hosts (e.g. the Viewer or Cluster Viewer role)", true
	case errors.As(err, &prismTLS):
		return "prismTLS", "pass the cluster's CA with --ca-cert FILE, or --insecure to skip verification", true
	case errors.As(err, &prismNet):
		return "prismNet", "check the address and port (9440 by default) and that this machine can reach Prism", true
	case errors.As(err, &prismProto):
		return "prismProto", "check that --prism names a Prism Element or Prism Central (port 9440), not a proxy or another service", true
	case errors.As(err, &prismNF):
		if len(prismNF.Known) == 0 {
			return "prismNF", "this Prism manages no AOS cluster", true
		}
		return "prismNF", "known clusters: " + strings.Join(prismNF.KnownNames(), ", "), true
	case errors.As(err, &prismServer):
		if prismServer.Busy() {
			return "prismServer", "Prism is busy or failing; try again in a minute", true
		}
		return "prismServer", "", true
	case errors.As(err, &prismLarge):
		return "prismLarge", "no real Prism sends that much; check that --prism names a Prism, or choose fewer clusters with --cluster", true
	case errors.As(err, &prismUnav):
		if len(prismUnav.Clusters) == 1 && prismUnav.Clusters[0].Address != "" {
			return "prismUnav", "ask the cluster's own Prism Element: --prism " + prismUnav.Clusters[0].Address, true
		}
		return "prismUnav", "ask each cluster's own Prism Element with --prism, or retry once Prism Central reaches it again", true

	case errors.As(err, &hostKey):
		return hostKeyKind(hostKey), hostKeyHint(hostKey), true
	case errors.As(err, &sshAuth):
		return "sshAuth", sshAuthHint(sshAuth), true
	case errors.As(err, &dial):
		switch {
		case dial.Timeout > 0:
			return "dial/timeout", fmt.Sprintf("check the address and that port %s is reachable, or raise --connect-timeout", dial.Port()), true
		case dial.Refused():
			return "dial/refused", fmt.Sprintf("check the address and that sshd listens on port %s (--ssh-port, or Port in ssh_config)", dial.Port()), true
		}
		return "dial", "", true
	case errors.Is(err, sshx.ErrNoKnownHosts):
		return "ErrNoKnownHosts", "give one with --known-hosts FILE", true
	case errors.As(err, &keyFile):
		if keyFile.Encrypted {
			return "keyFile", "load it into ssh-agent: ssh-add " + keyFile.Path, true
		}
		return "keyFile", "", true

	case errors.As(err, &unknownLog):
		if len(unknownLog.Suggestions) == 0 {
			return "unknownLog", "see 'cvmtail logs' for the names cvmtail knows, or give an absolute path", true
		}
		return "unknownLog", "did you mean " + strings.Join(unknownLog.Suggestions, ", ") + "? ('cvmtail logs' lists every name)", true
	case errors.As(err, &badPath):
		return "badPath", pathHint(badPath), true

	case errors.As(err, &locked):
		return "locked", "stop the other run, or let this one wait longer with --lock-timeout", true

	case errors.As(err, &fileErr):
		switch fileErr.Code {
		case "ENOENT":
			return "fileErr/" + fileErr.Code, "check the name with 'cvmtail logs --remote'", true
		case "EACCES", "EPERM":
			if fileErr.Sudo {
				return "fileErr/" + fileErr.Code, "the SSH user needs passwordless sudo to read it", true
			}
			return "fileErr/" + fileErr.Code, "the SSH user may not read it; use --ssh-user, or a catalog name read through sudo", true
		}
		return "fileErr/" + fileErr.Code, "", true
	case errors.As(err, &sudoErr):
		if sudoErr.NotInstalled {
			return "sudoErr/missing", "this log is root's; follow it on a CVM with sudo, or follow another log", true
		}
		return "sudoErr", "the SSH user needs passwordless sudo for this log (sudo -n), or follow another log", true
	}
	return "", "", false
}

// hostKeyHint says how to get past a host key refusal, and when not to.
func hostKeyHint(e *sshx.HostKeyError) string {
	switch {
	case e.Revoked:
		return "someone may be intercepting the connection; ask the cluster's administrator"
	case e.Changed:
		return fmt.Sprintf("if the CVM was reinstalled, remove the old key: ssh-keygen -R %s -f %s; otherwise someone may be intercepting the connection",
			e.KnownAs(), e.KnownHostsFile)
	case e.Alias != "":
		return fmt.Sprintf("verify the fingerprint, then run with --host-key-check accept-new (it records the key as %s in %s)", e.Alias, e.KnownHostsFile)
	}
	// Said once for every CVM with an unknown key (one hint per kind): the command is an
	// example of what to run for each, not the only one.
	return fmt.Sprintf("verify the fingerprint, then run with --host-key-check accept-new (or, for each CVM, ssh-keyscan %s >> %s)",
		e.KeyscanArgs(), e.KnownHostsFile)
}

// sshAuthHint names the three ways to fix authentication.
func sshAuthHint(e *sshx.AuthError) string {
	var b strings.Builder
	if e.Offered == 0 {
		b.WriteString("no key was offered; ")
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, "skipped %s (load encrypted keys with ssh-add); ", strings.Join(e.Skipped, ", "))
	}
	fmt.Fprintf(&b, "give the CVM's key with -i FILE or load it into ssh-agent (ssh-add), or choose another user with --ssh-user (now %s)", e.User)
	return b.String()
}

// pathHint says what a LOG argument that is no path the CVM can resolve should be.
func pathHint(e *catalog.PathError) string {
	rel := strings.TrimPrefix(e.Arg, "./")
	switch {
	case strings.HasPrefix(rel, "~/"):
		return fmt.Sprintf("'~' is not expanded on the CVM: give the absolute path, e.g. /home/nutanix/%s", rel[2:])
	case strings.Contains(e.Reason, "relative") && !strings.HasPrefix(rel, "../") && rel != "..":
		return fmt.Sprintf("give an absolute path, e.g. %s/%s", catalog.LogDir, rel)
	}
	return "give a catalog name ('cvmtail logs' lists them) or an absolute path on the CVM"
}

func hostKeyKind(e *sshx.HostKeyError) string {
	switch {
	case e.Revoked:
		return "hostKey/revoked"
	case e.Changed:
		return "hostKey/changed"
	}
	return "hostKey/unknown"
}

// HintKind names the kind of way forward err has ("" when none): errors of one kind, on
// many CVMs, share one hint line.
func HintKind(err error) string {
	kind, _ := hintAndKind(err)
	return kind
}
