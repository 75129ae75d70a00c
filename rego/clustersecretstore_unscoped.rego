# METADATA
# title: ClusterSecretStore open to every namespace
# description: >-
#   A ClusterSecretStore with no conditions, or with a condition that a namespace nobody
#   chose for it can match (an empty selector; a selector with only Exists, DoesNotExist,
#   NotIn, != or Gt/Lt requirements, or pinned only by labels listed in the parameter
#   tenantLabels; a regex without a fixed ^prefix), lets such namespaces read whatever its
#   credentials can read.
# custom:
#   id: clustersecretstore-unscoped
#   action: Deny
#   remediation: >-
#     Add spec.conditions that name the namespaces: namespaces, a namespaceSelector that pins
#     a label only platform teams set to chosen values (matchLabels or In), or regexes that
#     start with ^ and a fixed prefix.
package vigil.rules.clustersecretstore_unscoped

import rego.v1

violation contains v if {
	input.kind == "ClusterSecretStore"
	count(object.get(input.object.spec, "conditions", [])) == 0
	v := {"message": sprintf("ClusterSecretStore %s has no spec.conditions, so every namespace may use it", [input.object.metadata.name]), "path": "spec.conditions"}
}

# The facts about each condition are computed in Go (policy/selectors.go) with the API
# server's label-selector semantics and a reading of each regex's syntax tree.
violation contains v if {
	input.kind == "ClusterSecretStore"
	some i, c in object.get(input, "conditions", [])
	c.opensToEveryNamespace
	v := {"message": sprintf("ClusterSecretStore %s: spec.conditions[%d] opens the store to namespaces nobody chose for it: %s", [input.object.metadata.name, i, c.why]), "path": c.path}
}

# Where namespace creators set some labels themselves (self-service namespaces), the
# parameter tenantLabels lists those keys: a selector pinned only by them is open too.
tenant_labels := object.get(object.get(input, ["parameters", "clustersecretstore-unscoped"], {}), "tenantLabels", [])

violation contains v if {
	input.kind == "ClusterSecretStore"
	some i, c in object.get(input, "conditions", [])
	not c.opensToEveryNamespace
	keys := object.get(c, "pinnedKeys", [])
	count(keys) > 0
	every k in keys {
		k in tenant_labels
	}
	v := {"message": sprintf("ClusterSecretStore %s: spec.conditions[%d].namespaceSelector is pinned only by labels that namespace creators set themselves (%s, in the parameter tenantLabels), so a namespace created with those labels matches", [input.object.metadata.name, i, concat(", ", keys)]), "path": sprintf("spec.conditions[%d].namespaceSelector", [i])}
}
