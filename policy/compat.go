package policy

import (
	"encoding/json"
	"fmt"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Vigil is stricter than ESO in a few places. A manifest that ESO accepts must apply on
// Vigil too (users migrate with their manifests unchanged), so these checks are admission
// warnings, not schema errors; the controller then behaves as documented in each message.

// compatWarnings returns the warnings for an object of kind whose JSON is raw.
func compatWarnings(kind string, raw []byte) []string {
	switch kind {
	case "PushSecret", "ClusterPushSecret":
		return []string{kind + " is not implemented by Vigil yet: nothing is pushed (see docs/providers.md)"}
	case esv1.ExternalSecretKind:
		var es esv1.ExternalSecret
		if json.Unmarshal(raw, &es) != nil {
			return nil
		}
		return duplicateKeyWarnings(es.Spec.Data)
	case esv1.SecretStoreKind, esv1.ClusterSecretStoreKind:
		var s esv1.SecretStore // same spec for both kinds
		if json.Unmarshal(raw, &s) != nil || s.Spec.Provider == nil || s.Spec.Provider.AWS == nil {
			return nil
		}
		if a := s.Spec.Provider.AWS.Auth; a.SecretRef != nil && a.JWTAuth != nil {
			return []string{"spec.provider.aws.auth sets both secretRef and jwt: secretRef is used and jwt is ignored; " +
				"remove one of them"}
		}
	}
	return nil
}

// duplicateKeyWarnings names each data[].secretKey written by more than one entry.
func duplicateKeyWarnings(data []esv1.ExternalSecretData) []string {
	first := map[string]int{}
	var out []string
	for i, d := range data {
		j, seen := first[d.SecretKey]
		if !seen {
			first[d.SecretKey] = i
			continue
		}
		out = append(out, fmt.Sprintf("spec.data[%d] and spec.data[%d] both write secretKey %q: the last entry wins; "+
			"rename one of them", j, i, d.SecretKey))
	}
	return out
}
