package policy

import (
	"encoding/json"
	"fmt"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// Vigil is stricter than ESO in a few places. A manifest that ESO accepts must apply on
// Vigil too (users migrate with their manifests unchanged), so these checks are admission
// warnings, not schema errors; the controller then behaves as documented in each message.

// compatWarnings returns the warnings for an object of kind whose JSON is raw.
func compatWarnings(kind string, raw []byte) []string {
	switch kind {
	case "ClusterPushSecret":
		return []string{kind + " is not implemented by Vigil yet: nothing is pushed (see docs/pushsecret.md)"}
	case "PushSecret":
		var ps esv1alpha1.PushSecret
		if json.Unmarshal(raw, &ps) != nil {
			return nil
		}
		return pushSecretWarnings(&ps)
	case esv1.ExternalSecretKind:
		var es esv1.ExternalSecret
		if json.Unmarshal(raw, &es) != nil {
			return nil
		}
		return append(duplicateKeyWarnings(es.Spec.Data), specWarnings(&es.Spec)...)
	case "Password":
		return passwordWarnings(raw)
	case "ECRAuthorizationToken":
		return ecrWarnings(raw)
	case esv1.SecretStoreKind, esv1.ClusterSecretStoreKind:
		var s esv1.SecretStore // same spec for both kinds
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		if w := refreshWarnings(s.Spec.RefreshInterval); w != nil || s.Spec.Provider == nil || s.Spec.Provider.AWS == nil {
			return w
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

// pushSecretWarnings names the fields of a PushSecret that the controller refuses (its
// Ready condition then says the same): ESO accepts them, so they are admitted.
func pushSecretWarnings(ps *esv1alpha1.PushSecret) []string {
	var out []string
	if len(ps.Spec.DataTo) > 0 {
		out = append(out, "spec.dataTo is not supported by this version of Vigil: the PushSecret is not pushed; "+
			"list the keys to push in spec.data (see docs/pushsecret.md)")
	}
	if s := ps.Spec.Selector.Secret; s != nil && s.Name == "" {
		out = append(out, "spec.selector.secret.selector (a label selector over Secrets) is not supported by this "+
			"version of Vigil: the PushSecret is not pushed; name one Secret in spec.selector.secret.name")
	}
	return out
}
