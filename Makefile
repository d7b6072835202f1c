# cvmtail developer targets. CI (.ci/run) runs `make lint verify build test`.

GO  ?= go
BIN := $(CURDIR)/bin

# What `cvmtail --version` tells, all from git, so that building a commit twice gives the
# same bytes. VERSION: a tag v1.2.3 gives 1.2.3 (1.2.3-4-g0123456789ab on later commits),
# an untagged commit Go's pseudo-version 0.0.0-20261122105604-0123456789ab; -dirty marks
# uncommitted changes. The build date is the commit's time (SOURCE_DATE_EPOCH overrides).
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null)
endif
ifeq ($(origin COMMIT),undefined)
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
endif
ifeq ($(origin VERSION),undefined)
VERSION := $(shell \
	if tag=$$(git describe --tags --match 'v[0-9]*' --abbrev=12 --dirty 2>/dev/null); then echo "$$tag" | sed 's/^v//'; \
	elif git rev-parse --git-dir >/dev/null 2>&1; then \
		echo "0.0.0-$$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd)-$$(git rev-parse --short=12 HEAD)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)"; \
	else echo dev; fi)
endif
BUILD_DATE := $(if $(SOURCE_DATE_EPOCH),$(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ))

# golangci-lint is pinned so every machine reports the same findings.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(BIN)/golangci-lint

TEST_TIMEOUT ?= 20m
BENCHTIME    ?= 1s

LDFLAGS := -X github.com/cvmtail/cvmtail/internal/cli.version=$(VERSION) \
	-X github.com/cvmtail/cvmtail/internal/cli.commit=$(COMMIT) \
	-X github.com/cvmtail/cvmtail/internal/cli.date=$(BUILD_DATE)

# nfpm makes the .deb and .rpm of make dist. Pinned, and run with go run rather than
# required in go.mod: the product's dependencies stay free of packaging code.
NFPM_VERSION := v2.45.2
NFPM         := github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST_DIR     ?= dist

.PHONY: all build dist test lint gen verify demo screenshot bench clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/cvmtail ./cmd/cvmtail

# Release archives for linux, darwin and windows (amd64, arm64), .deb and .rpm packages and
# SHA256SUMS in dist/, reproducibly (see cmd/dist). Needs the Go module proxy the first time.
dist:
	@if [ -z "$(SOURCE_DATE_EPOCH)" ] || [ -z "$(COMMIT)" ]; then \
		echo "make dist: needs a git checkout: the version, commit and file times come from it" >&2; exit 1; fi
	$(GO) run ./cmd/dist -go "$(GO)" -out "$(DIST_DIR)" -version "$(VERSION)" -epoch "$(SOURCE_DATE_EPOCH)" \
		-nfpm "$(NFPM)" -ldflags "$(LDFLAGS)"

# The end-to-end tests need root and OpenSSH sshd (internal/testenv/sshdcvm); without them
# they skip, unless CVMTAIL_E2E=1 makes that a failure.
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# Falls back to go vet and gofmt when the pinned golangci-lint cannot be installed (a laptop
# offline); with CI set, that is a failure instead: CI must run the real linters.
lint:
	@if ! "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo "make lint: installing golangci-lint $(GOLANGCI_LINT_VERSION) into bin/"; \
		GOBIN="$(BIN)" $(GO) install -trimpath -ldflags="-s -w" github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) || true; \
	fi
	@if "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo "$(GOLANGCI_LINT) run ./..."; \
		"$(GOLANGCI_LINT)" run ./...; \
	elif [ -n "$$CI" ]; then \
		echo "make lint: golangci-lint $(GOLANGCI_LINT_VERSION) could not be installed; CI is set, so this fails instead of falling back to go vet" >&2; \
		exit 1; \
	else \
		echo "make lint: golangci-lint $(GOLANGCI_LINT_VERSION) could not be installed; falling back to go vet and gofmt" >&2; \
		$(GO) vet ./... && \
		unformatted="$$(gofmt -l cmd internal)" && \
		if [ -n "$$unformatted" ]; then echo "make lint: not gofmt-ed:" >&2; echo "$$unformatted" >&2; exit 1; fi; \
	fi

gen:
	@if [ -d cmd/gen-docs ]; then \
		echo "$(GO) run ./cmd/gen-docs"; \
		$(GO) run ./cmd/gen-docs; \
	else \
		echo "make gen: cmd/gen-docs does not exist yet; nothing generated" >&2; \
	fi

