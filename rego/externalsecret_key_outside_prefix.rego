# METADATA
# title: ExternalSecret reads a key outside its namespace's prefixes
# description: >-
#   The namespace (annotation vigil.dev/secret-prefix, comma-separated) or the policy
#   (parameter prefixes, by namespace) allows only keys under some prefixes, and the
#   ExternalSecret reads another. Each entry is judged by the names it reads through the
#   store it actually uses (its sourceRef.storeRef, else spec.secretStoreRef): that store's
#   prefix or Vault mount applied, ARNs parsed, Vault paths cleaned. A prefix is a folder:
#   "prod/pay" and "prod/pay/" both allow "prod/pay/db", neither allows "prod/payments/db"
#   (and "prod/pay", without the trailing "/", also allows the secret named "prod/pay"). A
#   prefix that ends in a separator other than "/" ("team-a-", "app_", "svc.") is a name
#   prefix: "team-a-" allows "team-a-db". A find without a path reads everything the store
#   can list and is outside any prefix.
# custom:
#   id: externalsecret-key-outside-prefix
#   action: Deny
#   remediation: >-
#     Read only keys under the namespace's prefixes, or ask the platform team to widen them.
package vigil.rules.externalsecret_key_outside_prefix

import rego.v1

params := object.get(object.get(input, "parameters", {}), "externalsecret-key-outside-prefix", {})

prefixes contains trim_space(p) if {
	some p in split(input.namespace.annotations["vigil.dev/secret-prefix"], ",")
	trim_space(p) != ""
}

prefixes contains p if {
	some p in object.get(object.get(params, "prefixes", {}), input.namespace.name, [])
	trim_space(p) != ""
}

violation contains v if {
	input.kind == "ExternalSecret"
	count(prefixes) > 0
	some e in object.get(input, "entries", [])
	not entry_allowed(e)
	v := {"message": message(e), "path": e.path}
}

# An entry is allowed when every name it reads is under a prefix, either as a full name or
# (Vault stores that pin their mount) relative to the mount.
entry_allowed(e) if {
	every n in e.names {
		name_allowed(e, n)
	}
}

entry_allowed(e) if {
	count(object.get(e, "relative", [])) > 0
	every n in e.relative {
		name_allowed(e, n)
	}
}

name_allowed(e, n) if {
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

allowed_list := concat(", ", sort(prefixes))

through(e) := sprintf(" through %s", [e.store]) if e.store != ""

through(e) := "" if e.store == ""

message(e) := sprintf("%s reads %s, outside the prefixes allowed in namespace %s (%s)%s: set find.path to a path under one of them", [e.path, found(e), input.namespace.name, allowed_list, through(e)]) if e.find

message(e) := sprintf("%s reads %q, outside the prefixes allowed in namespace %s (%s)%s", [e.path, outside_name(e), input.namespace.name, allowed_list, through(e)]) if not e.find

found(e) := "everything the store can list" if {
	every n in e.names {
		trim(n, "/") == ""
	}
}

found(e) := sprintf("every secret under %q", [outside_name(e)]) if {
	some n in e.names
	trim(n, "/") != ""
}

# outside_name: the first name the entry reads that no prefix allows.
outside_name(e) := [n | some n in e.names; not name_allowed(e, n)][0] if {
	count([n | some n in e.names; not name_allowed(e, n)]) > 0
}

outside_name(e) := e.names[0] if {
	count([n | some n in e.names; not name_allowed(e, n)]) == 0
}
