// Package cmdutil holds what every command shares: the factory of dependencies, the error
// kinds that map to exit statuses, the flags that choose CVMs
// (internal/targets resolves them) and how to reach them.
package cmdutil

import (
	"os"
	"path/filepath"
	"time"

	"github.com/cvmtail/cvmtail/internal/iostreams"
)

// Factory carries the dependencies a command needs, injectable in tests.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Build     BuildInfo
	Now       func() time.Time
	Getenv    func(string) string
	// Context is --context: the config file's context to use ("" = CVMTAIL_CONTEXT, else
	// the file's default).
	Context string
	// UnchosenContexts are the config file's contexts when none was chosen (no --context,
	// no CVMTAIL_CONTEXT, no default): a "no CVM selected" error points at them.
	UnchosenContexts []string
	// HomeDir, CacheDir and ConfigDir return the user's directories (os.UserHomeDir etc.).
	HomeDir   func() (string, error)
	CacheDir  func() (string, error)
	ConfigDir func() (string, error)
}

// New returns the factory of the real process.
func New(build BuildInfo) *Factory {
	return &Factory{
		IOStreams: iostreams.System(),
		Build:     build,
		Now:       time.Now,
		Getenv:    os.Getenv,
		HomeDir:   os.UserHomeDir,
		CacheDir: func() (string, error) {
			d, err := os.UserCacheDir()
			if err != nil {
				return "", err
			}
			return filepath.Join(d, "cvmtail"), nil
		},
		ConfigDir: func() (string, error) {
			d, err := os.UserConfigDir()
			if err != nil {
				return "", err
			}
			return filepath.Join(d, "cvmtail"), nil
		},
	}
}

// Env is the environment variable k, "" when the factory has no environment.
func (f *Factory) Env(k string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(k)
}
