# gitops.mk: the GitOps integrations tested with the real tools, and releases.
#
#   make gitops-test   kustomize (standalone v5.8.2 and kubectl's kustomize) with the KRM
#                      function, the Argo CD CMP commands and health Lua, the Dockerfiles'
#                      build stages, krew's validator and installer on a release
#   make release VERSION=v0.1.0
#                      dist/kubectl-typekro_<os>_<arch>.tar.gz + plugins/krew.yaml
#
# Tools are built from the Go module proxy into $(CACHE)/tools, once per version.
# Included by the root Makefile (before its test rule).

GITOPS_MK_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ROOT  ?= $(abspath $(GITOPS_MK_DIR)/..)
CACHE ?= $(ROOT)/.cache
BIN   ?= $(ROOT)/bin
GO    ?= go
export GOTOOLCHAIN = local

KUSTOMIZE_VERSION := v5.8.2
KREW_VERSION      := v0.4.3
KUSTOMIZE         := $(CACHE)/tools/kustomize-$(KUSTOMIZE_VERSION)/kustomize
KREW_DIR          := $(CACHE)/tools/krew-$(KREW_VERSION)
KREW              := $(KREW_DIR)/krew
KREW_VALIDATE     := $(KREW_DIR)/validate-krew-manifest
GITOPS_BIN        := $(CACHE)/gitops/bin
KUBECTL_KUSTOMIZE := $(GITOPS_BIN)/kubectl-kustomize
GITOPS_TEST_DIR   := $(ROOT)/plugins/test
GITOPS_TEST_FLAGS ?=

.PHONY: gitops-tools gitops-test gitops-bench release

$(KUSTOMIZE):
	@echo "gitops: installing kustomize $(KUSTOMIZE_VERSION)"
	@GOBIN=$(dir $@) CGO_ENABLED=0 $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(KREW) $(KREW_VALIDATE):
	@echo "gitops: installing krew and validate-krew-manifest $(KREW_VERSION)"
	@GOBIN=$(KREW_DIR) CGO_ENABLED=0 $(GO) install sigs.k8s.io/krew/cmd/krew@$(KREW_VERSION) sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION)

# kubectl's own kustomize command (k8s.io/kubectl), to show what kubectl does
# with exec functions; rebuilt every time (a no-op with a warm cache).
$(KUBECTL_KUSTOMIZE): FORCE_GITOPS
	@cd $(GITOPS_TEST_DIR) && $(GO) build -o $@ ./kubectlkustomize

.PHONY: FORCE_GITOPS
FORCE_GITOPS:

gitops-tools: $(KUSTOMIZE) $(KREW) $(KREW_VALIDATE) $(KUBECTL_KUSTOMIZE)

gitops-test: build gitops-tools
	@cd $(GITOPS_TEST_DIR) && $(GO) vet ./...
	@cd $(GITOPS_TEST_DIR) && TYPEKRO_BIN=$(BIN)/kubectl-typekro KUSTOMIZE=$(KUSTOMIZE) \
	  KUBECTL_KUSTOMIZE=$(KUBECTL_KUSTOMIZE) KREW=$(KREW) KREW_VALIDATE=$(KREW_VALIDATE) \
	  $(GO) test -count=1 -timeout 30m $(GITOPS_TEST_FLAGS) ./...

# Timings for the report: kustomize build with and without the function, fn alone.
gitops-bench: build gitops-tools
	@cd $(GITOPS_TEST_DIR) && TYPEKRO_BIN=$(BIN)/kubectl-typekro KUSTOMIZE=$(KUSTOMIZE) \
	  KUBECTL_KUSTOMIZE=$(KUBECTL_KUSTOMIZE) $(GO) test -run '^$$' -bench . -benchtime 10x ./...

release:
	@VERSION=$(VERSION) GO=$(GO) $(ROOT)/scripts/release.sh

TEST_EXTRA += gitops-test
