# METADATA
# title: Store or generator borrows the controller's identity
# description: >-
#   A SecretStore, ClusterSecretStore or generator without credentials of its own uses the
#   controller's: an AWS provider or ECRAuthorizationToken without auth.secretRef or
#   auth.jwt falls back to the controller's default credential chain (its own IAM role,
#   which a spec.role is then assumed with), and a Vault provider without an auth method, or
#   with a Kubernetes login that names neither serviceAccountRef nor secretRef, would log in
#   as the controller, and an Azure Key Vault provider with authType ManagedIdentity, or
#   WorkloadIdentity without serviceAccountRef, signs in as the controller's node or pod. A tenant must not borrow that identity: namespaced stores and
#   generators are denied unless the namespace is listed in the parameter allowNamespaces
#   (names, * matches any run of characters). ClusterSecretStores are written by the
#   cluster admin and only warned about.
# custom:
#   id: store-ambient-credentials
#   action: Deny
#   remediation: >-
#     Give the store or generator credentials of its own: auth.jwt.serviceAccountRef (a
#     ServiceAccount of the namespace annotated with eks.amazonaws.com/role-arn) or
#     auth.secretRef for AWS; tokenSecretRef, appRole or kubernetes with serviceAccountRef for
#     Vault; WorkloadIdentity with serviceAccountRef, or ServicePrincipal, for Azure. A cluster admin may allow a namespace with the rule's parameter allowNamespaces.
package vigil.rules.store_ambient_credentials

import rego.v1

# aws_configs: the AWS configurations of the input, with their paths.
aws_configs contains {"spec": aws, "path": "spec.provider.aws"} if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	aws := input.object.spec.provider.aws
}

aws_configs contains {"spec": input.object.spec, "path": "spec"} if {
	input.kind == "ECRAuthorizationToken"
}

vault_configs contains {"spec": v, "path": "spec.provider.vault"} if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	v := input.object.spec.provider.vault
}

vault_configs contains {"spec": v, "path": "spec.provider"} if {
	input.kind == "VaultDynamicSecret"
	v := input.object.spec.provider
}

azure_configs contains {"spec": a, "path": "spec.provider.azurekv"} if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	a := input.object.spec.provider.azurekv
}

# ambient: where a configuration falls back to the controller's identity, and how.
ambient contains {"path": concat(".", [c.path, "auth"]), "how": "has no auth.secretRef or auth.jwt, so it uses the controller's own AWS credentials"} if {
	some c in aws_configs
	auth := object.get(c.spec, "auth", {})
	not auth.secretRef
	not auth.jwt
}

ambient contains {"path": concat(".", [c.path, "auth"]), "how": "has no Vault auth method, so it would log in as the controller"} if {
	some c in vault_configs
	count(object.get(c.spec, "auth", {})) == 0
}

ambient contains {"path": concat(".", [c.path, "auth.kubernetes"]), "how": "logs in to Vault with neither serviceAccountRef nor secretRef, so it would use the controller's ServiceAccount token"} if {
	some c in vault_configs
	k := c.spec.auth.kubernetes
	not k.serviceAccountRef
	not k.secretRef
}

ambient contains {"path": concat(".", [c.path, "authType"]), "how": "uses ManagedIdentity, the identity of the controller's node or pod"} if {
	some c in azure_configs
	c.spec.authType == "ManagedIdentity"
}

ambient contains {"path": concat(".", [c.path, "serviceAccountRef"]), "how": "uses WorkloadIdentity without serviceAccountRef, so it signs in as the controller's own workload identity"} if {
	some c in azure_configs
	c.spec.authType == "WorkloadIdentity"
	not c.spec.serviceAccountRef
}

allowed if {
	some pattern in object.get(object.get(input, ["parameters", "store-ambient-credentials"], {}), "allowNamespaces", [])
	glob.match(pattern, [], input.namespace.name)
}

violation contains v if {
	input.kind != "ClusterSecretStore"
	not allowed
	some a in ambient
	v := {"message": sprintf("%s %s/%s %s; allow it for this namespace with the store-ambient-credentials parameter allowNamespaces", [input.kind, input.namespace.name, input.object.metadata.name, a.how]), "path": a.path}
}

violation contains v if {
	input.kind == "ClusterSecretStore"
	some a in ambient
	v := {"message": sprintf("ClusterSecretStore %s %s, for every namespace its conditions admit", [input.object.metadata.name, a.how]), "path": a.path, "action": "Warn"}
}
