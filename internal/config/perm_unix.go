//go:build !windows

package config

import "io/fs"

// OthersMayRead tells whether a file of this mode may be read (or changed) by users other
// than its owner, as OpenSSH judges a private key.
func OthersMayRead(mode fs.FileMode) bool { return mode.Perm()&0o077 != 0 }
