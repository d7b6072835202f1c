package config

import "io/fs"

// OthersMayRead is false on Windows: its mode bits do not tell who may read a file (an ACL
// does), and a warning on every file would be noise.
func OthersMayRead(fs.FileMode) bool { return false }
