package vigil.rules.aws_wildcard_test

import data.vigil.rules.aws_wildcard_secret_action
import data.vigil.rules.aws_wildcard_secret_resource
import rego.v1

store(statements) := {
	"kind": "SecretStore",
	"object": {"metadata": {"name": "aws"}, "spec": {"provider": {"aws": {"service": "SecretsManager"}}}},
	"aws": {"roleArn": "arn:aws:iam::123456789012:role/r", "iam": {"status": "known", "policies": [{"name": "p", "document": {"Version": "2012-10-17", "Statement": statements}}]}},
}

scoped := "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*"

test_scoped_prefix_passes if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store([{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": scoped}])
}

test_star_resource_fails if {
	count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}])
}

test_statement_may_be_a_single_object if {
	count(aws_wildcard_secret_resource.violation) == 1 with input as store({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
}

test_action_names_are_case_insensitive if {
	count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "Action": "SecretsManager:getsecretvalue", "Resource": ["*"]}])
}

test_action_patterns_cover_reads if {
	every a in ["secretsmanager:*", "secretsmanager:Get*", "*", "secretsmanager:GetSecret?alue", "ssm:GetParam*"] {
		count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "Action": a, "Resource": "*"}])
	}
}

test_non_read_actions_pass if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store([{"Effect": "Allow", "Action": ["secretsmanager:ListSecrets", "kms:Decrypt"], "Resource": "*"}])
}

test_bare_wildcard_names_fail if {
	every r in [
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:*",
		"arn:aws:secretsmanager:*:*:secret:*",
		"arn:aws:secretsmanager:*",
		"arn:aws:ssm:us-east-1:123456789012:parameter/*",
		"arn:aws:ssm:us-east-1:123456789012:parameter*",
		"arn:aws:*:us-east-1:123456789012:secret:prod/*",
	] {
		count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter"], "Resource": r}])
	}
}

test_prefixed_parameters_pass if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store([{"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/payments/*"}])
}

test_deny_statements_grant_nothing if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store([{"Effect": "Deny", "Action": "*", "Resource": "*"}])
}

test_not_resource_fails if {
	count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "NotResource": scoped}])
}

test_not_action_that_leaves_reads_fails if {
	count(aws_wildcard_secret_resource.violation) == 1 with input as store([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])
}

test_not_action_that_excludes_reads_passes if {
	count(aws_wildcard_secret_resource.violation) == 0 with input as store([{"Effect": "Allow", "NotAction": ["secretsmanager:*", "ssm:*"], "Resource": "*"}])
}

test_unknown_iam_is_reported_as_warning if {
	vs := aws_wildcard_secret_resource.violation with input as {"kind": "SecretStore", "aws": {"roleArn": "arn:aws:iam::1:role/r", "iam": {"status": "unknown", "reason": "AccessDenied"}}}
	count(vs) == 1
	some v in vs
	v.action == "Warn"
	contains(v.message, "could not be read")
}

test_wildcard_action_fails if {
	every a in ["secretsmanager:*", "*", "SecretsManager:*"] {
		count(aws_wildcard_secret_action.violation) == 1 with input as store([{"Effect": "Allow", "Action": a, "Resource": scoped}])
	}
}

test_specific_actions_pass_the_action_rule if {
	count(aws_wildcard_secret_action.violation) == 0 with input as store([{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}])
}
