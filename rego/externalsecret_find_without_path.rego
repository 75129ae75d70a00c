# METADATA
# title: dataFrom.find without a path
# description: >-
#   A find with no path reads every secret the store's role can list and copies them into
#   one Secret. An empty, blank, "/" or "." path is no path either. A find through a
#   Kubernetes store is exempt: that provider has no paths, and the store's remoteNamespace
#   (with its ServiceAccount's RBAC) already bounds what it lists.
# custom:
#   id: externalsecret-find-without-path
#   action: Deny
#   remediation: Set dataFrom[].find.path to the prefix the application needs.
package vigil.rules.externalsecret_find_without_path

import rego.v1

violation contains v if {
	input.kind == "ExternalSecret"
	some i, f in object.get(input.object.spec, "dataFrom", [])
	f.find
	no_path(f.find)
	not kubernetes_find(i)
	v := {"message": sprintf("spec.dataFrom[%d].find has no path, so it reads every secret the store can list", [i]), "path": sprintf("spec.dataFrom[%d].find", [i])}
}

no_path(find) if not find.path

# Only empty, blank and "." segments: the backend lists from its root.
no_path(find) if {
	every s in split(find.path, "/") {
		trim_space(s) in {"", "."}
	}
}

# kubernetes_find: the find reads through a Kubernetes store (input.entries says which store
# each entry reads).
kubernetes_find(i) if {
	some e in object.get(input, "entries", [])
	e.path in {sprintf("spec.dataFrom[%d].find", [i]), sprintf("spec.dataFrom[%d].find.path", [i])}
	e.provider == "kubernetes"
}
