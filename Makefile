# Vigil's build, generation, test and demo entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

BIN            := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
# test/e2e, the longest package, runs its serial tests and then its independent ones four
# at a time (they mostly wait on the controller, so more than GOMAXPROCS pays off): about
# 4 minutes on a 2-core machine at load 20. The timeout leaves room for a machine several
# times busier; a hung test still ends as a timeout panic with every goroutine's stack.
GO_TEST_FLAGS  ?= -count=1 -timeout 20m -parallel 4
export KUBEBUILDER_ASSETS := $(BIN)/k8s
export VIGIL_MOTO := $(CURDIR)/.venv/bin/moto_server

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/vigil.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/vigil ./cmd/vigil

$(CONTROLLER_GEN): hack/tools/gen/go.mod
	cd hack/tools/gen && go build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate v1beta1 types, deepcopy, CRDs (config/crd, with ESO's schema for the providers and generators Vigil does not implement), RBAC (config/rbac), the chart's copies of them, the alerts and dashboard (alerts/, the chart's) and docs/configuration.md.
	./hack/gen-v1beta1.sh
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false paths=./api/... output:crd:artifacts:config=config/crd
	go run ./hack/eso-schemas
	$(CONTROLLER_GEN) rbac:roleName=vigil-controller paths=./controllers/... output:rbac:artifacts:config=config/rbac
	go run ./hack/chart-sync
	go run ./hack/alerts-gen
	$(MAKE) --no-print-directory chart-docs
	go test ./cmd/vigil -run '^TestConfigurationReference$$' -update -count=1 >/dev/null

# The chart's values.schema.json and README.md are generated from the annotations of its
# values.yaml (`# --` for helm-docs, `# @schema` for helm-values-schema-json).
.PHONY: chart-docs
chart-docs: ## Regenerate charts/vigil/values.schema.json and README.md from values.yaml.
	./hack/test-assets.sh chartdocs
	cd charts/vigil && $(BIN)/helm-values-schema-json --use-helm-docs --draft 7 --indent 2 \
	  --schema-root.additional-properties=false --schema-root.title "Vigil Helm values" \
	  -f values.yaml -o values.schema.json >/dev/null
	$(BIN)/helm-docs --chart-search-root charts/vigil --template-files README.md.gotmpl --log-level warning

.PHONY: verify
verify: generate ## Fail when generated files, go.mod or formatting drift from the sources, or `make lint` finds anything.
	go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	$(MAKE) --no-print-directory lint
	@if [ -d ../shared/fixtures/seed ] && ! diff -r ../shared/fixtures/seed test/fixtures/seed; then \
	  echo "test/fixtures/seed differs from shared/fixtures/seed: copy the shared seed manifests again."; exit 1; fi
	@if [ -n "$$(git status --porcelain -- alerts api config charts docs go.mod go.sum)" ]; then \
	  echo "Generated files or go.mod differ from what 'make generate' / 'go mod tidy' produce:"; \
	  git status --porcelain -- alerts api config charts docs go.mod go.sum; git diff --stat -- alerts api config charts docs go.mod go.sum; \
	  echo "Run 'make generate && go mod tidy' and commit the result."; exit 1; fi

.PHONY: lint
lint: ## Run golangci-lint with .golangci.yml (built into ~/.cache/vigil the first time, a few minutes).
	./hack/test-assets.sh golangci-lint
	$(BIN)/golangci-lint run ./...

.PHONY: test-assets
test-assets: ## Build kube-apiserver, etcd, kube-controller-manager, promtool, helm, vault (cached per user); install moto into .venv and PostgreSQL (Debian) if missing.
	./hack/test-assets.sh

.PHONY: test-alerts
test-alerts: test-assets ## promtool check rules and the promtool unit tests of every shipped alert.
	go test $(GO_TEST_FLAGS) ./alerts/...

.PHONY: test
test: test-assets test-alerts ## Run every test against the real control plane, moto, Vault, PostgreSQL and promtool.
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v -e '/alerts$$' -e '/test/bench$$' -e '/test/esobench$$')
	# The providers' shared caches and readers are concurrent code: run them under the race
	# detector too (providers only, to keep CI's time).
	go test -race $(GO_TEST_FLAGS) ./providers/...

# Each fuzz target runs alone (go test allows one -fuzz per package and run). CI runs them
# for FUZZTIME each; run longer on demand: make fuzz FUZZTIME=10m.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./providers:FuzzSelectProperty ./controllers/externalsecret:FuzzRenderTemplate \
                ./controllers/externalsecret:FuzzNoValueInMessages \
                ./policy:FuzzActionMatches ./policy:FuzzIAMDocument \
                ./policy:FuzzResourceGlob ./policy:FuzzGlobSearch ./providers:FuzzCheckKey

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (10s; e.g. make fuzz FUZZTIME=5m).
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzzing $$name in $$pkg for $(FUZZTIME)"; \
	  go test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) >/tmp/vigil-fuzz.$$$$.log 2>&1 || { cat /tmp/vigil-fuzz.$$$$.log; exit 1; }; \
	  tail -1 /tmp/vigil-fuzz.$$$$.log; \
	done

.PHONY: bench
bench: test-assets ## Run the benchmarks (about an hour); each reports ratios against a baseline measured in the same run.
	go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 120m ./test/bench/

.PHONY: bench-shards
bench-shards: test-assets ## Run only the sharding benchmark: per-replica peak RSS on 1, 2 and 4 replicas (VIGIL_BENCH_SHARDS=1000 for a quick look).
	go test -count=1 -run '^$$' -bench BenchmarkShards -benchtime 1x -timeout 60m ./test/bench/

.PHONY: bench-eso
bench-eso: ## Compare Vigil with ESO (built from its Go module; about 15 minutes the first time) on 1,000 ExternalSecrets in moto.
	./hack/test-assets.sh k8s moto eso
	go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/esobench/

.PHONY: demo-assets
demo-assets: ## Set up only what make demo uses: kube-apiserver, etcd, kube-controller-manager, promtool, moto.
	./hack/test-assets.sh k8s promtool moto

.PHONY: demo
demo: build demo-assets ## Run Vigil on a local control plane with moto and the seed manifests (Ctrl-C stops it).
	go build -o $(BIN)/vigil-demo ./cmd/vigil-demo
	$(BIN)/vigil-demo $(DEMO_FLAGS)

.PHONY: clean
clean: ## Remove bin/ (the per-user build cache stays).
	rm -rf $(BIN)
