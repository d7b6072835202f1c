# cvmtail developer targets. `make test` is what CI runs (see .ci/run).

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := $(CURDIR)/bin

# golangci-lint is pinned so every machine reports the same findings.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(BIN)/golangci-lint

TEST_TIMEOUT ?= 20m
BENCHTIME    ?= 1s

LDFLAGS := -X github.com/cvmtail/cvmtail/internal/cli.version=$(VERSION)

.PHONY: all build test lint gen verify demo bench clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/cvmtail ./cmd/cvmtail

# The end-to-end tests need root and OpenSSH sshd (internal/testenv/sshdcvm); without them
# they skip, unless CVMTAIL_E2E=1 makes that a failure.
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# Falls back to go vet and gofmt when the pinned golangci-lint cannot be installed (offline).
lint:
	@if ! "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo "make lint: installing golangci-lint $(GOLANGCI_LINT_VERSION) into bin/"; \
		GOBIN="$(BIN)" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) || true; \
	fi
	@if "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo "$(GOLANGCI_LINT) run ./..."; \
		"$(GOLANGCI_LINT)" run ./...; \
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

demo:
	@echo "make demo: not yet: the simulated cluster (cmd/cvmtail-lab) comes in a later task" >&2; exit 1

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# Keeps bin/golangci-lint: it is pinned and slow to build.
clean:
	rm -rf bin/cvmtail dist coverage.out
