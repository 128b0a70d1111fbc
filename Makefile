# typekro — build, test and release. Every tool the tests need is built into
# .cache/ (git-ignored) by these targets; nothing is downloaded as a binary.
ROOT  := $(abspath .)
CACHE := $(ROOT)/.cache
BIN   := $(ROOT)/bin
GO    ?= go
export GOTOOLCHAIN := local

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/typekro/kubectl-typekro/internal/cli.Version=$(VERSION)

all: build

-include make/*.mk

.PHONY: all build test unit lint vet fmt-check bench fuzz fuzz-short generate clean bootstrap-gen-test flect-test examples-test


build: ## build bin/kubectl-typekro
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-typekro ./cmd/kubectl-typekro

unit: ## unit, golden and KRO-builder tests of the product module
	$(GO) test -count=1 ./...

lint: vet fmt-check

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# make test: lint, unit tests, then everything that needs real tools
# (the cluster e2e suite, kustomize, krew validation) — see make/*.mk.
test: lint unit bootstrap-gen-test flect-test examples-test $(TEST_EXTRA)

# Every example's Test documents, run by the built binary as users run them.
examples-test: build
	$(BIN)/kubectl-typekro test examples/

# The embedded KRO manifests (pkg/bootstrap) are byte for byte what Helm
# renders from KRO's chart; the generator is its own module (Helm stays out
# of the product), so ./... does not reach its test.
bootstrap-gen-test:
	cd pkg/bootstrap/gen && $(GO) test -count=1 .

# third_party/flect is a fork (lazy tables, no working-directory data) and
# its own module: its upstream tests plus the fork's run here.
flect-test:
	cd third_party/flect && $(GO) test -count=1 .

bench: build ## Go benchmarks of render/validate, plus start-up time
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./internal/...
	@scripts/bench.sh $(BIN)/kubectl-typekro

# Go fuzzes one target per run: each gets FUZZTIME. Crashers land in the
# package's testdata/fuzz and then run with the unit tests: `make unit` runs
# every target's seeds and saved crashers. Random fuzzing stays out of
# `make test` on purpose: CI must give the same verdict on the same commit.
FUZZTIME ?= 30s
# Minimizing each new-coverage input of the compiler (tens of KB, ~0.1s a
# run) would otherwise take most of FUZZTIME.
FUZZMINIMIZE ?= 50x
FUZZ_TARGETS := FuzzDecode:./internal/fastyaml FuzzParse:./pkg/composition FuzzFactory:./pkg/factories FuzzCompile:./pkg/compile FuzzDirectRender:./pkg/direct

fuzz: ## fuzz the loader, factories, compiler and direct render (FUZZTIME each, default 30s)
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $${t#*:}; \
	done

# All targets at once: building and linking four instrumented test binaries
# one after another takes longer than the fuzzing itself.
fuzz-short: ## a short fuzz run (5s per target, concurrently), e.g. before a commit
	@set -e; pids=; for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime 5s -fuzzminimizetime $(FUZZMINIMIZE) -parallel 1 $${t#*:} & pids="$$pids $$!"; \
	done; for p in $$pids; do wait $$p; done

generate: ## regenerate embedded schemas
	$(GO) generate ./pkg/...

clean:
	rm -rf $(BIN) dist

