//go:build tools

// Package helmdocs pins helm-docs, which writes charts/vigil/README.md from the annotated
// values.yaml in `make generate`.
package helmdocs

import _ "github.com/norwoodj/helm-docs/cmd/helm-docs"
