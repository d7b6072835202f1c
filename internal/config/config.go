// Package config reads cvmtail's config file: named contexts, each a cluster and how to
// reach it, so that `cvmtail --context prod tail genesis` needs nothing else.
//
//	default: prod
//	contexts:
//	  prod:
//	    prism: pc.example.com
//	    username: admin
//	    password-file: ~/.config/cvmtail/prod.password
//	    cluster: prod-01
//	    ca-cert: ~/.config/cvmtail/prod-ca.pem
//	    ssh-user: nutanix
//	    identity: ~/.ssh/cvm_ed25519
//	    host-key-check: accept-new
//	    grep: [ERROR, FATAL]      # tail's own keys: what one types after the flag
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Context is one named cluster. Keys are spelled like the command-line flags.
type Context struct {
	Prism          string   `yaml:"prism"`
	Username       string   `yaml:"username"`
	Password       string   `yaml:"password"` // discouraged: prefer password-file
	PasswordFile   string   `yaml:"password-file"`
	Clusters       StrList  `yaml:"cluster"`
	CVMs           StrList  `yaml:"cvm"`
	Insecure       bool     `yaml:"insecure"`
	CACert         string   `yaml:"ca-cert"`
	SSHUser        string   `yaml:"ssh-user"`
	SSHPort        int      `yaml:"ssh-port"`
	Identities     StrList  `yaml:"identity"`
	SSHConfig      string   `yaml:"ssh-config"`
	KnownHosts     string   `yaml:"known-hosts"`
	HostKeyCheck   string   `yaml:"host-key-check"`
	ConnectTimeout Duration `yaml:"connect-timeout"`
	UseNAT         bool     `yaml:"use-nat"` // SSH to each CVM's NAT address and port (--use-nat)

	// tail's keys (cmd:"tail"): each holds what one would type after the flag of the same
	// name, and is applied through that flag (see CommandSettings), so that it is read by
	// the same parser. What is about one run (--no-follow, --duration, --since) is not here.
	Lines       Lines    `yaml:"lines" cmd:"tail"`
	Color       string   `yaml:"color" cmd:"tail" values:"auto,always,never"`
	Grep        Exprs    `yaml:"grep" cmd:"tail"`
	Exclude     Exprs    `yaml:"exclude" cmd:"tail"`
	Highlight   Exprs    `yaml:"highlight" cmd:"tail"`
	IgnoreCase  bool     `yaml:"ignore-case" cmd:"tail"`
	Level       string   `yaml:"level" cmd:"tail"`
	Timestamps  bool     `yaml:"timestamps" cmd:"tail"`
	LogTime     bool     `yaml:"log-time" cmd:"tail"`
	Output      string   `yaml:"output" cmd:"tail" values:"text,json,raw,none"`
	OutputDir   Path     `yaml:"output-dir" cmd:"tail"`
	LockTimeout Duration `yaml:"lock-timeout" cmd:"tail"`
	CVMTimezone string   `yaml:"cvm-timezone" cmd:"tail"`
	Template    string   `yaml:"template" cmd:"tail"`
	MergeWindow Duration `yaml:"merge-window" cmd:"tail"`
	CVMColors   string   `yaml:"cvm-colors" cmd:"tail"`
	Quiet       bool     `yaml:"quiet" cmd:"tail"`
	// How often a following tail asks Prism for the cluster's CVMs again (0: never).
	RefreshInterval Duration `yaml:"refresh-interval" cmd:"tail"`
}

// Setting is a context's value of one key, as the words one would type after its flag.
type Setting struct {
	Key    string
	Values []string // one per time the flag would be given
}

// CommandSettings lists the settings of the context's keys for command cmd (the fields
// tagged cmd:"<cmd>"), in the struct's order, leaving out those not set: an empty string
// or list, or false. A Path has ~/ expanded against home.
func (c Context) CommandSettings(cmd, home string) []Setting {
	var out []Setting
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("cmd") != cmd {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		var vals []string
		switch fv := v.Field(i); {
		case f.Type == reflect.TypeFor[Path]():
			if p := fv.String(); p != "" {
				vals = []string{ExpandHome(p, home)}
			}
		case fv.Kind() == reflect.String:
			if s := fv.String(); s != "" {
				vals = []string{s}
			}
		case fv.Kind() == reflect.Bool:
			if fv.Bool() {
				vals = []string{"true"}
			}
		case fv.Kind() == reflect.Slice:
			for j := range fv.Len() {
				vals = append(vals, fv.Index(j).String())
			}
		}
		if len(vals) > 0 {
			out = append(out, Setting{Key: key, Values: vals})
		}
	}
	return out
}

