//go:build tools

// Package eso pins the External Secrets Operator release that `make bench-eso` compares
// Vigil with. It is built from ESO's own Go module, with all its providers, as ESO ships it.
package eso

import _ "github.com/external-secrets/external-secrets"
