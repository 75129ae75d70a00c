# METADATA
# title: IAM role is granted every Secrets Manager action
# description: >-
#   The store's role is allowed secretsmanager:* or *, which includes writing and deleting
#   secrets, whatever the resource.
# custom:
#   id: aws-wildcard-secret-action
#   action: Deny
#   remediation: >-
#     Grant only secretsmanager:GetSecretValue (and DescribeSecret) to roles that sync secrets.
package vigil.rules.aws_wildcard_secret_action

import data.vigil.lib
import rego.v1

violation contains v if {
	some s in lib.allow_statements
	some a in lib.as_array(object.get(s.statement, "Action", []))
	lower(a) in {"*", "secretsmanager:*"}
	v := {
		"message": sprintf("role %s is granted %q (%s)", [input.aws.roleArn, a, s.path]),
		"path": s.path,
	}
}
