//go:build tools

// Package promtool pins promtool.
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
