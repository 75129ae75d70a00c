# METADATA
# title: ClusterSecretStore open to every namespace
# description: >-
#   A ClusterSecretStore with no conditions, or with a condition that selects every namespace,
#   lets any namespace read whatever its credentials can read.
# custom:
#   id: clustersecretstore-unscoped
#   action: Deny
#   remediation: >-
#     Add spec.conditions that name the namespaces (namespaces, or a namespaceSelector on a
#     label only platform teams set).
package vigil.rules.clustersecretstore_unscoped

import data.vigil.lib
import rego.v1

violation contains v if {
	input.kind == "ClusterSecretStore"
	count(object.get(input.object.spec, "conditions", [])) == 0
	v := {"message": sprintf("ClusterSecretStore %s has no spec.conditions, so every namespace may use it", [input.object.metadata.name]), "path": "spec.conditions"}
}

violation contains v if {
	input.kind == "ClusterSecretStore"
	some i, c in object.get(input.object.spec, "conditions", [])
	lib.selects_every_namespace(c)
	v := {"message": sprintf("ClusterSecretStore %s: spec.conditions[%d] selects every namespace", [input.object.metadata.name, i]), "path": sprintf("spec.conditions[%d]", [i])}
}
