# The IAM rules read the evaluator's findings (policy/iameval.go computes them from the
# documents; its conformance table in policy/iameval_test.go covers IAM's semantics). These
# tests cover how findings become violations.
package vigil.rules.aws_wildcard_test

import data.vigil.rules.aws_wildcard_secret_action
import data.vigil.rules.aws_wildcard_secret_resource
import rego.v1

store(kind, iam) := {
	"kind": kind,
	"object": {"metadata": {"name": "aws"}, "spec": {"provider": {"aws": {"service": "SecretsManager"}}}},
	"namespace": {"name": "payments", "annotations": {"vigil.dev/secret-prefix": "prod/payments/"}},
	"aws": {"roleArn": "arn:aws:iam::123456789012:role/r", "iam": iam},
}

known(findings) := store("SecretStore", {"status": "known", "policies": [], "analysis": {"findings": findings}})

every_secret := {
	"question": "read-every-secret", "certain": true, "service": "secretsmanager",
	"action": "secretsmanager:GetSecretValue", "grants": ["iam:p/Statement[0]"], "resources": ["\"*\""],
}

test_certain_every_secret_is_a_deny if {
	vs := aws_wildcard_secret_resource.violation with input as known([every_secret])
	count(vs) == 1
	some v in vs
	not v.action
	v.path == "iam:p/Statement[0]"
	contains(v.message, "may read every Secrets Manager secret: secretsmanager:GetSecretValue on \"*\" (iam:p/Statement[0])")
}

test_no_findings_pass if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as known([])
	count(aws_wildcard_secret_action.violation) == 0 with input as known([])
}

test_conditional_grant_is_a_warn_that_says_so if {
	f := object.union(every_secret, {"certain": false, "conditional": ["iam:p/Statement[1]"]})
	vs := aws_wildcard_secret_resource.violation with input as known([f])
	count(vs) == 1
	some v in vs
	v.action == "Warn"
	contains(v.message, "only if the Condition or policy variable of iam:p/Statement[1] allows it")
}

test_uncounted_denies_are_named if {
	f := object.union(every_secret, {"uncountedDenies": ["iam:p/Statement[2]"]})
	some v in aws_wildcard_secret_resource.violation with input as known([f])
	contains(v.message, "Deny under a Condition or policy variable of iam:p/Statement[2] may narrow it")
}

test_outside_prefix_names_the_prefix_and_an_example if {
	f := {
		"question": "read-outside-prefix", "certain": true, "service": "ssm", "action": "ssm:GetParameter",
		"example": "arn:aws:ssm:::parameter/a", "grants": ["iam:p/Statement[0]"], "resources": ["\"arn:aws:ssm:*:*:parameter/*\""],
	}
	some v in aws_wildcard_secret_resource.violation with input as known([f])
	contains(v.message, "may read Parameter Store parameters outside the prefixes of namespace payments (prod/payments/), e.g. arn:aws:ssm:::parameter/a")
}

test_every_action if {
	f := {"question": "every-secretsmanager-action", "certain": true, "service": "secretsmanager", "grants": ["iam:p/Statement[0]"], "resources": ["\"secretsmanager:*\""]}
	vs := aws_wildcard_secret_action.violation with input as known([f])
	count(vs) == 1
	some v in vs
	contains(v.message, "is granted every Secrets Manager action: \"secretsmanager:*\" (iam:p/Statement[0])")
	count(aws_wildcard_secret_resource.violation) == 0 with input as known([f])
}

unknown_iam := {"status": "unknown", "reason": "AccessDenied"}

test_unknown_iam_denies_a_secret_store if {
	vs := aws_wildcard_secret_resource.violation with input as store("SecretStore", unknown_iam)
	count(vs) == 1
	some v in vs
	v.action == "Deny"
	contains(v.message, "could not be read (AccessDenied)")
}

test_unknown_iam_warns_for_a_cluster_secret_store if {
	some v in aws_wildcard_secret_resource.violation with input as store("ClusterSecretStore", unknown_iam)
	v.action == "Warn"
}

test_unknown_iam_action_is_a_parameter if {
	in1 := object.union(store("SecretStore", unknown_iam), {"parameters": {"aws-wildcard-secret-resource": {"unknownIAM": "Warn"}}})
	some v in aws_wildcard_secret_resource.violation with input as in1
	v.action == "Warn"
	in2 := object.union(store("ClusterSecretStore", unknown_iam), {"parameters": {"aws-wildcard-secret-resource": {"unknownIAM": "Deny"}}})
	some v2 in aws_wildcard_secret_resource.violation with input as in2
	v2.action == "Deny"
}

test_no_role_is_left_to_other_rules if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store("SecretStore", {"status": "none", "reason": "no role"})
}

test_absent_role_is_a_warn if {
	some v in aws_wildcard_secret_resource.violation with input as store("SecretStore", {"status": "absent", "reason": "x", "policies": []})
	v.action == "Warn"
	contains(v.message, "does not exist")
}
