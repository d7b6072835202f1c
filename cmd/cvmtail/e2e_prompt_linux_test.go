package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's master and its slave's path.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return master, "/dev/pts/" + strconv.Itoa(n)
}

// Ctrl-C at the password prompt cancels at once, with the terminal's echo back and the
// prompt's line ended.
func TestE2ECtrlCAtThePasswordPrompt(t *testing.T) {
	master, slavePath := openPTY(t)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	cmd := exec.Command(binary, "list-cvms", "--prism", "127.0.0.1:9", "--insecure")
	cmd.Env = append(os.Environ(), "CVMTAIL_PASSWORD=", "XDG_CACHE_HOME="+t.TempDir(), "CVMTAIL_CONFIG="+os.DevNull)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen bytes.Buffer
	buf := make([]byte, 1024)
	deadline := time.Now().Add(15 * time.Second)
	for !bytes.Contains(seen.Bytes(), []byte("Prism password for admin@127.0.0.1:9: ")) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no prompt; terminal shows %q", seen.String())
		}
		_ = master.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := master.Read(buf)
		seen.Write(buf[:n])
	}
	time.Sleep(100 * time.Millisecond)                 // the echo is off once the prompt reads
	if _, err := master.Write([]byte{3}); err != nil { // Ctrl-C, turned into SIGINT by the terminal
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the first Ctrl-C did not end the prompt within 2 s")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Error("the terminal was left without echo")
	}
	// The prompt line is ended, so that the shell's next prompt starts on a line of its own.
	// With cvmtail gone and the slave closed, the master gives what is left, then EIO.
	_ = slave.Close()
	for {
		n, err := master.Read(buf)
		seen.Write(buf[:n])
		if err != nil || n == 0 {
			break
		}
	}
	_, after, _ := bytes.Cut(seen.Bytes(), []byte("Prism password for admin@127.0.0.1:9: "))
	if !bytes.Contains(after, []byte("\n")) {
		t.Errorf("the prompt was not ended with a newline; after it the terminal shows %q", after)
	}
}
