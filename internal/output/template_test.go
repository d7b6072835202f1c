package output

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// {{json .}} is the line as -o json prints it: the same object, byte for byte, with
// log_time when the line has a time of its own.
func TestTemplateJSONIsTheJSONOutput(t *testing.T) {
	tmpl, err := NewTemplate("{{json .}}", false)
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)
	logTime := time.Date(2026, 11, 22, 9, 59, 59, 0, time.UTC)
	line := []byte("I1122 09:59:59 \"quoted\" \\ tab\there \xff")
	for _, lt := range []time.Time{logTime, {}} {
		js := NewRenderer(Options{Format: JSON, LogTime: true}, "NTNX-A-CVM", "10.1.1.11", "genesis", "/home/nutanix/data/logs/genesis.out")
		want := string(js.AppendLines(nil, append(line, '\n'), received, []time.Time{lt}))
		tr := NewRenderer(Options{Format: Text, Template: tmpl}, "NTNX-A-CVM", "10.1.1.11", "genesis", "/home/nutanix/data/logs/genesis.out")
		got := string(tr.AppendLines(nil, append(line, '\n'), received, []time.Time{lt}))
		if got != want {
			t.Errorf("log time %v:\n{{json .}} %s\n-o json    %s", lt, got, want)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(got), &m); err != nil || m["cvm"] != "NTNX-A-CVM" {
			t.Errorf("not a JSON object of the fields: %v %v", m, err)
		}
	}
	// A field alone is still a JSON string.
	tmpl, _ = NewTemplate("{{json .line}}", false)
	r := NewRenderer(Options{Format: Text, Template: tmpl}, "c", "a", "l", "p")
	if got := string(r.Append(nil, []byte("say \"hi\"\n"), time.Time{})); got != `"say \"hi\""`+"\n" {
		t.Errorf("json .line = %q", got)
	}
}

func TestTemplateFieldsAndHelpers(t *testing.T) {
	fields := map[string]bool{}
	for _, f := range TemplateFields {
		fields[f] = true
	}
	// ProbeTemplate's sample line has every field, and only those.
	for _, f := range TemplateFields {
		tmpl, _ := NewTemplate("{{."+f+"}}", false)
		if err := ProbeTemplate(tmpl); err != nil {
			t.Errorf("field %s: %v", f, err)
		}
	}
	if got := strings.Join(TemplateHelpers(), " "); got != "color cvmcolor json lower pad upper" {
		t.Errorf("helpers %q", got)
	}
}
