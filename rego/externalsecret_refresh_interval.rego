# METADATA
# title: Refresh interval outside the allowed range
# description: >-
#   Below the floor (parameter min, default 1m) refreshes cost provider quota; above the
#   ceiling (parameter max, default 24h) or 0 (never) a rotated secret arrives too late.
# custom:
#   id: externalsecret-refresh-interval
#   action: Warn
#   remediation: Set spec.refreshInterval between the floor and the ceiling.
package vigil.rules.externalsecret_refresh_interval

import rego.v1

params := object.get(object.get(input, "parameters", {}), "externalsecret-refresh-interval", {})

min_interval := time.parse_duration_ns(object.get(params, "min", "1m"))

max_interval := time.parse_duration_ns(object.get(params, "max", "24h"))

interval := time.parse_duration_ns(object.get(input.object.spec, "refreshInterval", "1h"))

refresh_policy := object.get(input.object.spec, "refreshPolicy", "Periodic")

periodic if not refresh_policy in {"CreatedOnce", "OnChange"}

violation contains v if {
	input.kind == "ExternalSecret"
	periodic
	interval > 0
	interval < min_interval
	v := {"message": sprintf("refreshInterval %s is below the floor of %s", [input.object.spec.refreshInterval, object.get(params, "min", "1m")]), "path": "spec.refreshInterval"}
}

violation contains v if {
	input.kind == "ExternalSecret"
	periodic
	interval > max_interval
	v := {"message": sprintf("refreshInterval %s is above the ceiling of %s", [input.object.spec.refreshInterval, object.get(params, "max", "24h")]), "path": "spec.refreshInterval"}
}

violation contains v if {
	input.kind == "ExternalSecret"
	periodic
	interval == 0
	v := {"message": sprintf("refreshInterval 0 never refreshes; the ceiling is %s", [object.get(params, "max", "24h")]), "path": "spec.refreshInterval"}
}
