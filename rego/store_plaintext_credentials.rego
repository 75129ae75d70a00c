# METADATA
# title: Store sends credentials over plain http
# description: >-
#   A Vault or Kubernetes store (or a VaultDynamicSecret generator) sends tokens to its
#   server: Vault tokens, AppRole secret ids, ServiceAccount tokens the controller mints. Over
#   plain http anyone on the path reads them. Hosts listed in the parameter allowHTTPHosts
#   (development servers, e.g. ["127.0.0.1", "vault.dev.svc"]) are allowed.
# custom:
#   id: store-plaintext-credentials
#   action: Deny
#   remediation: >-
#     Use an https:// server address (with caBundle for a private CA). For a development
#     server, list its host in this rule's parameter allowHTTPHosts and in the controller's
#     --allow-insecure-store-hosts.
package vigil.rules.store_plaintext_credentials

import rego.v1

params := object.get(object.get(input, "parameters", {}), "store-plaintext-credentials", {})

allowed_hosts := {lower(h) | some h in object.get(params, "allowHTTPHosts", [])}

# servers: each token-bearing address of the object, with its field path. A Kubernetes
# store's address without a scheme means https (ESO's reading).
servers contains s if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	url := input.object.spec.provider.vault.server
	s := {"url": url, "path": "spec.provider.vault.server"}
}

servers contains s if {
	input.kind in {"SecretStore", "ClusterSecretStore"}
	url := input.object.spec.provider.kubernetes.server.url
	s := {"url": url, "path": "spec.provider.kubernetes.server.url"}
}

servers contains s if {
	input.kind == "VaultDynamicSecret"
	url := input.object.spec.provider.server
	s := {"url": url, "path": "spec.provider.server"}
}

# plain_http_host: the host of an http:// address (no user info, no port; IPv6 without
# brackets), lower case.
plain_http_host(url) := host if {
	startswith(lower(url), "http://")
	rest := substring(url, 7, -1)
	authority := split(split(split(rest, "/")[0], "?")[0], "#")[0]
	parts := split(authority, "@")
	hostport := parts[count(parts) - 1]
	host := lower(strip_port(hostport))
}

strip_port(hp) := trim_prefix(split(hp, "]")[0], "[") if startswith(hp, "[")

strip_port(hp) := split(hp, ":")[0] if not startswith(hp, "[")

violation contains v if {
	some s in servers
	host := plain_http_host(s.url)
	not host in allowed_hosts
	v := {
		"message": sprintf("%s %s sends tokens over plain http to host %q; use https (or allow this development host in parameter allowHTTPHosts)", [input.kind, input.object.metadata.name, host]),
		"path": s.path,
	}
}
