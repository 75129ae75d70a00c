# METADATA
# title: IAM role reads secrets on a wildcard resource
# description: >-
#   The store's role is allowed to read secret values on "*", on an ARN whose secret or
#   parameter name is a bare wildcard, or through NotResource. One compromised namespace then
#   reads every secret of the account.
# custom:
#   id: aws-wildcard-secret-resource
#   action: Deny
#   remediation: >-
#     Scope the role's policy to the prefix this store needs, e.g.
#     arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*.
package vigil.rules.aws_wildcard_secret_resource

import data.vigil.lib
import rego.v1

violation contains v if {
	some s in lib.allow_statements
	lib.grants_secret_read(s.statement)
	some r in lib.as_array(object.get(s.statement, "Resource", []))
	lib.wildcard_resource(r)
	v := {
		"message": sprintf("role %s may read secrets on the wildcard resource %q (%s)", [input.aws.roleArn, r, s.path]),
		"path": s.path,
	}
}

violation contains v if {
	some s in lib.allow_statements
	lib.grants_secret_read(s.statement)
	s.statement.NotResource
	v := {
		"message": sprintf("role %s may read secrets on every resource except those in NotResource (%s)", [input.aws.roleArn, s.path]),
		"path": s.path,
	}
}

# IAM could not be read: say so instead of passing silently (as a warning: nothing is known
# to be wrong).
violation contains v if {
	input.aws.iam.status == "unknown"
	v := {
		"message": sprintf("the IAM policies of %s could not be read (%s), so wildcard grants were not checked", [object.get(input.aws, "roleArn", "the store's credentials"), input.aws.iam.reason]),
		"path": "spec.provider.aws",
		"action": "Warn",
	}
}
