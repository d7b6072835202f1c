//go:build linux

package sshdcvm

import (
	"fmt"
	"github.com/cvmtail/cvmtail/internal/shquote"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// overlay is a read-only overlayfs layer mounted over target in an old CVM's namespace.
type overlay struct{ target, layer string }

// sessionBinDirs is the PATH of an SSH session on Debian, and its sbin counterparts.
var sessionBinDirs = []string{"/usr/local/bin", "/usr/bin", "/bin", "/usr/games", "/usr/local/sbin", "/usr/sbin", "/sbin"}

// writeOldCVMLayers builds the overlay layers that turn a CVM into an old CentOS 7 one:
//
//   - every python interpreter in the sessions' PATH is whited out, so `command -v python3`
//     fails as it does on such a CVM (a /dev/null mounted over it would not do: bash's
//     command -v still reports files that are not executable);
//   - /usr/bin/tail becomes the real tail writing into a pipe to cat. When the SSH channel
//     closes, cat learns it only on its next write and tail only on the write after, so
//     both outlive the session, as coreutils 8.22's tail -F does. The wrapper execs the
//     real tail as "tail", so PID, exit status and command line are those of a real tail
//     (`echo $$; exec tail -F f` gives the tail's PID, pkill -f 'tail -F f' finds it),
//     and killing it ends cat too.
func writeOldCVMLayers(dir string) ([]overlay, error) {
	realTail := filepath.Join(dir, "old-cvm", "real", "tail")
	if err := os.MkdirAll(filepath.Dir(realTail), 0o755); err != nil {
		return nil, err
	}
	if err := copyFile("/usr/bin/tail", realTail, 0o755); err != nil {
		return nil, err
	}
	wrapper := "#!/bin/bash\n# sshdcvm: a tail that does not notice its output closed (coreutils 8.22)\n" +
		"exec > >(exec cat)\n" +
		"exec -a tail " + shquote.Quote(realTail) + " \"$@\"\n"

	var layers []overlay
	seen := map[string]bool{}
	for _, binDir := range sessionBinDirs {
		target, err := filepath.EvalSymlinks(binDir) // /bin is /usr/bin on merged-/usr systems
		if err != nil || seen[target] {
			continue
		}
		seen[target] = true
		entries, err := os.ReadDir(target)
		if err != nil {
			return nil, err
		}
		layer := filepath.Join(dir, "old-cvm", "layer-"+strings.ReplaceAll(strings.Trim(target, "/"), "/", "-"))
		if err := os.MkdirAll(layer, 0o755); err != nil {
			return nil, err
		}
		used := false
		for _, e := range entries {
			if !isPython(e.Name()) {
				continue
			}
			// A 0/0 character device is overlayfs's whiteout: the name is gone.
			if err := syscall.Mknod(filepath.Join(layer, e.Name()), syscall.S_IFCHR, 0); err != nil {
				return nil, fmt.Errorf("whiteout %s: %w", e.Name(), err)
			}
			used = true
		}
		if target == "/usr/bin" {
			if err := os.WriteFile(filepath.Join(layer, "tail"), []byte(wrapper), 0o755); err != nil {
				return nil, err
			}
			used = true
		}
		if used {
			layers = append(layers, overlay{target: target, layer: layer})
		}
	}
	return layers, nil
}

// isPython matches python, python3, python3.11, python3-config and the like.
func isPython(name string) bool {
	rest, ok := strings.CutPrefix(name, "python")
	return ok && (rest == "" || rest[0] >= '0' && rest[0] <= '9')
}
