package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// fakeTargets records what the refresher asks of the engine.
type fakeTargets struct{ calls []string }

func (f *fakeTargets) Add(t tailer.Target) error {
	f.calls = append(f.calls, "add "+t.Name+" "+t.Address)
	return nil
}

func (f *fakeTargets) Remove(name string) bool {
	f.calls = append(f.calls, "remove "+name)
	return true
}

func (f *fakeTargets) Update(t tailer.Target) error {
	f.calls = append(f.calls, "update "+t.Name+" "+t.Address)
	return nil
}

func TestRefresherFollowsPrismsList(t *testing.T) {
	var answer []tailer.Target
	var answerErr error
	resolve := func(context.Context) ([]tailer.Target, error) { return answer, answerErr }
	var stderr bytes.Buffer
	engine := &fakeTargets{}
	start := []tailer.Target{{Name: "A", Address: "10.0.0.1"}, {Name: "B", Address: "10.0.0.2"}}
	r := newRefresher("pc.example.com", resolve, engine, start, &stderrLog{w: &stderr})

	steps := []struct {
		name    string
		answer  []tailer.Target
		err     error
		calls   []string
		stderr  []string // lines said by this step, in order
		noLines bool
	}{
		{name: "nothing changed", answer: start, noLines: true},
		{
			name:   "a CVM leaves, one moves, one appears",
			answer: []tailer.Target{{Name: "B", Address: "10.0.0.22"}, {Name: "C", Address: "10.0.0.3"}},
			calls:  []string{"remove A", "update B 10.0.0.22", "add C 10.0.0.3"},
			stderr: []string{
				"cvmtail: A: no longer in Prism's CVM list; stopped following it",
				"cvmtail: B: Prism gives it a new address, 10.0.0.22 (was 10.0.0.2); reconnecting there",
				"cvmtail: C: new in Prism's CVM list (10.0.0.3); following it",
			},
		},
		{
			name: "Prism unreachable: nothing changes, said once",
			err:  &prism.UnreachableError{Address: "pc.example.com:9440", Err: errors.New("connection refused")},
			stderr: []string{
				"cvmtail: prism pc.example.com: cannot refresh the CVM list (",
			},
		},
		{name: "still unreachable: not said again", err: errors.New("timeout"), noLines: true},
		{name: "a list without CVMs is not believed", answer: []tailer.Target{}, noLines: true},
		{
			name:   "back: said, and the changes meanwhile applied",
			answer: []tailer.Target{{Name: "B", Address: "10.0.0.22"}, {Name: "C", Address: "10.0.0.3"}, {Name: "D", Address: "10.0.0.4"}},
			calls:  []string{"add D 10.0.0.4"},
			stderr: []string{
				"cvmtail: prism pc.example.com: answering again; CVM list refreshed",
				"cvmtail: D: new in Prism's CVM list (10.0.0.4); following it",
			},
		},
	}
	for _, st := range steps {
		answer, answerErr = st.answer, st.err
		engine.calls = nil
		stderr.Reset()
		r.refresh(context.Background())
		if fmt.Sprint(engine.calls) != fmt.Sprint(st.calls) {
			t.Errorf("%s: engine calls %q, want %q", st.name, engine.calls, st.calls)
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if st.noLines {
			if stderr.Len() != 0 {
				t.Errorf("%s: stderr %q, want nothing", st.name, stderr.String())
			}
			continue
		}
		if len(lines) != len(st.stderr) {
			t.Errorf("%s: stderr %q, want %d lines %q", st.name, stderr.String(), len(st.stderr), st.stderr)
			continue
		}
		for i, want := range st.stderr {
			if !strings.HasPrefix(lines[i], want) {
				t.Errorf("%s: line %d %q, want %q", st.name, i+1, lines[i], want)
			}
		}
	}
}

func TestRefreshIntervalFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "5m0s"},
		{[]string{"--refresh-interval", "0"}, "0s"},
		{[]string{"--refresh-interval", "1d"}, "24h0m0s"},
		{[]string{"--refresh-interval", "-1m"}, "error"},
	} {
		o, err := parseWithConfig(t, "    cvm: x\n", append([]string{"genesis"}, tc.args...)...)
		got := "error"
		if err == nil {
			got = o.RefreshInterval.String()
		}
		if got != tc.want {
			t.Errorf("%q: %s (%v), want %s", tc.args, got, err, tc.want)
		}
	}
}
