# METADATA
# title: ExternalSecret reads a key outside its namespace's prefixes
# description: >-
#   The namespace (annotation vigil.dev/secret-prefix, comma-separated) or the policy
#   (parameter prefixes, by namespace) allows only keys under some prefixes, and the
#   ExternalSecret reads another. Each entry is judged by the names it reads through the
#   store it actually uses (its sourceRef.storeRef, else spec.secretStoreRef): that store's
#   prefix or Vault mount applied, ARNs parsed, Vault paths cleaned. A prefix is a folder:
#   "prod/pay" and "prod/pay/" both allow "prod/pay/db", neither allows "prod/payments/db"
#   (and "prod/pay", without the trailing "/", also allows the secret named "prod/pay"). A
#   prefix that ends in a separator other than "/" ("team-a-", "app_", "svc.") is a name
#   prefix: "team-a-" allows "team-a-db". A find without a path reads everything the store
#   can list and is outside any prefix.
# custom:
#   id: externalsecret-key-outside-prefix
#   action: Deny
#   remediation: >-
#     Read only keys under the namespace's prefixes, or ask the platform team to widen them.
package vigil.rules.externalsecret_key_outside_prefix

import data.vigil.lib.prefixes as lib
import rego.v1

prefixes := lib.annotated | lib.parameter("externalsecret-key-outside-prefix")

violation contains v if {
	input.kind == "ExternalSecret"
	count(prefixes) > 0
	some e in object.get(input, "entries", [])
	not lib.entry_allowed(prefixes, e)
	v := {"message": message(e), "path": e.path}
}

message(e) := sprintf("%s reads %s, outside the prefixes allowed in namespace %s (%s)%s: set find.path to a path under one of them", [e.path, found(e), input.namespace.name, lib.allowed_list(prefixes), lib.through(e)]) if e.find

message(e) := sprintf("%s reads %q, outside the prefixes allowed in namespace %s (%s)%s", [e.path, lib.outside_name(prefixes, e), input.namespace.name, lib.allowed_list(prefixes), lib.through(e)]) if not e.find

found(e) := "everything the store can list" if {
	every n in e.names {
		trim(n, "/") == ""
	}
}

found(e) := sprintf("every secret under %q", [lib.outside_name(prefixes, e)]) if {
	some n in e.names
	trim(n, "/") != ""
}
