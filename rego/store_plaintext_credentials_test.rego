package vigil.rules.store_plaintext_credentials_test

import data.vigil.rules.store_plaintext_credentials as rule
import rego.v1

vault(url) := {"kind": "SecretStore", "object": {"metadata": {"name": "v"}, "spec": {"provider": {"vault": {"server": url}}}}}

kube(url) := {"kind": "ClusterSecretStore", "object": {"metadata": {"name": "k"}, "spec": {"provider": {"kubernetes": {"server": {"url": url}}}}}}

allow(inp, hosts) := object.union(inp, {"parameters": {"store-plaintext-credentials": {"allowHTTPHosts": hosts}}})

test_vault_http_denied if {
	count(rule.violation) == 1 with input as vault("http://vault.example:8200")
}

test_vault_http_upper_case_scheme_denied if {
	count(rule.violation) == 1 with input as vault("HTTP://vault.example:8200")
}

test_vault_https_passes if {
	count(rule.violation) == 0 with input as vault("https://vault.example:8200")
}

test_kubernetes_http_denied if {
	count(rule.violation) == 1 with input as kube("http://api.other:6443")
}

test_kubernetes_bare_host_is_https if {
	count(rule.violation) == 0 with input as kube("kubernetes.default")
}

test_allowed_host_passes if {
	count(rule.violation) == 0 with input as allow(vault("http://127.0.0.1:8200/"), ["127.0.0.1"])
	count(rule.violation) == 0 with input as allow(vault("http://Vault.Dev.svc:8200"), ["vault.dev.svc"])
}

test_allowed_host_is_exact if {
	# a suffix, a user-info trick or another port of the same name is not another host
	count(rule.violation) == 1 with input as allow(vault("http://127.0.0.1.evil.example:8200"), ["127.0.0.1"])
	count(rule.violation) == 1 with input as allow(vault("http://127.0.0.1@evil.example:8200"), ["127.0.0.1"])
	count(rule.violation) == 0 with input as allow(vault("http://evil.example@127.0.0.1:8200"), ["127.0.0.1"])
}

test_ipv6_host if {
	count(rule.violation) == 0 with input as allow(vault("http://[::1]:8200"), ["::1"])
	count(rule.violation) == 1 with input as vault("http://[::1]:8200")
}

test_generator_http_denied if {
	count(rule.violation) == 1 with input as {"kind": "VaultDynamicSecret", "object": {"metadata": {"name": "db"}, "spec": {"provider": {"server": "http://vault:8200"}}}}
}

test_message_names_host_and_path if {
	some v in rule.violation with input as vault("http://user:pw@vault.example:8200")
	v.path == "spec.provider.vault.server"
	contains(v.message, `"vault.example"`)
	not contains(v.message, "pw")
}

test_other_kinds_ignored if {
	count(rule.violation) == 0 with input as {"kind": "ExternalSecret", "object": {"metadata": {"name": "e"}, "spec": {}}}
}
