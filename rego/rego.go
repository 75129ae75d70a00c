// Package rego embeds Vigil's built-in policy library: one rule per file, each a package
// under vigil.rules with a `violation` set and METADATA (title, description and, under
// custom, the rule id, default action and remediation), plus the shared helpers of lib.rego.
// The _test.rego files are the rules' unit tests; `go test ./rego` runs them.
package rego

import "embed"

// Library holds the built-in rules (and their tests, which the policy engine skips).
//
//go:embed *.rego
var Library embed.FS
