# METADATA
# title: IAM role reads secrets on a wildcard resource
# description: >-
#   The store's role may read the value of every secret or parameter of an account (any
#   resource pattern that can match every name, such as "*", "secret:*-??????" or a
#   NotResource), or, in a namespace with vigil.dev/secret-prefix, one outside its prefixes.
#   IAM's own semantics decide (policy/iameval.go): Deny statements subtract, permission
#   boundaries cap, and a grant that needs a Condition is a Warn that says so. One
#   compromised namespace could otherwise read every secret of the account. IAM that cannot
#   be read is reported with the action of parameter unknownIAM (default Deny for a
#   SecretStore, Warn for a ClusterSecretStore).
# custom:
#   id: aws-wildcard-secret-resource
#   action: Deny
#   remediation: >-
#     Scope the role's policy to the prefix this store needs, e.g.
#     arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*.
package vigil.rules.aws_wildcard_secret_resource

import data.vigil.lib
import rego.v1

params := object.get(object.get(input, "parameters", {}), "aws-wildcard-secret-resource", {})

# unknown_action: what IAM that cannot be read causes. Cluster admins write
# ClusterSecretStores, so they default to Warn; tenants write SecretStores: Deny.
unknown_action := a if {
	a := params.unknownIAM
	a in {"Deny", "Warn", "Audit"}
} else := "Warn" if {
	input.kind == "ClusterSecretStore"
} else := "Deny"

role := object.get(object.get(input, "aws", {}), "roleArn", "the store's role")

violation contains v if {
	some f in input.aws.iam.analysis.findings
	f.question == "read-every-secret"
	v := object.union(lib.iam_action(f), {
		"message": sprintf("role %s may read every %s%s: %s on %s (%s)%s", [role, lib.iam_service_names[f.service], except_note(f), f.action, concat("; ", f.resources), concat(", ", f.grants), lib.iam_caveats(f)]),
		"path": lib.iam_path(f),
	})
}

except_note(f) := " but those a NotResource or Deny singles out" if f.except

else := ""

violation contains v if {
	some f in input.aws.iam.analysis.findings
	f.question == "read-outside-prefix"
	v := object.union(lib.iam_action(f), {
		"message": sprintf("role %s may read %ss outside the prefixes of namespace %s (%s), e.g. %s: %s on %s (%s)%s", [role, lib.iam_service_names[f.service], input.namespace.name, input.namespace.annotations["vigil.dev/secret-prefix"], f.example, f.action, concat("; ", f.resources), concat(", ", f.grants), lib.iam_caveats(f)]),
		"path": lib.iam_path(f),
	})
}

# IAM could not be read (or analysed): say so instead of passing silently.
violation contains v if {
	input.aws.iam.status == "unknown"
	v := {
		"message": sprintf("the IAM policies of %s could not be read (%s), so wildcard grants were not checked; parameter unknownIAM of this rule sets what this causes (%s)", [role, input.aws.iam.reason, unknown_action]),
		"path": "spec.provider.aws",
		"action": unknown_action,
	}
}

# The role does not exist: nothing to check, but worth knowing.
violation contains v if {
	input.aws.iam.status == "absent"
	v := {
		"message": sprintf("role %s does not exist in IAM, so it grants nothing and the store cannot authenticate with it", [role]),
		"path": "spec.provider.aws",
		"action": "Warn",
	}
}
