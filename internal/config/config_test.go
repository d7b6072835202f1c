package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndSelect(t *testing.T) {
	p := write(t, `
default: prod
contexts:
  prod:
    prism: pc.example.com
    cluster: prod-01
    cvm: 10.0.0.1, 10.0.0.2
    identity: [~/.ssh/a, ~/.ssh/b]
    host-key-check: accept-new
  lab:
    prism: 127.0.0.1:9440
    insecure: true
`, 0o600)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	c, name, ok, err := f.Select("")
	if err != nil || !ok || name != "prod" {
		t.Fatalf("default: %v %v %v", name, ok, err)
	}
	if c.Prism != "pc.example.com" || strings.Join(c.Clusters, ",") != "prod-01" || strings.Join(c.CVMs, ",") != "10.0.0.1,10.0.0.2" || len(c.Identities) != 2 || c.HostKeyCheck != "accept-new" {
		t.Errorf("prod = %+v", c)
	}
	if c, _, _, _ := f.Select("lab"); !c.Insecure {
		t.Errorf("lab = %+v", c)
	}
	if _, _, _, err := f.Select("stage"); err == nil || !strings.Contains(err.Error(), "lab, prod") {
		t.Errorf("unknown context: %v", err)
	}
	if f.SecretExposed() {
		t.Error("no password in the file")
	}
}

func TestMissingEmptyAndBadFiles(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil || f.Exists {
		t.Fatalf("missing file: %v", err)
	}
	if _, _, ok, err := f.Select(""); ok || err != nil {
		t.Errorf("no default without a file: %v %v", ok, err)
	}
	if _, _, _, err := f.Select("prod"); err == nil || !strings.Contains(err.Error(), "no config file") {
		t.Errorf("named context without a file: %v", err)
	}
	if _, err := Load(write(t, "", 0o600)); err != nil {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Load(write(t, "contexts:\n  a:\n    prizm: x\n", 0o600)); err == nil || !strings.Contains(err.Error(), "prizm") {
		t.Errorf("misspelt key: %v", err)
	}
	if _, err := Load(write(t, "default: b\ncontexts:\n  a: {}\n", 0o600)); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("default not a context: %v", err)
	}
}

func TestSecretReadableByOthers(t *testing.T) {
	content := "contexts:\n  a:\n    password: hunter2\n"
	f, err := Load(write(t, content, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	if !f.SecretExposed() {
		t.Error("a password readable by others must be flagged")
	}
	f, _ = Load(write(t, content, 0o600))
	if f.SecretExposed() {
		t.Error("0600 is private")
	}
}

func TestErrorsSayKeyLineAndWhatIsExpected(t *testing.T) {
	tests := []struct{ content, want string }{
		{"contexts:\n  lab:\n    sshport: 22\n", `line 3: context "lab": unknown key "sshport" (did you mean ssh-port?); the keys are: ca-cert, cluster,`},
		{"contexts:\n  lab:\n    ssh-port: abc\n", `line 3: context "lab": ssh-port: want a whole number, got "abc"`},
		{"contexts:\n  lab:\n    insecure: maybe\n", `line 3: context "lab": insecure: want true or false, got "maybe"`},
		{"contexts:\n  lab:\n    connect-timeout: 10\n", `line 3: context "lab": connect-timeout: want a duration such as 30s, 15m, 2h or 1d, got "10"`},
		{"contexts:\n  lab:\n    lines: lots\n", `line 3: context "lab": lines: want a number of lines, or all, got "lots"`},
		{"contexts:\n  lab:\n    color: sometimes\n", `line 3: context "lab": color: want one of auto, always, never, got "sometimes"`},
		{"contexts:\n  lab:\n    output: xml\n", `line 3: context "lab": output: want one of text, json, raw, none, got "xml"`},
		{"contexts:\n  lab:\n    merge-window: soon\n", `line 3: context "lab": merge-window: want a duration`},
		{"contexts:\n  lab:\n    grep: {a: b}\n", `line 3: context "lab": grep: want an expression or a list of them, got a set of keys`},
		{"contexts:\n  lab:\n    cvm: {a: b}\n", `line 3: context "lab": cvm: want a name or a list of names, got a set of keys`},
		{"contexts:\n  lab:\n    prism: [a, b]\n", `line 3: context "lab": prism: want a string, got a list`},
		{"defualt: lab\n", `line 1: unknown key "defualt" (did you mean default?); the keys are: contexts, default`},
		{"contexts: [a]\n", `line 1: contexts: want one entry per context`},
	}
	for _, tt := range tests {
		_, err := Decode("/c.yaml", []byte(tt.content))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "config /c.yaml: ") {
			t.Errorf("%q: err = %v, want it to contain %q", tt.content, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), "config.Context") || strings.Contains(err.Error(), "!!str")) {
			t.Errorf("%q: Go internals in %q", tt.content, err)
		}
	}
}

// A context's durations take the flags' words (1d as well as 10s).
func TestDurationKeysTakeTheFlagsWords(t *testing.T) {
	f, err := Decode("/c.yaml", []byte("contexts:\n  lab:\n    connect-timeout: 1d\n"))
	if err != nil || f.Contexts["lab"].ConnectTimeout != "1d" {
		t.Fatalf("Decode = %+v, %v", f, err)
	}
}

// tail's keys hold what one would type after the flag: CommandSettings gives them as such,
// a list once per value, an expression with its commas, a path with ~/ expanded, and
// nothing for what is not set.
func TestCommandSettings(t *testing.T) {
	f, err := Decode("/c.yaml", []byte(`contexts:
  lab:
    prism: pe
    lines: 100
    color: always
    grep: ['a{1,3}', ERROR]
    exclude: 'x,y'
    timestamps: true
    log-time: false
    output-dir: ~/capture
    merge-window: 2s
`))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Contexts["lab"].CommandSettings("tail", "/home/u")
	want := []Setting{
		{"lines", []string{"100"}}, {"color", []string{"always"}}, {"grep", []string{"a{1,3}", "ERROR"}},
		{"exclude", []string{"x,y"}}, {"timestamps", []string{"true"}}, {"output-dir", []string{"/home/u/capture"}},
		{"merge-window", []string{"2s"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CommandSettings(tail) =\n%v\nwant\n%v", got, want)
	}
	if got := f.Contexts["lab"].CommandSettings("list-cvms", "/home/u"); len(got) != 0 {
		t.Errorf("CommandSettings(list-cvms) = %v, want none: tail's keys are tail's", got)
	}
}
