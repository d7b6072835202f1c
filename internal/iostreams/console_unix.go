//go:build !windows

package iostreams

import "os"

// canShowColor: a unix terminal takes ANSI escapes as they are.
func canShowColor(*os.File) bool { return true }
