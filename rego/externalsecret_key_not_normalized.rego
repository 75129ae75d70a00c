# METADATA
# title: ExternalSecret key or find path that its backend would read as another path
# description: >-
#   A remote key or find.path with "." or ".." segments, empty segments, a percent-encoded
#   or backslash separator, a leading "/" that Vault strips, an ARN of another service or
#   (Kubernetes stores) a name that is no Secret name. Vault's client cleans paths, so
#   "prod/payments/../../billing/db" reads billing/db; every provider refuses such keys at
#   reconcile time too, with the same message. The checks are providers.CheckKey and
#   CheckFindPath, run by the input builder against the store each entry reads through.
# custom:
#   id: externalsecret-key-not-normalized
#   action: Deny
#   remediation: >-
#     Write each key as the backend stores it: no "." or ".." segments, no "//", nothing
#     percent-encoded, no backslashes, and for Vault no leading "/".
package vigil.rules.externalsecret_key_not_normalized

import rego.v1

violation contains v if {
	input.kind == "ExternalSecret"
	some e in object.get(input, "entries", [])
	e.problem
	v := {"message": e.problem, "path": e.path}
}
