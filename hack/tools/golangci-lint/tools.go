//go:build tools

// Package golangcilint pins golangci-lint, which `make lint` (and so `make verify`) runs.
package golangcilint

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
