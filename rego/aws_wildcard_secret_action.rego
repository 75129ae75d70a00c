# METADATA
# title: IAM role is granted every Secrets Manager action
# description: >-
#   The store's role is allowed every Secrets Manager action (secretsmanager:*, *, a
#   NotAction that leaves Secrets Manager out, ...) on some resource, after Deny statements
#   and the permissions boundary; that includes writing, deleting and sharing secrets. The
#   actions that take no resource (ListSecrets, GetRandomPassword, BatchGetSecretValue) are
#   not required: secretsmanager:* on a prefix is flagged too. A grant that
#   needs a Condition is a Warn that says so.
# custom:
#   id: aws-wildcard-secret-action
#   action: Deny
#   remediation: >-
#     Grant only secretsmanager:GetSecretValue (and DescribeSecret) to roles that sync secrets.
package vigil.rules.aws_wildcard_secret_action

import data.vigil.lib
import rego.v1

violation contains v if {
	some f in input.aws.iam.analysis.findings
	f.question == "every-secretsmanager-action"
	v := object.union(lib.iam_action(f), {
		"message": sprintf("role %s is granted every Secrets Manager action: %s (%s)%s", [input.aws.roleArn, concat("; ", f.resources), concat(", ", f.grants), lib.iam_caveats(f)]),
		"path": lib.iam_path(f),
	})
}
