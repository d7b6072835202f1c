package tailer

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// TestAgentReadsTimesLikeLogtime runs the agent's stamp() over lines of every format and
// checks it agrees with internal/logtime, which the client uses: --since must start at the
// line the client would call the first one at or after the time.
func TestAgentReadsTimesLikeLogtime(t *testing.T) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			agentReadsTimesLikeLogtime(t, py.Path)
		})
	}
}

func agentReadsTimesLikeLogtime(t *testing.T, python string) {
	ref := time.Now().UTC().Truncate(time.Second)
	zone := time.FixedZone("X", -5*3600)
	recent := ref.Add(-3 * time.Hour)
	lines := []string{
		recent.Format("I0102 15:04:05.000000") + " 123 stargate.cc:1] x",
		recent.Format("E20060102 15:04:05.123456") + " 123 a.cc:1] x",
		recent.Format("F0102 15:04:05") + " 1 a.cc:1] x",
		"I1231 23:59:59.999999 1 a.cc:1] last day of a year",
		"I0101 00:00:00.000001 1 a.cc:1] first day of a year",
		"2026-11-22 10:00:00,123Z INFO a.py:1 x",
		"2026-11-22 10:00:00,123 WARNING a.py:1 x",
		"2026-11-22 10:00:00.5Z ERROR a.py:1 x",
		"2026-11-22 10:00:00 INFO a.py:1 x",
		"2026-11-22T10:00:00.123456+02:00 host p: x",
		"2026-11-22T10:00:00-07:30 host p: x",
		"2026-11-22T10:00:00Z host p: x",
		"2026-11-22T10:00:00 host p: local",
		recent.In(zone).Format("Jan _2 15:04:05") + " host sshd[1]: x",
		"Dec 31 23:59:59 host p: x",
		"INFO  [main] 2026-11-22 10:00:00,123 C.java:1 - x",
		"Traceback (most recent call last):",
		"  continuation",
		"I1322 10:00:00.000000 1 a.cc:1] bad month",
		"Foo 22 10:00:00 host p: x",
		"",
	}
	script := strings.Replace(agentScript, `if __name__ == "__main__":`, "if False:", 1) + `
import json
ref = float(sys.argv[1]); off = int(sys.argv[2])
out = []
for l in getattr(sys.stdin, "buffer", sys.stdin).read().split(b"\n")[:-1]:
    out.append(stamp(l, ref, off))
print(json.dumps(out))
`
	_, off := ref.In(zone).Zone()
	cmd := exec.Command(python, "-c", script, strconv.FormatInt(ref.Unix(), 10), strconv.Itoa(off))
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got []*float64
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(lines) {
		t.Fatalf("python said %s (%v)", out, err)
	}
	for i, l := range lines {
		st, ok := logtime.Parse([]byte(l), ref, zone)
		switch {
		case !ok && got[i] != nil:
			t.Errorf("%q: agent %v, logtime none", l, *got[i])
		case ok && got[i] == nil:
			t.Errorf("%q: agent none, logtime %v", l, st.Time)
		case ok:
			if d := time.Duration((*got[i] - float64(st.Time.UnixNano())/1e9) * 1e9); d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("%q: agent %v, logtime %v", l, time.Unix(0, int64(*got[i]*1e9)).UTC(), st.Time.UTC())
			}
		}
	}
}
