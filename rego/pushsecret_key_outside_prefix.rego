# METADATA
# title: PushSecret writes a key outside its namespace's prefixes
# description: >-
#   The namespace (annotation vigil.dev/secret-prefix, comma-separated) or the policy
#   (parameter prefixes, by namespace) allows only keys under some prefixes, and the
#   PushSecret writes another: a tenant could overwrite or plant a secret that another team
#   reads. The prefixes are those that bound what the namespace's ExternalSecrets read: the
#   annotation, plus this rule's parameter prefixes when it names the namespace, else the
#   parameter prefixes of externalsecret-key-outside-prefix. Each remote key is judged through every store it is
#   pushed to (spec.secretStoreRefs by name or labelSelector, dataTo[].storeRef): that
#   store's prefix or Vault mount applied, Vault paths cleaned. A prefix is a folder, or a
#   name prefix when it ends in a separator other than "/", as for reads.
# custom:
#   id: pushsecret-key-outside-prefix
#   action: Deny
#   remediation: >-
#     Push only to keys under the namespace's prefixes (remoteRef.remoteKey, and the store's
#     own prefix), or ask the platform team to widen them.
package vigil.rules.pushsecret_key_outside_prefix

import data.vigil.lib.prefixes as lib
import rego.v1

rule := "pushsecret-key-outside-prefix"

# A policy may bound a namespace's writes more narrowly than its reads with this rule's own
# parameter; where it does not name the namespace, the prefixes given for reads bound writes.
params := lib.parameter(rule) if lib.has_parameter(rule)

params := lib.parameter("externalsecret-key-outside-prefix") if not lib.has_parameter(rule)

prefixes := lib.annotated | params

violation contains v if {
	input.kind == "PushSecret"
	count(prefixes) > 0
	some e in object.get(input, "entries", [])
	not lib.entry_allowed(prefixes, e)
	v := {"message": message(e), "path": e.path}
}

message(e) := sprintf("%s writes %q, outside the prefixes allowed in namespace %s (%s)%s", [e.path, lib.outside_name(prefixes, e), input.namespace.name, lib.allowed_list(prefixes), lib.through(e)])
