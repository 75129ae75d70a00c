//go:build tools

// Package helm pins the helm CLI that lints and renders charts/vigil in `make test`.
package helm

import _ "helm.sh/helm/v3/cmd/helm"