# Fails when generated files, go.mod or go.sum differ from what is committed.
verify: gen
	$(GO) mod tidy
	@git diff --exit-code || { \
		echo "make verify: the files above are out of date; run make gen and go mod tidy, then commit" >&2; exit 1; }
	@untracked="$$(git ls-files --others --exclude-standard -- docs completions)"; \
	if [ -n "$$untracked" ]; then \
		echo "make verify: generated files are not committed:" >&2; echo "$$untracked" >&2; exit 1; \
	fi

# cvmtail against a simulated cluster (cmd/cvmtail-lab: Prism and CVMs over SSH on loopback
# addresses, no root, no sshd) until Ctrl-C; the lab stops with it. DEMO_ARGS adds cvmtail
# flags, e.g. make demo DEMO_ARGS='--no-follow' for a check that ends by itself; LAB_ARGS
# adds cvmtail-lab flags, e.g. LAB_ARGS='--cvms 16'.
DEMO_ARGS ?=
DEMO_LOGS ?= genesis stargate.INFO
LAB_ARGS  ?=
demo:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/cvmtail ./cmd/cvmtail
	$(GO) build -trimpath -o bin/cvmtail-lab ./cmd/cvmtail-lab
	@command -v python3 >/dev/null 2>&1 || \
		echo "make demo: python3 not found: the lab's CVMs run cvmtail's agent with it; without it cvmtail falls back to tail -F (install python3 for the real thing)" >&2
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/cvmtail-demo.XXXXXX") || exit 1; \
	bin/cvmtail-lab --dir "$$dir/lab" --ssh-port 0 --prism-addr 127.0.0.1:0 $(LAB_ARGS) >"$$dir/lab.out" 2>"$$dir/lab.err" & lab=$$!; \
	trap 'kill $$lab 2>/dev/null; wait $$lab 2>/dev/null; rm -rf "$$dir"' EXIT; \
	trap '' INT; trap 'exit 143' TERM; \
	i=0; until grep -qx ready "$$dir/lab.out" 2>/dev/null; do \
		if ! kill -0 $$lab 2>/dev/null || [ $$i -ge 300 ]; then \
			echo "make demo: the lab did not start:" >&2; cat "$$dir/lab.err" >&2; exit 1; \
		fi; \
		i=$$((i + 1)); sleep 0.1; \
	done; \
	flags=$$(cat "$$dir/lab/cvmtail-flags"); \
	grep -E '^  (prism|cvm) ' "$$dir/lab.err" >&2; \
	echo "make demo: bin/cvmtail tail $(DEMO_LOGS) $$flags --refresh $(DEMO_ARGS)" >&2; \
	echo "make demo: Ctrl-C stops cvmtail and the lab" >&2; \
	bin/cvmtail tail $(DEMO_LOGS) $$flags --refresh $(DEMO_ARGS); rc=$$?; \
	if [ $$rc -eq 130 ]; then rc=0; fi; exit $$rc

# docs/terminal.svg, the picture in the README: list-cvms and tail against the lab in a
# detached tmux with 256 colours, captured with its colours (docs/terminal.ansi) and drawn by
# cmd/termshot (cmd/termshot/capture.sh). Needs tmux.
screenshot:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/cvmtail ./cmd/cvmtail
	$(GO) build -trimpath -o bin/cvmtail-lab ./cmd/cvmtail-lab
	GO="$(GO)" sh cmd/termshot/capture.sh

# The suite of docs/benchmarks.md: cvmtail against raw ssh, sed, clush and parallel-ssh on real
# sshd CVMs (needs root, like the end-to-end tests); prints the table with PASS/FAIL per target
# and rewrites docs/bench/. The baselines come from apt (pssh, clustershell) when they can be
# installed; otherwise their rows are left out with a note. Then the Go microbenchmarks.
bench:
	@missing=""; \
	command -v parallel-ssh >/dev/null 2>&1 || missing="$$missing pssh"; \
	command -v clush >/dev/null 2>&1 || missing="$$missing clustershell"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "make bench: installing$$missing"; \
			{ apt-get update -qq </dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null; } || \
				echo "make bench: could not install$$missing; those baselines are skipped" >&2; \
		else \
			echo "make bench:$$missing not installed (needs root and apt-get); those baselines are skipped" >&2; \
		fi; \
	fi
	CVMTAIL_BENCH=1 CVMTAIL_E2E=1 CVMTAIL_BENCH_OUT=$(CURDIR)/docs/bench \
		$(GO) test -run '^TestBench$$' -v -count=1 -timeout 60m ./internal/bench/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# Keeps bin/golangci-lint: it is pinned and slow to build.
clean:
	rm -rf bin/cvmtail dist coverage.out
