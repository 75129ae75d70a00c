# METADATA
# title: dataFrom.find without a path
# description: >-
#   A find with no path reads every secret the store's role can list and copies them into
#   one Secret.
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
	not f.find.path
	v := {"message": sprintf("spec.dataFrom[%d].find has no path, so it reads every secret the store can list", [i]), "path": sprintf("spec.dataFrom[%d].find", [i])}
}
