# METADATA
# title: Store uses static cloud keys
# description: >-
#   An AWS store authenticates with long-lived access keys from a Secret although workload
#   identity (IRSA) is available.
# custom:
#   id: store-static-credentials
#   action: Warn
#   remediation: >-
#     Use auth.jwt.serviceAccountRef with a ServiceAccount annotated eks.amazonaws.com/role-arn.
package vigil.rules.store_static_credentials

import rego.v1

violation contains v if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	input.object.spec.provider.aws.auth.secretRef
	v := {"message": sprintf("%s %s uses static AWS access keys from Secret %s", [input.kind, input.object.metadata.name, input.object.spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.name]), "path": "spec.provider.aws.auth.secretRef"}
}
