#!/bin/sh
# Captures cvmtail at a terminal for the README: starts the lab (cmd/cvmtail-lab), runs
# list-cvms and tail with the lab's context in a detached 132x30 tmux whose TERM says 256
# colours, saves the pane with its colour escapes as docs/terminal.ansi and draws it as
# docs/terminal.svg (cmd/termshot). Run from the repository root as `make screenshot`,
# which builds bin/cvmtail and bin/cvmtail-lab first. Needs tmux and python3.
set -eu

command -v tmux >/dev/null 2>&1 || { echo "make screenshot: needs tmux" >&2; exit 1; }
go=${GO:-go}
root=$(pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/cvmtail-shot.XXXXXX")
sock="cvmtail-shot-$$" # a tmux server of its own: the user's sessions are not touched

bin/cvmtail-lab --dir "$dir/lab" --ssh-port 0 --prism-addr 127.0.0.1:0 --rate 1 >"$dir/lab.out" 2>"$dir/lab.err" &
lab=$!
trap 'tmux -L "$sock" kill-server 2>/dev/null; kill $lab 2>/dev/null; wait $lab 2>/dev/null; rm -rf "$dir"' EXIT
i=0
until grep -qx ready "$dir/lab.out" 2>/dev/null; do
	if ! kill -0 $lab 2>/dev/null || [ $i -ge 300 ]; then
		echo "make screenshot: the lab did not start:" >&2
		cat "$dir/lab.err" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 0.1
done

# What the picture shows: each command after a "$ " prompt, as typed.
cat >"$dir/run.sh" <<'EOF'
for c in "cvmtail --context lab list-cvms" \
	"cvmtail --context lab tail genesis stargate.INFO -n 1 --duration 8s"; do
	printf '$ %s\n' "$c"
	$c
done
tmux wait-for -S shot-done
sleep 600
EOF
tmux -L "$sock" -f /dev/null new-session -d -s shot -x 132 -y 30 \
	env -u NO_COLOR TERM=xterm-256color CVMTAIL_CONFIG="$dir/lab/config.yaml" \
	XDG_CACHE_HOME="$dir/cache" PATH="$root/bin:$PATH" sh "$dir/run.sh"
timeout 120 tmux -L "$sock" wait-for shot-done
tmux -L "$sock" capture-pane -t shot -e -p -S - >docs/terminal.ansi
"$go" run ./cmd/termshot -title "cvmtail: list-cvms and tail on the lab" -rows 34 <docs/terminal.ansi >docs/terminal.svg
echo "make screenshot: wrote docs/terminal.ansi and docs/terminal.svg" >&2
