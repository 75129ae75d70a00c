//go:build tools

// Package vault pins the Vault server.
package vault

import _ "github.com/hashicorp/vault"
