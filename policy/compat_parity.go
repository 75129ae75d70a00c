package policy

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// These warnings cover what ESO's CRDs accept and Vigil's controller refuses at sync (Vigil's
// CRDs accept it too, so that ESO manifests apply): the message says what will happen and
// how to fix it before the first sync fails.

// specWarnings names the ExternalSecret settings the controller refuses
// (controllers/externalsecret/conflicts.go). An empty remote key is refused by the policy
// rule externalsecret-key-not-normalized already.
func specWarnings(spec *esv1.ExternalSecretSpec) []string {
	var out []string
	creation := spec.Target.CreationPolicy
	if creation == "" {
		creation = esv1.CreatePolicyOwner
	}
	if spec.Target.DeletionPolicy == esv1.DeletionPolicyDelete && creation != esv1.CreatePolicyOwner {
		out = append(out, "spec.target.deletionPolicy Delete needs creationPolicy Owner (ESO's webhook refuses it "+
			"too): Vigil will not sync it; set target.creationPolicy: Owner or use deletionPolicy Retain")
	}
	if spec.Target.DeletionPolicy == esv1.DeletionPolicyMerge && creation == esv1.CreatePolicyNone {
		out = append(out, "spec.target.deletionPolicy Merge with creationPolicy None (ESO's webhook refuses it too): "+
			"Vigil will not sync it; change one of them")
	}
	return out
}

// passwordWarnings names the Password specs the generator refuses
// (providers/generators/password.go).
func passwordWarnings(raw []byte) []string {
	var p genv1alpha1.Password
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	s := p.Spec
	digits, symbols := s.Length/4, s.Length/4
	if s.Digits != nil {
		digits = *s.Digits
	}
	if s.Symbols != nil {
		symbols = *s.Symbols
	}
	switch {
	case s.Length < 0 || digits < 0 || symbols < 0:
		return []string{"spec.length, digits and symbols must not be negative: the generator will refuse this Password"}
	case digits+symbols > s.Length && s.Length > 0:
		return []string{fmt.Sprintf("spec.digits + spec.symbols (%d) exceed spec.length (%d): the generator will "+
			"refuse this Password; lower them or raise length", digits+symbols, s.Length)}
	}
	return nil
}

// ecrWarnings says which of two auth methods an ECRAuthorizationToken uses (as for stores).
func ecrWarnings(raw []byte) []string {
	var g genv1alpha1.ECRAuthorizationToken
	if json.Unmarshal(raw, &g) != nil {
		return nil
	}
	if a := g.Spec.Auth; a.SecretRef != nil && a.JWTAuth != nil {
		return []string{"spec.auth sets both secretRef and jwt: secretRef is used and jwt is ignored; remove one of them"}
	}
	return nil
}

// refreshWarnings flags a store refreshInterval string that is not a duration: the store is
// then re-validated only when it changes.
func refreshWarnings(v *intstr.IntOrString) []string {
	if v == nil || v.Type != intstr.String {
		return nil
	}
	if _, err := time.ParseDuration(v.StrVal); err != nil {
		return []string{fmt.Sprintf("spec.refreshInterval %q is not a duration such as \"1h\" or a number of seconds: "+
			"the store is re-validated only when it changes", v.StrVal)}
	}
	return nil
}
