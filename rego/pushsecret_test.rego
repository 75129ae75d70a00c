package vigil.rules.pushsecret_test

import data.vigil.rules.externalsecret_key_outside_prefix as read_prefix
import data.vigil.rules.pushsecret_key_not_normalized as not_normalized
import data.vigil.rules.pushsecret_key_outside_prefix as prefix
import rego.v1

# The entries below have the shape policy.Builder gives a PushSecret's (policy/pushsecret.go);
# the Go tests in policy/ build them from real PushSecrets and stores.

ps_with(entries, annotations) := {
	"kind": "PushSecret",
	"object": {"metadata": {"name": "push"}, "spec": {}},
	"namespace": {"name": "payments", "annotations": annotations},
	"entries": entries,
}

ps(entries) := ps_with(entries, {"vigil.dev/secret-prefix": "prod/payments/, shared"})

push(i, names) := {"path": sprintf("spec.data[%d].match.remoteRef.remoteKey", [i]), "key": names[0], "find": false, "store": "SecretStore/s", "names": names, "scope": "exact"}

flagged(entries) := n if {
	n := count(prefix.violation) with input as ps(entries)
}

test_push_inside_prefix_passes if {
	flagged([push(0, ["prod/payments/db"]), push(1, ["shared/x"]), push(2, ["shared"])]) == 0
}

test_push_outside_prefix_fails if {
	flagged([push(0, ["prod/billing/db"])]) == 1
	flagged([push(0, ["prod/paymentsx/db"])]) == 1 # a prefix is a folder
}

test_every_spelling_must_be_inside if {
	flagged([push(0, ["prod/payments/../../billing/db", "billing/db"])]) == 1
}

test_message_names_the_key_written_and_the_store if {
	some v in prefix.violation with input as ps([push(1, ["billing/db"])])
	v.message == `spec.data[1].match.remoteRef.remoteKey writes "billing/db", outside the prefixes allowed in namespace payments (prod/payments/, shared) through SecretStore/s`
	v.path == "spec.data[1].match.remoteRef.remoteKey"
}

test_no_prefixes_no_rule if {
	count(prefix.violation) == 0 with input as ps_with([push(0, ["anything"])], {})
}

test_read_prefix_parameters_bound_writes_too if {
	inp := object.union(ps_with([push(0, ["other/db"])], {}), {"parameters": {"externalsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/payments/"]}}}})
	count(prefix.violation) == 1 with input as inp
	ok := object.union(ps_with([push(0, ["prod/payments/db"])], {}), {"parameters": {"externalsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/payments/"]}}}})
	count(prefix.violation) == 0 with input as ok
}

test_own_parameters_narrow_writes if {
	params := {
		"externalsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/"]}},
		"pushsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/payments/outbox/"]}},
	}
	out := object.union(ps_with([push(0, ["prod/payments/db"])], {}), {"parameters": params})
	count(prefix.violation) == 1 with input as out
	inside := object.union(ps_with([push(0, ["prod/payments/outbox/db"])], {}), {"parameters": params})
	count(prefix.violation) == 0 with input as inside
}

test_own_parameters_for_another_namespace_leave_the_read_prefixes_in_force if {
	params := {
		"externalsecret-key-outside-prefix": {"prefixes": {"payments": ["prod/payments/"]}},
		"pushsecret-key-outside-prefix": {"prefixes": {"billing": ["prod/billing/"]}},
	}
	out := object.union(ps_with([push(0, ["prod/billing/db"])], {}), {"parameters": params})
	count(prefix.violation) == 1 with input as out
}

test_vault_relative_names_count_when_the_mount_is_pinned if {
	e := object.union(push(0, ["secret/prod/payments/db"]), {"relative": ["prod/payments/db"]})
	flagged([e]) == 0
}

test_rules_of_one_kind_leave_the_other_alone if {
	# the read rule does not judge a PushSecret, the write rule no ExternalSecret
	count(read_prefix.violation) == 0 with input as ps([push(0, ["prod/billing/db"])])
	es := object.union(ps([push(0, ["prod/billing/db"])]), {"kind": "ExternalSecret"})
	count(prefix.violation) == 0 with input as es
	count(not_normalized.violation) == 0 with input as object.union(es, {"entries": [object.union(push(0, ["x"]), {"problem": "p"})]})
}

test_not_normalized_reports_the_problem if {
	e := object.union(push(0, ["billing/db"]), {"problem": `spec.data[0].match.remoteRef.remoteKey "prod/../billing/db" has a ".." segment: use the path as the backend stores it`})
	some v in not_normalized.violation with input as ps([e])
	v.path == "spec.data[0].match.remoteRef.remoteKey"
	contains(v.message, `has a ".." segment`)
	count(not_normalized.violation) == 0 with input as ps([push(0, ["prod/payments/db"])])
}
