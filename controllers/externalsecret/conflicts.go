package externalsecret

import (
	"errors"
	"fmt"
	"strings"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
)

// ESO's CRD accepts the combinations below (ESO's webhook refuses the policy ones); so do
// Vigil's CRDs, so that every manifest valid on ESO's CRD applies. The webhook warns about
// them (policy/compat.go) and the controller refuses them here, before reading anything:
// above all, Vigil never deletes a Secret it does not own.

// conflicts returns a terminal SecretSyncedError naming the settings that cannot work
// together, or nil.
func conflicts(spec *esv1.ExternalSecretSpec) error {
	out := policyConflicts(&spec.Target)
	for i, d := range spec.Data {
		if d.RemoteRef.Key == "" {
			out = append(out, fmt.Sprintf("spec.data[%d].remoteRef.key is empty: set the remote key", i))
		}
	}
	for i, d := range spec.DataFrom {
		if d.Extract != nil && d.Extract.Key == "" {
			out = append(out, fmt.Sprintf("spec.dataFrom[%d].extract.key is empty: set the remote key", i))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return outcome.Terminal(esv1.ReasonSecretSyncedError, errors.New(strings.Join(out, "; ")))
}

// policyConflicts are the creationPolicy/deletionPolicy pairs ESO's webhook refuses.
func policyConflicts(t *esv1.ExternalSecretTarget) []string {
	creation := t.CreationPolicy
	if creation == "" {
		creation = esv1.CreatePolicyOwner
	}
	var out []string
	if t.DeletionPolicy == esv1.DeletionPolicyDelete && creation != esv1.CreatePolicyOwner {
		out = append(out, "spec.target.deletionPolicy Delete needs creationPolicy Owner: Vigil only deletes "+
			"Secrets it owns; set target.creationPolicy: Owner or use deletionPolicy Retain")
	}
	if t.DeletionPolicy == esv1.DeletionPolicyMerge && creation == esv1.CreatePolicyNone {
		out = append(out, "spec.target.deletionPolicy Merge needs a Secret to merge into and creationPolicy None "+
			"writes none; change one of them")
	}
	return out
}
