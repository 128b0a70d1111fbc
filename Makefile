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

.PHONY: all build test unit lint vet fmt-check bench fuzz generate clean


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
test: lint unit $(TEST_EXTRA)

bench: build ## Go benchmarks of render/validate, plus start-up time
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./internal/...
	@scripts/bench.sh $(BIN)/kubectl-typekro

fuzz: ## fuzz the loader for 30s
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pkg/composition

generate: ## regenerate embedded schemas
	$(GO) generate ./pkg/...

clean:
	rm -rf $(BIN) dist

