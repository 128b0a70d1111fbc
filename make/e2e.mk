# e2e.mk: local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok as fake kubelet, KRO) built
# from Go modules and run on 127.0.0.1, plus the e2e test run against it.
# See e2e/README.md.
#
# Included by the root Makefile; also usable on its own:
#   make -f make/e2e.mk e2e-tools

E2E_MK_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ROOT  ?= $(abspath $(E2E_MK_DIR)/..)
CACHE ?= $(ROOT)/.cache
GO    ?= go
export GOTOOLCHAIN = local

E2E_DIR   := $(ROOT)/e2e
E2E_STATE ?= $(CACHE)/cluster

# Versions: kubernetes and etcd come from the go.mod of the module that builds
# them, kwok and KRO are installed with `go install pkg@version`.
e2e_modver   = $(shell awk '{for (i = 1; i < NF; i++) if ($$i == "$(1)") {print $$(i+1); exit}}' $(2))
K8S_VERSION  := $(call e2e_modver,k8s.io/kubernetes,$(E2E_DIR)/tools/go.mod)
ETCD_VERSION := $(call e2e_modver,go.etcd.io/etcd/server/v3,$(E2E_DIR)/tools/etcd/go.mod)
KWOK_VERSION ?= v0.8.0
KRO_VERSION  ?= v0.9.4
FLUX_VERSION := $(call e2e_modver,github.com/fluxcd/source-controller,$(E2E_DIR)/tools/flux-source/go.mod)

E2E_TOOLS := $(CACHE)/tools
K8S_DIR   := $(E2E_TOOLS)/k8s-$(K8S_VERSION)
ETCD_DIR  := $(E2E_TOOLS)/etcd-$(ETCD_VERSION)
KWOK_DIR  := $(E2E_TOOLS)/kwok-$(KWOK_VERSION)
KRO_DIR   := $(E2E_TOOLS)/kro-$(KRO_VERSION)
FLUX_DIR  := $(E2E_TOOLS)/flux-$(FLUX_VERSION)

E2E_CLUSTER := $(CACHE)/e2e/bin/cluster
E2E_KUBECTL := $(K8S_DIR)/bin/kubectl
E2E_CLUSTER_FLAGS = --state-dir=$(E2E_STATE) \
	--kube-bin-dir=$(K8S_DIR)/bin --etcd=$(ETCD_DIR)/bin/etcd \
	--kwok=$(KWOK_DIR)/bin/kwok --kwok-stages=$(KWOK_DIR)/stages \
	--kwok-manifests=$(KWOK_DIR)/manifests \
	--kro=$(KRO_DIR)/bin/controller --kro-crds=$(KRO_DIR)/crds \
	--flux-bin-dir=$(FLUX_DIR)/bin --flux-crds=$(FLUX_DIR)/crds
E2E_TEST_FLAGS ?=
E2E_LOG_TAIL   ?= 40

# Version stamps for the kubernetes binaries (see hack/lib/version.sh).
K8S_MINOR   = $(word 2,$(subst ., ,$(K8S_VERSION)))
K8S_LDFLAGS = -s -w $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=$(K8S_MINOR) \
	-X $(p).gitTreeState=clean -X $(p).buildDate=1970-01-01T00:00:00Z)

# Prints the module directory of $(1)@$(2) from the module cache.
e2e_moddir = $$(cd $(E2E_DIR)/tools && $(GO) mod download -json $(1)@$(2) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')

# `make test` runs the e2e suite too (the root Makefile's test target depends
# on $(TEST_EXTRA)).
TEST_EXTRA += e2e

.PHONY: e2e-tools e2e-cluster-bin cluster-up cluster-down cluster-status cluster-restart-apiserver e2e

e2e-tools: $(K8S_DIR)/.built $(ETCD_DIR)/.built $(KWOK_DIR)/.built $(KRO_DIR)/.built $(FLUX_DIR)/.built

# Each tool is built into a private temporary directory that is renamed into
# place at the end, so an interrupted build or two concurrent `make
# e2e-tools` never leave a half-filled directory behind a stamp.
e2e_begin = set -e; tmp=$(1).tmp.$$$$; trap 'rm -rf $$tmp' EXIT; rm -rf $$tmp; mkdir -p $$tmp/bin
e2e_end   = touch $$tmp/.built; rm -rf $(1); mv $$tmp $(1)

$(K8S_DIR)/.built:
	@echo "e2e-tools: building kubernetes $(K8S_VERSION) (apiserver, controller-manager, scheduler, kubectl); cold build takes ~10 min"
	@$(call e2e_begin,$(K8S_DIR)); \
	cd $(E2E_DIR)/tools && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o $$tmp/bin/ ./cmd/...; \
	$(call e2e_end,$(K8S_DIR))

$(ETCD_DIR)/.built:
	@echo "e2e-tools: building etcd $(ETCD_VERSION)"
	@$(call e2e_begin,$(ETCD_DIR)); \
	cd $(E2E_DIR)/tools/etcd && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $$tmp/bin/etcd .; \
	$(call e2e_end,$(ETCD_DIR))

# kwok needs stage definitions; take them from its module so they match the binary.
$(KWOK_DIR)/.built:
	@echo "e2e-tools: building kwok $(KWOK_VERSION)"
	@$(call e2e_begin,$(KWOK_DIR)); mkdir -p $$tmp/stages $$tmp/manifests; \
	CGO_ENABLED=0 GOBIN=$$tmp/bin $(GO) install -trimpath -ldflags '-s -w' sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION); \
	dir=$(call e2e_moddir,sigs.k8s.io/kwok,$(KWOK_VERSION)); s=$$dir/kustomize/stage; \
	cp $$s/node/fast/node-initialize.yaml $$s/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
	   $$s/pod/fast/pod-ready.yaml $$s/pod/fast/pod-complete.yaml $$s/pod/fast/pod-delete.yaml $$tmp/stages/; \
	for f in pv-bind pv-delete pvc-provision pvc-delete; do \
	  if [ -f $$s/volume/fast/$$f.yaml ]; then cp $$s/volume/fast/$$f.yaml $$tmp/stages/; fi; \
	done; \
	if [ -f $$s/volume/fast/storage-class.yaml ]; then cp $$s/volume/fast/storage-class.yaml $$tmp/manifests/; fi; \
	chmod -R u+w $$tmp; \
	$(call e2e_end,$(KWOK_DIR))

