# METADATA
# title: ExternalSecret reads a key outside its namespace's prefixes
# description: >-
#   The namespace (annotation vigil.dev/secret-prefix, comma-separated) or the policy
#   (parameter prefixes, by namespace) allows only keys under some prefixes, and the
#   ExternalSecret reads another.
# custom:
#   id: externalsecret-key-outside-prefix
#   action: Deny
#   remediation: >-
#     Read only keys under the namespace's prefixes, or ask the platform team to widen them.
package vigil.rules.externalsecret_key_outside_prefix

import rego.v1

params := object.get(object.get(input, "parameters", {}), "externalsecret-key-outside-prefix", {})

prefixes contains trim_space(p) if {
	some p in split(input.namespace.annotations["vigil.dev/secret-prefix"], ",")
	trim_space(p) != ""
}

prefixes contains p if {
	some p in object.get(object.get(params, "prefixes", {}), input.namespace.name, [])
}

store_prefix := object.get(object.get(object.get(object.get(object.get(input, "store", {}), "spec", {}), "provider", {}), "aws", {}), "prefix", "")

keys contains {"key": d.remoteRef.key, "path": sprintf("spec.data[%d].remoteRef.key", [i])} if {
	some i, d in object.get(input.object.spec, "data", [])
}

keys contains {"key": f.extract.key, "path": sprintf("spec.dataFrom[%d].extract.key", [i])} if {
	some i, f in object.get(input.object.spec, "dataFrom", [])
	f.extract.key
}

keys contains {"key": f.find.path, "path": sprintf("spec.dataFrom[%d].find.path", [i])} if {
	some i, f in object.get(input.object.spec, "dataFrom", [])
	f.find.path
}

violation contains v if {
	input.kind == "ExternalSecret"
	count(prefixes) > 0
	some k in keys
	full := concat("", [store_prefix, k.key])
	not allowed(full)
	v := {"message": sprintf("key %q is outside the prefixes allowed in namespace %s (%s)", [full, input.namespace.name, concat(", ", sort(prefixes))]), "path": k.path}
}

allowed(key) if {
	some p in prefixes
	startswith(key, p)
}
