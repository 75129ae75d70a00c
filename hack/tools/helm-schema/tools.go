//go:build tools

// Package helmschema pins helm-values-schema-json, which writes charts/vigil/values.schema.json
// from the @schema annotations of values.yaml in `make generate`.
package helmschema

import _ "github.com/losisin/helm-values-schema-json/v2"
