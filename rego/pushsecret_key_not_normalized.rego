# METADATA
# title: PushSecret remote key that its backend would write as another path
# description: >-
#   A remoteRef.remoteKey (or dataTo[].remoteKey) with "." or ".." segments, empty segments, a
#   percent-encoded or backslash separator, a leading "/" that Vault strips, an ARN of another
#   service or (Kubernetes stores) a name that is no Secret name. Vault's client cleans paths,
#   so "prod/payments/../../billing/db" writes billing/db. The checks are providers.CheckKey,
#   run by the input builder against every store the key is pushed to, as for the keys an
#   ExternalSecret reads (externalsecret-key-not-normalized).
# custom:
#   id: pushsecret-key-not-normalized
#   action: Deny
#   remediation: >-
#     Write each remote key as the backend stores it: no "." or ".." segments, no "//",
#     nothing percent-encoded, no backslashes, and for Vault no leading "/".
package vigil.rules.pushsecret_key_not_normalized

import rego.v1

violation contains v if {
	input.kind == "PushSecret"
	some e in object.get(input, "entries", [])
	e.problem
	v := {"message": e.problem, "path": e.path}
}
