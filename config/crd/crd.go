// Package crd embeds the CustomResourceDefinitions controller-gen writes into this folder,
// for code that needs the API server's view of them offline: `vigil template` applies the
// ExternalSecret schema's defaults as the API server would on create.
package crd

import _ "embed"

// ExternalSecrets is the ExternalSecret CRD (external-secrets.io v1 and v1beta1).
//
//go:embed external-secrets.io_externalsecrets.yaml
var ExternalSecrets []byte
