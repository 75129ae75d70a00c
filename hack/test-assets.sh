#!/usr/bin/env bash
# Builds the real parts the tests run against and links them into bin/.
#
# The binaries are slow to build (kube-apiserver about 8 minutes on two cores), so they live
# in a per-user cache outside the clone, keyed by version, and a fresh clone only links them.
# Each step is skipped when its output is already there.
#
# Usage: hack/test-assets.sh [part...] sets up the named parts only (k8s promtool helm vault
# postgresql ldap moto chartdocs); with none, all of them (`make test`). `make demo` asks for the three it
# uses: k8s, promtool, moto. The linter is a part of its own, never set up by default:
# `make lint` asks for golangci-lint; so is ESO, which only `make bench-eso` builds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}
k8s_version=v1.37.2
etcd_version=v3.6.8
moto_version=5.2.5
prometheus_version=v0.316.0
helm_version=v3.22.0
helm_docs_version=v1.14.2
helm_schema_version=v2.2.1
vault_version=v1.21.0

log() { printf '[test-assets] %s\n' "$*" >&2; }

# build_tool NAME MODULE_DIR PACKAGE OUT EXPECTED
build_tool() {
  local name=$1 dir=$2 pkg=$3 out=$4 expected=$5
  if [ -x "$out" ]; then
    log "$name: cached at $out"
    return
  fi
  log "$name: building $pkg from Go modules (first time only; usually $expected on two cores)..."
  local start=$SECONDS
  mkdir -p "$(dirname "$out")"
  (cd "$root/$dir" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  log "$name: built in $((SECONDS - start))s"
}

link() { mkdir -p "$(dirname "$2")"; ln -sfn "$1" "$2"; }

setup_k8s() {
  local k8s_dir=$cache/k8s-$k8s_version-etcd-$etcd_version
  build_tool etcd hack/tools/etcd . "$k8s_dir/etcd" "under a minute"
  build_tool kube-apiserver hack/tools/kube k8s.io/kubernetes/cmd/kube-apiserver "$k8s_dir/kube-apiserver" "about 8 minutes"
  # kube-controller-manager runs the garbage collector (owned Secrets go with their
  # ExternalSecret) and the Deployment controller (rollouts) against the test API server.
  build_tool kube-controller-manager hack/tools/kube k8s.io/kubernetes/cmd/kube-controller-manager \
    "$k8s_dir/kube-controller-manager" "about 2 minutes"
  local b
  for b in etcd kube-apiserver kube-controller-manager; do
    [ -x "$k8s_dir/$b" ] && link "$k8s_dir/$b" "$root/bin/k8s/$b"
  done
}

# promtool checks and unit-tests the shipped alert rules (make test-alerts).
setup_promtool() {
  local prom_dir=$cache/promtool-$prometheus_version
  build_tool promtool hack/tools/promtool github.com/prometheus/prometheus/cmd/promtool \
    "$prom_dir/promtool" "about 5 minutes"
  link "$prom_dir/promtool" "$root/bin/promtool"
}

# helm lints and renders charts/vigil in the chart tests (test/chart).
setup_helm() {
  local helm_dir=$cache/helm-$helm_version
  build_tool helm hack/tools/helm helm.sh/helm/v3/cmd/helm "$helm_dir/helm" "about 3 minutes"
  link "$helm_dir/helm" "$root/bin/helm"
}

# vault serves the Vault provider's tests (`vault server -dev`, in memory, on loopback).
setup_vault() {
  local vault_dir=$cache/vault-$vault_version
  build_tool vault hack/tools/vault github.com/hashicorp/vault "$vault_dir/vault" "about 14 minutes"
  link "$vault_dir/vault" "$root/bin/vault"
}

# helm-docs and helm-values-schema-json write the chart's README.md and values.schema.json
# from the annotated values.yaml (`make generate` runs `hack/test-assets.sh chartdocs`).
setup_chartdocs() {
  local docs=$cache/helm-docs-$helm_docs_version schema=$cache/helm-values-schema-json-$helm_schema_version
  build_tool helm-docs hack/tools/helm-docs github.com/norwoodj/helm-docs/cmd/helm-docs \
    "$docs/helm-docs" "under a minute"
  link "$docs/helm-docs" "$root/bin/helm-docs"
  build_tool helm-values-schema-json hack/tools/helm-schema github.com/losisin/helm-values-schema-json/v2 \
    "$schema/helm-values-schema-json" "under a minute"
  link "$schema/helm-values-schema-json" "$root/bin/helm-values-schema-json"
}

# golangci-lint runs in `make lint` (and so `make verify`). Its version is the one
# hack/tools/golangci-lint/go.mod pins, so the cache key cannot drift from the module.
setup_golangci-lint() {
  local version
  version=$(sed -n 's|^require github.com/golangci/golangci-lint/v2 \(v[^ ]*\)$|\1|p' \
    "$root/hack/tools/golangci-lint/go.mod")
  : "${version:?hack/tools/golangci-lint/go.mod pins no golangci-lint version}"
  local lint_dir=$cache/golangci-lint-$version
  build_tool golangci-lint hack/tools/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint \
    "$lint_dir/golangci-lint" "about 10 minutes"
  link "$lint_dir/golangci-lint" "$root/bin/golangci-lint"
}

# ESO itself, for `make bench-eso` only: its controller built from its Go module at the
# release hack/tools/eso/go.mod pins (with the replace ESO's own go.mod has), and its CRDs
# from the same module, linked into bin/eso.
setup_eso() {
  local version
  version=$(sed -n 's|^require github.com/external-secrets/external-secrets \(v[^ ]*\)$|\1|p' \
    "$root/hack/tools/eso/go.mod")
  : "${version:?hack/tools/eso/go.mod pins no external-secrets version}"
  local eso_dir=$cache/eso-$version
  build_tool external-secrets hack/tools/eso github.com/external-secrets/external-secrets \
    "$eso_dir/external-secrets" "about 15 minutes: ESO builds every provider it ships"
  if [ ! -d "$eso_dir/crds" ]; then
    local src
    src=$(cd "$root/hack/tools/eso" && go list -m -f '{{.Dir}}' github.com/external-secrets/external-secrets)
    mkdir -p "$eso_dir/crds.tmp"
    cp "$src"/config/crds/bases/*external-secrets.io_*.yaml "$eso_dir/crds.tmp/"
    chmod -R u+w "$eso_dir/crds.tmp"
    mv "$eso_dir/crds.tmp" "$eso_dir/crds"
  fi
  echo "$version" > "$eso_dir/VERSION"
  link "$eso_dir" "$root/bin/eso"
}

# PostgreSQL (Debian's package) backs Vault's database secrets engine in the
# VaultDynamicSecret test; the harness runs its own server on a loopback port.
setup_postgresql() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "postgresql: installing Debian's postgresql package (about a minute)..."
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  log "postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
}

# OpenLDAP's slapd (Debian's slapd package) backs Vault's ldap auth method in the Vault
# provider's tests; the harness runs its own slapd with a temporary configuration on a
# loopback port, never the system service (the package's postinst leaves it unstarted here).
setup_ldap() {
  if ! [ -x /usr/sbin/slapd ] || ! [ -x /usr/sbin/slapadd ] || ! [ -f /etc/ldap/schema/inetorgperson.schema ]; then
    log "ldap: installing Debian's slapd and ldap-utils (about a minute)..."
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null
  fi
  log "ldap: $(/usr/sbin/slapd -VVV 2>&1 | head -1)"
}

# moto serves AWS (Secrets Manager, SSM, STS, IAM) on loopback for the tests.
setup_moto() {
  local venv=$root/.venv
  if ! "$venv/bin/python" -c "import moto, flask" >/dev/null 2>&1; then
    log "moto: installing moto[server]==$moto_version into .venv (about a minute)..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
  fi
  log "moto: $("$venv/bin/python" -c 'import moto; print(moto.__version__)') in .venv"
}

all_parts="k8s promtool helm vault postgresql ldap moto chartdocs"
for part in ${*:-$all_parts}; do
  case " $all_parts golangci-lint eso " in
    *" $part "*) "setup_$part" ;;
    *) log "unknown part $part (known: $all_parts golangci-lint eso)"; exit 2 ;;
  esac
done
log "ready: KUBEBUILDER_ASSETS=$root/bin/k8s"