$(KRO_DIR)/.built:
	@echo "e2e-tools: building kro controller $(KRO_VERSION)"
	@$(call e2e_begin,$(KRO_DIR)); mkdir -p $$tmp/crds; \
	CGO_ENABLED=0 GOBIN=$$tmp/bin $(GO) install -trimpath -ldflags '-s -w' github.com/kubernetes-sigs/kro/cmd/controller@$(KRO_VERSION); \
	dir=$(call e2e_moddir,github.com/kubernetes-sigs/kro,$(KRO_VERSION)); \
	cp $$dir/helm/crds/*.yaml $$tmp/crds/; chmod -R u+w $$tmp; \
	$(call e2e_end,$(KRO_DIR))

# Flux's source-controller and kustomize-controller, each from a wrapper
# module (e2e/tools/flux-*) that carries the replaces of the controller's own
# go.mod. -mod=mod: `go mod tidy` fails on the controllers' test-only
# dependencies the proxy does not serve; the committed go.sum pins the rest.
# Cold build: 32 and 24 min wall clock on the shared, loaded 2 cores
# (e2e/README.md, "Measured"). CRDs from each module's
# config/crd/bases (the six source kinds and Kustomization).
$(FLUX_DIR)/.built:
	@echo "e2e-tools: building flux source-controller and kustomize-controller $(FLUX_VERSION); a cold build takes tens of minutes on 2 cores"
	@$(call e2e_begin,$(FLUX_DIR)); mkdir -p $$tmp/crds; \
	for c in source kustomize; do \
	  ( cd $(E2E_DIR)/tools/flux-$$c && CGO_ENABLED=0 $(GO) build -mod=mod -trimpath -ldflags '-s -w' \
	      -o $$tmp/bin/$$c-controller github.com/fluxcd/$$c-controller ); \
	  dir=$$(cd $(E2E_DIR)/tools/flux-$$c && $(GO) list -mod=mod -m -f '{{.Dir}}' github.com/fluxcd/$$c-controller); \
	  cp $$dir/config/crd/bases/*.yaml $$tmp/crds/; \
	done; chmod -R u+w $$tmp; \
	$(call e2e_end,$(FLUX_DIR))

# The cluster CLI is rebuilt every time (a no-op when the Go build cache is warm).
e2e-cluster-bin:
	@cd $(E2E_DIR) && $(GO) build -o $(E2E_CLUSTER) ./cmd/cluster

cluster-up: e2e-tools e2e-cluster-bin
	@$(E2E_CLUSTER) up $(E2E_CLUSTER_FLAGS)

cluster-down: e2e-cluster-bin
	@$(E2E_CLUSTER) down --state-dir=$(E2E_STATE)

cluster-status: e2e-cluster-bin
	@$(E2E_CLUSTER) status --state-dir=$(E2E_STATE)

# Restarts the kube-apiserver of the running cluster (same port, PKI, data).
cluster-restart-apiserver: e2e-cluster-bin
	@$(E2E_CLUSTER) restart --state-dir=$(E2E_STATE) --component=kube-apiserver

# Starts a fresh cluster, runs the e2e module's tests against it and always
# stops the cluster again; the exit code is the one of `cluster up` or `go test`.
e2e: e2e-tools e2e-cluster-bin build
	@rc=0; \
	trap '$(E2E_CLUSTER) down --state-dir=$(E2E_STATE); exit 130' INT TERM; \
	$(E2E_CLUSTER) up $(E2E_CLUSTER_FLAGS) || rc=$$?; \
	if [ $$rc -eq 0 ]; then \
	  ( cd $(E2E_DIR) && KUBECONFIG=$(abspath $(E2E_STATE))/kubeconfig \
	    TYPEKRO_BIN=$(ROOT)/bin/kubectl-typekro KUBECTL=$(E2E_KUBECTL) \
	    E2E_CLUSTER=$(E2E_CLUSTER) E2E_STATE=$(abspath $(E2E_STATE)) \
	    $(GO) test -count=1 -timeout 20m $(E2E_TEST_FLAGS) ./... ) || rc=$$?; \
	  if [ $$rc -ne 0 ]; then $(E2E_CLUSTER) logs --state-dir=$(E2E_STATE) --tail=$(E2E_LOG_TAIL); fi; \
	fi; \
	$(E2E_CLUSTER) down --state-dir=$(E2E_STATE) || true; \
	exit $$rc
