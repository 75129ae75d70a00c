package vigil.rules.store_ambient_credentials_test

import data.vigil.rules.store_ambient_credentials as rule
import rego.v1

store(kind, provider) := {"kind": kind, "namespace": {"name": "team-a"}, "object": {"metadata": {"name": "s"}, "spec": {"provider": provider}}}

test_aws_store_without_auth_denied if {
	vs := rule.violation with input as store("SecretStore", {"aws": {"service": "SecretsManager", "region": "us-east-1"}})
	count(vs) == 1
	some v in vs
	v.path == "spec.provider.aws.auth"
	not v.action
	contains(v.message, "controller's own AWS credentials")
}

test_aws_store_with_role_but_no_auth_denied if {
	count(rule.violation) == 1 with input as store("SecretStore", {"aws": {"region": "us-east-1", "role": "arn:aws:iam::1:role/x"}})
}

test_aws_store_with_irsa_or_keys_passes if {
	count(rule.violation) == 0 with input as store("SecretStore", {"aws": {"auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}}}})
	count(rule.violation) == 0 with input as store("SecretStore", {"aws": {"auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "k", "key": "id"}}}}})
}

test_cluster_store_without_auth_warns if {
	vs := rule.violation with input as {"kind": "ClusterSecretStore", "namespace": {}, "object": {"metadata": {"name": "g"}, "spec": {"provider": {"aws": {"region": "us-east-1"}}}}}
	count(vs) == 1
	some v in vs
	v.action == "Warn"
}

test_ecr_generator_without_auth_denied if {
	inp := {"kind": "ECRAuthorizationToken", "namespace": {"name": "team-a"}, "object": {"metadata": {"name": "ecr"}, "spec": {"region": "us-east-1"}}}
	vs := rule.violation with input as inp
	count(vs) == 1
	some v in vs
	v.path == "spec.auth"
}

test_ecr_generator_with_irsa_passes if {
	inp := {"kind": "ECRAuthorizationToken", "namespace": {"name": "team-a"}, "object": {"metadata": {"name": "ecr"}, "spec": {"region": "us-east-1", "auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}}}}}
	count(rule.violation) == 0 with input as inp
}

test_vault_without_auth_or_kubernetes_refs_denied if {
	count(rule.violation) == 1 with input as store("SecretStore", {"vault": {"server": "https://v"}})
	count(rule.violation) == 1 with input as store("SecretStore", {"vault": {"server": "https://v", "auth": {"kubernetes": {"role": "r"}}}})
	inp := {"kind": "VaultDynamicSecret", "namespace": {"name": "team-a"}, "object": {"metadata": {"name": "db"}, "spec": {"path": "database/creds/app", "provider": {"server": "https://v"}}}}
	count(rule.violation) == 1 with input as inp
}

test_vault_with_own_credentials_passes if {
	count(rule.violation) == 0 with input as store("SecretStore", {"vault": {"auth": {"kubernetes": {"role": "r", "serviceAccountRef": {"name": "sa"}}}}})
	count(rule.violation) == 0 with input as store("SecretStore", {"vault": {"auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}})
}

test_password_generator_and_other_providers_pass if {
	count(rule.violation) == 0 with input as {"kind": "Password", "namespace": {"name": "team-a"}, "object": {"metadata": {"name": "p"}, "spec": {"length": 24}}}
	count(rule.violation) == 0 with input as store("SecretStore", {"fake": {"data": []}})
}

test_allow_namespaces_parameter if {
	inp := object.union(store("SecretStore", {"aws": {"region": "us-east-1"}}), {"parameters": {"store-ambient-credentials": {"allowNamespaces": ["ci", "team-*"]}}})
	count(rule.violation) == 0 with input as inp
	other := object.union(inp, {"namespace": {"name": "payments"}})
	count(rule.violation) == 1 with input as other
}

test_azure_managed_identity_denied if {
	vs := rule.violation with input as store("SecretStore", {"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "ManagedIdentity"}})
	count(vs) == 1
	some v in vs
	v.path == "spec.provider.azurekv.authType"
	contains(v.message, "controller's node or pod")
}

test_azure_workload_identity_without_service_account_denied if {
	vs := rule.violation with input as store("SecretStore", {"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "WorkloadIdentity"}})
	count(vs) == 1
	some v in vs
	v.path == "spec.provider.azurekv.serviceAccountRef"
}

test_azure_own_credentials_pass if {
	count(rule.violation) == 0 with input as store("SecretStore", {"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "WorkloadIdentity", "serviceAccountRef": {"name": "app"}}})
	count(rule.violation) == 0 with input as store("SecretStore", {"azurekv": {"vaultUrl": "https://v.vault.azure.net", "tenantId": "t", "authSecretRef": {"clientId": {"name": "sp", "key": "id"}, "clientSecret": {"name": "sp", "key": "s"}}}})
}

test_azure_cluster_store_managed_identity_warns if {
	vs := rule.violation with input as {"kind": "ClusterSecretStore", "namespace": {}, "object": {"metadata": {"name": "g"}, "spec": {"provider": {"azurekv": {"authType": "ManagedIdentity"}}}}}
	count(vs) == 1
	some v in vs
	v.action == "Warn"
}
