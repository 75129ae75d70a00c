# Helpers shared by the built-in rules. The IAM rules read input.aws.iam.analysis.findings,
# which the Go evaluator (policy/iameval.go) computes with IAM's semantics; the helpers
# below that read policy documents directly (allow_statements, action_matches, ...) stay for
# custom rules, which may import them.
package vigil.lib

import rego.v1

iam_service_names := {"secretsmanager": "Secrets Manager secret", "ssm": "Parameter Store parameter"}

# iam_action: a grant that holds only under a Condition (or a policy variable) is a Warn.
iam_action(f) := {} if f.certain

iam_action(f) := {"action": "Warn"} if not f.certain

iam_path(f) := f.grants[0] if count(f.grants) > 0

iam_path(f) := "spec.provider.aws" if count(f.grants) == 0

# iam_caveats: what the verdict depends on, in words.
iam_caveats(f) := concat("", [conditional_note(f), denies_note(f)])

conditional_note(f) := "" if f.certain

conditional_note(f) := sprintf("; only if the Condition or policy variable of %s allows it, which is not checked", [concat(", ", object.get(f, "conditional", []))]) if not f.certain

denies_note(f) := "" if count(object.get(f, "uncountedDenies", [])) == 0

denies_note(f) := sprintf("; the Deny under a Condition or policy variable of %s may narrow it and was not counted", [concat(", ", f.uncountedDenies)]) if count(object.get(f, "uncountedDenies", [])) > 0

# as_array: IAM lets Statement, Action, Resource (and their Not forms) be a string or a list.
as_array(x) := x if is_array(x)

as_array(x) := [x] if not is_array(x)

# Actions that read secret values.
secret_read_actions := [
	"secretsmanager:getsecretvalue",
	"ssm:getparameter",
	"ssm:getparameters",
	"ssm:getparametersbypath",
	"ssm:getparameterhistory",
]

# action_matches: an IAM action pattern (case-insensitive, * and ? wildcards) covers action.
# Every other character is literal, as in IAM: regular-expression characters are escaped
# (FuzzActionMatches in policy/ compares this with IAM's semantics).
action_matches(pattern, action) if {
	p := strings.replace_n(regex_escapes, lower(pattern))
	regex.match(concat("", ["(?s)^", p, "$"]), lower(action))
}

regex_escapes := {
	"\\": "\\\\", ".": "\\.", "+": "\\+", "(": "\\(", ")": "\\)", "[": "\\[", "]": "\\]",
	"{": "\\{", "}": "\\}", "|": "\\|", "^": "\\^", "$": "\\$",
	"*": ".*", "?": ".",
}

# allow_statements: the Allow statements of every attached policy, with where they are.
# These helpers read the documents literally (no Deny, no boundary, no Conditions); rules
# that ask what a role may do should read input.aws.iam.analysis.findings instead.
allow_statements contains s if {
	some policy in input.aws.iam.policies
	statements := as_array(object.get(policy.document, "Statement", []))
	some i, st in statements
	st.Effect == "Allow"
	s := {"statement": st, "path": sprintf("iam:%s/Statement[%d]", [policy.name, i])}
}

# grants_secret_read: a statement allows some action that reads secret values.
grants_secret_read(st) if {
	some pattern in as_array(object.get(st, "Action", []))
	some action in secret_read_actions
	action_matches(pattern, action)
}

grants_secret_read(st) if {
	not_actions := as_array(st.NotAction)
	some action in secret_read_actions
	not covered(not_actions, action)
}

covered(patterns, action) if {
	some p in patterns
	action_matches(p, action)
}

# wildcard_resource: a resource that names every secret or parameter.
wildcard_resource(r) if r == "*"

wildcard_resource(r) if {
	parts := split(r, ":")
	count(parts) < 6
	endswith(r, "*")
}

wildcard_resource(r) if {
	parts := split(r, ":")
	count(parts) >= 6
	parts[2] == "*"
}

wildcard_resource(r) if {
	parts := split(r, ":")
	count(parts) >= 6
	name := secret_name(parts[2], concat(":", array.slice(parts, 5, count(parts))))
	regex.match(`^[*?]*$`, name)
}

# secret_name: the name part of a Secrets Manager or SSM resource, e.g. "prod/payments/*".
secret_name("secretsmanager", res) := trim_prefix(trim_prefix(res, "secret:"), "secret")

secret_name("ssm", res) := trim_prefix(trim_prefix(res, "parameter/"), "parameter")

secret_name(service, res) := res if not service in {"secretsmanager", "ssm"}
