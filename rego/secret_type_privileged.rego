# METADATA
# title: Template makes a ServiceAccount token Secret
# description: >-
#   A kubernetes.io/service-account-token Secret is filled in by the API server with a token
#   for a ServiceAccount; writing one from an external store can impersonate it.
# custom:
#   id: secret-type-privileged
#   action: Deny
#   remediation: Use type Opaque (or a specific, unprivileged type) in spec.target.template.type.
package vigil.rules.secret_type_privileged

import rego.v1

violation contains v if {
	input.kind == "ExternalSecret"
	input.object.spec.target.template.type == "kubernetes.io/service-account-token"
	v := {"message": "spec.target.template.type kubernetes.io/service-account-token makes a ServiceAccount token Secret", "path": "spec.target.template.type"}
}
