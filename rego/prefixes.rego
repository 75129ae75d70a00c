# Helpers of the prefix rules (externalsecret-key-outside-prefix for what an ExternalSecret
# reads, pushsecret-key-outside-prefix for what a PushSecret writes): which prefixes a
# namespace is allowed, and whether each name of an input entry (policy/paths.go,
# policy/pushsecret.go) is under one of them. The names are the backend's reading of a key
# (store prefix or Vault mount applied, ARNs parsed, paths cleaned), never the raw string.
package vigil.lib.prefixes

import rego.v1

# annotated: the namespace's own prefixes (annotation vigil.dev/secret-prefix,
# comma-separated).
annotated contains trim_space(p) if {
	some p in split(object.get(object.get(object.get(input, "namespace", {}), "annotations", {}), "vigil.dev/secret-prefix", ""), ",")
	trim_space(p) != ""
}

# parameter(rule): the prefixes a ClusterSecretPolicy gives the namespace through the
# rule's parameter prefixes ({namespace: [prefix, ...]}).
parameter(rule) := {p |
	params := object.get(object.get(input, "parameters", {}), rule, {})
	some p in object.get(object.get(params, "prefixes", {}), input.namespace.name, [])
	trim_space(p) != ""
}

# has_parameter(rule): the rule's parameter prefixes names the namespace (with any list,
# even an empty one).
has_parameter(rule) if {
	params := object.get(object.get(input, "parameters", {}), rule, {})
	object.get(object.get(params, "prefixes", {}), input.namespace.name, null) != null
}

# entry_allowed: every name an entry reads (or writes) is under a prefix, either as a full
# name or (Vault stores that pin their mount) relative to the mount.
entry_allowed(prefixes, e) if {
	every n in e.names {
		name_allowed(prefixes, e, n)
	}
}

entry_allowed(prefixes, e) if {
	count(object.get(e, "relative", [])) > 0
	every n in e.relative {
		name_allowed(prefixes, e, n)
	}
}

name_allowed(prefixes, e, n) if {
	some p in prefixes
	inside(e.scope, norm(e, n), norm(e, p))
}

# Parameter Store hierarchies start with "/", which prefixes may leave out.
norm(e, s) := trim_prefix(s, "/") if object.get(e, "leadingSlashOptional", false)

norm(e, s) := s if not object.get(e, "leadingSlashOptional", false)

# root: a prefix of only slashes allows everything.
inside(_, _, p) if trim_right(p, "/") == ""

# Below the folder p names, on a "/" boundary.
inside(_, n, p) if {
	base := trim_right(p, "/")
	base != ""
	startswith(n, concat("", [base, "/"]))
}

# A prefix that ends in another separator ("team-a-") is a name prefix: it was written to
# cut names, not folders.
inside(_, n, p) if {
	name_prefix(p)
	startswith(n, p)
}

name_prefix(p) if regex.match(`[-_.:+=@]$`, p)

# A prefix without a trailing "/" also names the one secret of that name.
inside("exact", n, p) if {
	not endswith(p, "/")
	n == p
}

# A find that lists a folder (Vault, Parameter Store) may list the prefix's own folder; a
# Secrets Manager find matches names by string prefix, so "prod/pay" would also read
# "prod/payments/…" and must end in "/".
inside("dir", n, p) if {
	base := trim_right(p, "/")
	base != ""
	trim_right(n, "/") == base
}

allowed_list(prefixes) := concat(", ", sort(prefixes))

through(e) := sprintf(" through %s", [e.store]) if e.store != ""

through(e) := "" if e.store == ""

# outside_name: the first name the entry reads that no prefix allows.
outside_name(prefixes, e) := [n | some n in e.names; not name_allowed(prefixes, e, n)][0] if {
	count([n | some n in e.names; not name_allowed(prefixes, e, n)]) > 0
}

outside_name(prefixes, e) := e.names[0] if {
	count([n | some n in e.names; not name_allowed(prefixes, e, n)]) == 0
}
