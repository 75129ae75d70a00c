// Package target names the Secret an ExternalSecret writes; the ExternalSecret reconciler
// writes it and the rollout controllers find the ExternalSecret behind a Secret by it.
package target

import esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"

// Name is the name of the Secret an ExternalSecret writes: spec.target.name, or the
// ExternalSecret's own name when that is empty (as in ESO).
func Name(es *esv1.ExternalSecret) string {
	if es.Spec.Target.Name != "" {
		return es.Spec.Target.Name
	}
	return es.Name
}
