package vigil.rules.others_test

import data.vigil.rules.clustersecretstore_unscoped
import data.vigil.rules.externalsecret_find_without_path
import data.vigil.rules.externalsecret_refresh_interval
import data.vigil.rules.secret_type_privileged
import data.vigil.rules.store_static_credentials
import rego.v1

css(conditions) := {"kind": "ClusterSecretStore", "object": {"metadata": {"name": "global"}, "spec": {"conditions": conditions}}}

test_css_without_conditions_fails if {
	count(clustersecretstore_unscoped.violation) == 1 with input as {"kind": "ClusterSecretStore", "object": {"metadata": {"name": "g"}, "spec": {}}}
}

test_css_with_named_namespaces_passes if {
	count(clustersecretstore_unscoped.violation) == 0 with input as css([{"namespaces": ["payments"]}])
}

test_css_with_scoped_condition_facts_passes if {
	inp := object.union(css([{"namespaceSelector": {"matchLabels": {"team": "payments"}}}]), {"conditions": [{"opensToEveryNamespace": false, "path": "spec.conditions[0]"}]})
	count(clustersecretstore_unscoped.violation) == 0 with input as inp
}

test_css_with_open_condition_facts_fails if {
	inp := object.union(css([{"namespaces": ["a"]}, {"namespaceRegexes": [".*"]}]), {"conditions": [
		{"opensToEveryNamespace": false, "path": "spec.conditions[0]"},
		{"opensToEveryNamespace": true, "why": "namespaceRegexes \".*\" matches any name", "path": "spec.conditions[1].namespaceRegexes[0]"},
	]})
	vs := clustersecretstore_unscoped.violation with input as inp
	count(vs) == 1
	some v in vs
	v.path == "spec.conditions[1].namespaceRegexes[0]"
	contains(v.message, "spec.conditions[1]")
	contains(v.message, "matches any name")
}

test_css_pinned_only_by_tenant_labels_fails if {
	base := object.union(css([{"namespaceSelector": {"matchLabels": {"team": "payments"}}}]), {"conditions": [{"opensToEveryNamespace": false, "pinnedKeys": ["team"], "path": "spec.conditions[0]"}]})
	count(clustersecretstore_unscoped.violation) == 0 with input as base
	inp := object.union(base, {"parameters": {"clustersecretstore-unscoped": {"tenantLabels": ["team", "owner"]}}})
	vs := clustersecretstore_unscoped.violation with input as inp
	count(vs) == 1
	some v in vs
	v.path == "spec.conditions[0].namespaceSelector"
}

test_namespaced_store_is_not_a_css if {
	count(clustersecretstore_unscoped.violation) == 0 with input as {"kind": "SecretStore", "object": {"metadata": {"name": "s"}, "spec": {}}}
}

test_static_credentials_flagged if {
	count(store_static_credentials.violation) == 1 with input as {"kind": "SecretStore", "object": {"metadata": {"name": "s"}, "spec": {"provider": {"aws": {"auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "creds", "key": "id"}}}}}}}}
}

test_irsa_not_flagged_as_static if {
	count(store_static_credentials.violation) == 0 with input as {"kind": "SecretStore", "object": {"metadata": {"name": "s"}, "spec": {"provider": {"aws": {"auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}}}}}}}
}

es(spec) := {"kind": "ExternalSecret", "object": {"metadata": {"name": "db"}, "spec": spec}, "namespace": {"name": "payments", "annotations": {"vigil.dev/secret-prefix": "prod/payments/, shared/"}}}

test_refresh_interval_in_range_passes if {
	count(externalsecret_refresh_interval.violation) == 0 with input as es({"refreshInterval": "1h"})
}

test_refresh_interval_below_floor_fails if {
	count(externalsecret_refresh_interval.violation) == 1 with input as es({"refreshInterval": "10s"})
}

test_refresh_interval_above_parameter_ceiling_fails if {
	inp := object.union(es({"refreshInterval": "2h"}), {"parameters": {"externalsecret-refresh-interval": {"max": "1h"}}})
	count(externalsecret_refresh_interval.violation) == 1 with input as inp
}

test_refresh_interval_zero_fails if {
	count(externalsecret_refresh_interval.violation) == 1 with input as es({"refreshInterval": "0s"})
}

test_created_once_is_not_periodic if {
	count(externalsecret_refresh_interval.violation) == 0 with input as es({"refreshInterval": "0s", "refreshPolicy": "CreatedOnce"})
}

test_find_without_path_fails if {
	count(externalsecret_find_without_path.violation) == 1 with input as es({"dataFrom": [{"find": {"name": {"regexp": ".*"}}}]})
}

test_find_with_path_passes if {
	count(externalsecret_find_without_path.violation) == 0 with input as es({"dataFrom": [{"find": {"path": "prod/payments/"}}]})
}

test_service_account_token_type_fails if {
	count(secret_type_privileged.violation) == 1 with input as es({"target": {"template": {"type": "kubernetes.io/service-account-token"}}})
}

test_opaque_type_passes if {
	count(secret_type_privileged.violation) == 0 with input as es({"target": {"template": {"type": "Opaque"}}})
}
