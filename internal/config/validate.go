package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cvmtail/cvmtail/internal/suggest"
	"github.com/cvmtail/cvmtail/internal/units"
)

// keyKind is what a context key holds.
type keyKind int

const (
	kindString keyKind = iota
	kindInt
	kindBool
	kindList     // one name, "a,b", or a list
	kindDuration // units.ParseDuration's words
	kindLines    // units.ParseLines's words
	kindExprs    // one expression or a list
)

func (k keyKind) String() string {
	return [...]string{"a string", "a whole number", "true or false", "a name or a list of names",
		"a duration such as 30s, 15m, 2h or 1d", "a number of lines, or all", "an expression or a list of them"}[k]
}

// keySpec is what a key holds: its kind and, for some strings, the values it may take
// (the values tag, comma-separated).
type keySpec struct {
	kind   keyKind
	values []string
}

// contextKeys are the keys of a context, read off Context's yaml tags: one source.
var contextKeys = func() map[string]keySpec {
	keys := map[string]keySpec{}
	t := reflect.TypeFor[Context]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		var spec keySpec
		switch {
		case f.Type == reflect.TypeFor[StrList]():
			spec.kind = kindList
		case f.Type == reflect.TypeFor[Exprs]():
			spec.kind = kindExprs
		case f.Type == reflect.TypeFor[Duration]():
			spec.kind = kindDuration
		case f.Type == reflect.TypeFor[Lines]():
			spec.kind = kindLines
		case f.Type.Kind() == reflect.Int:
			spec.kind = kindInt
		case f.Type.Kind() == reflect.Bool:
			spec.kind = kindBool
		default:
			spec.kind = kindString
		}
		if v := f.Tag.Get("values"); v != "" {
			spec.values = strings.Split(v, ",")
		}
		keys[name] = spec
	}
	return keys
}()

// Keys lists the keys a context may hold, sorted.
func Keys() []string {
	var out []string
	for k := range contextKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate checks the document's shape before it is decoded, so that a mistake is told
// as the user wrote it: which key, which line, what was expected, and the nearest key.
func validate(doc *yaml.Node) error {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == 0 || doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return nil // empty file
	}
	if doc.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want keys default and contexts at the top", doc.Line)
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "default":
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: default: want the name of a context", v.Line)
			}
		case "contexts":
			if err := validateContexts(v); err != nil {
				return err
			}
		default:
			return unknownKey(k, "", []string{"contexts", "default"})
		}
	}
	return nil
}

func validateContexts(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: contexts: want one entry per context, each a set of keys", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, ctx := n.Content[i], n.Content[i+1]
		if ctx.Kind == yaml.ScalarNode && ctx.Tag == "!!null" {
			continue
		}
		if ctx.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: context %q: want keys such as prism, cvm or ssh-user", ctx.Line, name.Value)
		}
		for j := 0; j+1 < len(ctx.Content); j += 2 {
			k, v := ctx.Content[j], ctx.Content[j+1]
			spec, ok := contextKeys[k.Value]
			if !ok {
				return unknownKey(k, fmt.Sprintf("context %q: ", name.Value), Keys())
			}
			if err := checkKind(v, spec); err != nil {
				return fmt.Errorf("line %d: context %q: %s: %w", v.Line, name.Value, k.Value, err)
			}
		}
	}
	return nil
}

func unknownKey(k *yaml.Node, where string, valid []string) error {
	msg := fmt.Sprintf("line %d: %sunknown key %q", k.Line, where, k.Value)
	if near := suggest.Nearest(k.Value, valid, 1); len(near) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", near[0])
	}
	return fmt.Errorf("%s; the keys are: %s", msg, strings.Join(valid, ", "))
}

func checkKind(v *yaml.Node, spec keySpec) error {
	kind := spec.kind
	got := func() string {
		if v.Kind == yaml.ScalarNode {
			return strconv.Quote(v.Value)
		}
		return map[yaml.Kind]string{yaml.SequenceNode: "a list", yaml.MappingNode: "a set of keys", yaml.AliasNode: "an alias"}[v.Kind]
	}
	bad := func() error { return fmt.Errorf("want %s, got %s", kind, got()) }
	switch kind {
	case kindList, kindExprs:
		if v.Kind == yaml.SequenceNode {
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return bad()
				}
			}
			return nil
		}
		if v.Kind != yaml.ScalarNode {
			return bad()
		}
	case kindInt:
		if _, err := strconv.Atoi(v.Value); v.Kind != yaml.ScalarNode || err != nil {
			return bad()
		}
	case kindBool:
		if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
			return bad()
		}
	case kindDuration:
		if _, err := units.ParseDuration(v.Value); v.Kind != yaml.ScalarNode || err != nil {
			return bad()
		}
	case kindLines:
		if _, err := units.ParseLines(v.Value); v.Kind != yaml.ScalarNode || err != nil {
			return bad()
		}
	default:
		if v.Kind != yaml.ScalarNode {
			return bad()
		}
		if len(spec.values) > 0 && !slices.Contains(spec.values, v.Value) {
			return fmt.Errorf("want one of %s, got %s", strings.Join(spec.values, ", "), got())
		}
	}
	return nil
}
