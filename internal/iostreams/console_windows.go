package iostreams

import (
	"os"

	"golang.org/x/sys/windows"
)

// canShowColor turns on ANSI escape processing when f is a Windows console and tells
// whether the console now shows colours. Windows 10 and later consoles (conhost, Windows
// Terminal) do once ENABLE_VIRTUAL_TERMINAL_PROCESSING is set; an older one refuses the
// mode and would print the escapes as text, so colour stays off there. What is not a
// console (mintty's pipe, a file) is left alone: escapes pass through as on unix.
func canShowColor(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return true
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_PROCESSED_OUTPUT|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
