package vigil.rules.paths_test

import data.vigil.rules.externalsecret_find_without_path
import data.vigil.rules.externalsecret_key_not_normalized
import data.vigil.rules.externalsecret_key_outside_prefix as prefix
import rego.v1

# The entries below have the shape policy.Builder gives them (policy/paths.go); the Go tests
# in policy/ build them from real ExternalSecrets and stores.

es(entries) := es_with(entries, {"vigil.dev/secret-prefix": "prod/payments/, shared"})

es_with(entries, annotations) := {
	"kind": "ExternalSecret",
	"object": {"metadata": {"name": "db"}, "spec": {}},
	"namespace": {"name": "payments", "annotations": annotations},
	"entries": entries,
}

key(names) := {"path": "spec.data[0].remoteRef.key", "key": names[0], "find": false, "store": "SecretStore/s", "names": names, "scope": "exact"}

find(names, scope) := {"path": "spec.dataFrom[0].find.path", "key": names[0], "find": true, "store": "SecretStore/s", "names": names, "scope": scope}

flagged(entries) := n if {
	n := count(prefix.violation) with input as es(entries)
}

test_key_inside_prefix_passes if {
	flagged([key(["prod/payments/db"]), key(["shared/x"]), key(["shared"])]) == 0
}

test_key_outside_prefix_fails if {
	flagged([key(["prod/billing/db"])]) == 1
}

test_prefix_is_a_folder_not_a_string_prefix if {
	flagged([key(["prod/paymentsx/db"])]) == 1
	flagged([key(["sharedx"])]) == 1
	flagged([key(["prod/payments"])]) == 1 # "prod/payments/" names the folder, not the secret
}

test_prefix_ending_in_another_separator_is_a_name_prefix if {
	inp := es_with([key(["team-a-db"]), key(["team-a-cache/x"])], {"vigil.dev/secret-prefix": "team-a-"})
	count(prefix.violation) == 0 with input as inp
	out := es_with([key(["team-b-db"])], {"vigil.dev/secret-prefix": "team-a-"})
	count(prefix.violation) == 1 with input as out
}

test_every_reading_must_be_inside if {
	# a literal name inside the prefix whose cleaned spelling is outside
	flagged([key(["prod/payments/../../billing/db", "billing/db"])]) == 1
}

test_message_names_the_name_read_and_the_store if {
	some v in prefix.violation with input as es([key(["prod/payments/../../billing/db", "billing/db"])])
	v.message == `spec.data[0].remoteRef.key reads "billing/db", outside the prefixes allowed in namespace payments (prod/payments/, shared) through SecretStore/s`
	v.path == "spec.data[0].remoteRef.key"
}

test_vault_relative_names_count_when_the_mount_is_pinned if {
	e := object.union(key(["secret/prod/payments/db"]), {"relative": ["prod/payments/db"]})
	flagged([e]) == 0
	out := object.union(key(["secret/billing/db"]), {"relative": ["billing/db"]})
	flagged([out]) == 1
	escaped := object.union(key(["auth/token/lookup-self"]), {"relative": []})
	flagged([escaped]) == 1
}

test_find_without_path_reads_everything if {
	some v in prefix.violation with input as es([find([""], "prefix")])
	contains(v.message, "reads everything the store can list")
}

test_find_scopes if {
	flagged([find(["prod/payments/"], "prefix")]) == 0
	flagged([find(["prod/payments"], "prefix")]) == 1 # Secrets Manager would also list prod/paymentsX
	flagged([find(["prod/payments"], "dir")]) == 0 # a folder listing stays in the folder
	flagged([find(["prod"], "dir")]) == 1
}

test_parameter_store_leading_slash_is_optional if {
	e := object.union(key(["prod/payments/db"]), {"leadingSlashOptional": true})
	count(prefix.violation) == 0 with input as es_with([e], {"vigil.dev/secret-prefix": "/prod/payments/"})
}

test_prefixes_from_parameters if {
	inp := object.union(es_with([key(["other/db"])], {}), {"parameters": {"externalsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/payments/"]}}}})
	count(prefix.violation) == 1 with input as inp
}

test_no_prefixes_no_rule if {
	count(prefix.violation) == 0 with input as es_with([key(["anything"])], {})
}

test_root_prefix_allows_everything if {
	count(prefix.violation) == 0 with input as es_with([find([""], "prefix")], {"vigil.dev/secret-prefix": "/"})
}

test_not_normalized_reports_the_problem if {
	e := object.union(key(["billing/db"]), {"problem": `spec.data[0].remoteRef.key "prod/../billing/db" has a ".." segment: use the path as the backend stores it`})
	some v in externalsecret_key_not_normalized.violation with input as es([e])
	v.path == "spec.data[0].remoteRef.key"
	contains(v.message, `has a ".." segment`)
	count(externalsecret_key_not_normalized.violation) == 0 with input as es([key(["prod/payments/db"])])
}

fes(path) := {"kind": "ExternalSecret", "object": {"metadata": {"name": "db"}, "spec": {"dataFrom": [{"find": {"path": path}}]}}}

test_find_blank_paths_are_no_path if {
	every p in ["", " ", "/", "//", " / ", ".", "./"] {
		count(externalsecret_find_without_path.violation) == 1 with input as fes(p)
	}
}

test_find_with_a_path_passes if {
	every p in ["prod/payments/", "/prod", "a"] {
		count(externalsecret_find_without_path.violation) == 0 with input as fes(p)
	}
}

test_find_through_a_kubernetes_store_needs_no_path if {
	k := {"kind": "ExternalSecret", "object": {"metadata": {"name": "db"}, "spec": {"dataFrom": [{"find": {"tags": {"team": "app"}}}]}}, "namespace": {"name": "app", "annotations": {}}, "entries": [{"path": "spec.dataFrom[0].find", "key": "", "find": true, "store": "SecretStore/k", "provider": "kubernetes", "names": [""], "scope": "dir"}]}
	count(externalsecret_find_without_path.violation) == 0 with input as k
	aws := json.patch(k, [{"op": "replace", "path": "/entries/0/provider", "value": "aws"}])
	count(externalsecret_find_without_path.violation) == 1 with input as aws
}