// File is the whole config file.
type File struct {
	Path     string             `yaml:"-"`
	Default  string             `yaml:"default"`
	Contexts map[string]Context `yaml:"contexts"`
	// Exists tells whether the file was there.
	Exists bool `yaml:"-"`
	mode   fs.FileMode
}

// Duration is a duration as typed (10s, 1d): checked with units.ParseDuration when the file
// is read, as the flag of the same name reads it.
type Duration string

// Lines is a line count as typed (100, all): checked with units.ParseLines.
type Lines string

// Path is a file or directory; a leading ~/ is the user's home directory.
type Path string

// Exprs is one regular expression or a list of them. Unlike StrList, a comma is part of
// an expression (a{1,3}), never a separator.
type Exprs []string

// UnmarshalYAML accepts "RE" or [RE, RE].
func (l *Exprs) UnmarshalYAML(n *yaml.Node) error {
	return decodeList(n, (*[]string)(l), func(s string) []string { return []string{s} }, "an expression or a list of them")
}

// StrList is a list that may also be written as one string (comma-separated allowed).
type StrList []string

// UnmarshalYAML accepts "a", "a,b" or [a, b].
func (l *StrList) UnmarshalYAML(n *yaml.Node) error {
	return decodeList(n, (*[]string)(l), func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}, "a name or a list of names")
}

// decodeList reads a list written as a YAML list, or as one string that scalar turns into
// the list; want says what is expected otherwise.
func decodeList(n *yaml.Node, l *[]string, scalar func(string) []string, want string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = scalar(n.Value)
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: want %s", n.Line, want)
}

// Load reads the config file at path; a missing file is an empty config, not an error.
func Load(path string) (*File, error) {
	if path == os.DevNull {
		return &File{Path: path}, nil
	}
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer func() { _ = fh.Close() }()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f, err := Decode(path, data)
	if err != nil {
		return nil, err
	}
	f.Exists, f.mode = true, st.Mode().Perm()
	return f, nil
}

// maxFileBytes bounds the config file: a few contexts are a few kilobytes.
const maxFileBytes = 1 << 20

// Decode parses the config file's data; path is for messages.
func Decode(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("config %s: larger than %d KiB: not a cvmtail config file", path, maxFileBytes>>10)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// Checked by hand first, so that a misspelt key or a wrong type is told in the file's
	// terms rather than the decoder's (a misspelt key is an error, never a silently
	// ignored setting).
	if err := validate(&doc); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
		return nil, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if f.Default != "" {
		if _, ok := f.Contexts[f.Default]; !ok {
			return nil, fmt.Errorf("config %s: default context %q is not among the contexts (%s)", path, f.Default, strings.Join(f.Names(), ", "))
		}
	}
	return f, nil
}

// Names lists the contexts, sorted.
func (f *File) Names() []string {
	var names []string
	for n := range f.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Select returns the named context, or the default one when name is "". ok is false when
// no context applies (no name and no default).
func (f *File) Select(name string) (ctx Context, chosen string, ok bool, err error) {
	if name == "" {
		name = f.Default
	}
	if name == "" {
		return Context{}, "", false, nil
	}
	if !f.Exists {
		return Context{}, "", false, fmt.Errorf("context %q: no config file at %s", name, f.Path)
	}
	c, found := f.Contexts[name]
	if !found {
		if len(f.Contexts) == 0 {
			return Context{}, "", false, fmt.Errorf("context %q: %s defines no contexts", name, f.Path)
		}
		return Context{}, "", false, fmt.Errorf("unknown context %q (known: %s)", name, strings.Join(f.Names(), ", "))
	}
	return c, name, true, nil
}

// SecretExposed tells whether the file holds a password while others may read it.
func (f *File) SecretExposed() bool {
	if !f.Exists || !OthersMayRead(f.mode) {
		return false
	}
	for _, c := range f.Contexts {
		if c.Password != "" {
			return true
		}
	}
	return false
}

// ExpandHome expands a leading ~/ in p (on Windows ~\ too).
func ExpandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator))) {
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return p
}
