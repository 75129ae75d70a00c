// Package mixin is the one source of Vigil's alert rules and Grafana dashboard, in the manner
// of a monitoring mixin: the rules and panels are written once here with placeholders for
// what a user tunes (the job selector, the cluster label, thresholds, `for`, severity, the
// runbook URL base and extra labels), and hack/alerts-gen renders them
//
//   - with the defaults of the prometheusRule section of charts/vigil/values.yaml into
//     alerts/ (the files promtool tests and plain Prometheus users load), and
//   - as Helm template text into the chart, where the same placeholders read the chart's
//     values, so that every tuned value reaches the PrometheusRule and the dashboard.
//
// Placeholders use [[ ]] delimiters so they never clash with the {{ }} of Prometheus'
// annotation templates, Helm or Grafana legends.
package mixin

// Rule is one alert, written once. Expr and Description may use the placeholders
// [[.Sel]] (the job selector's matchers, always last inside {}), [[.By]] (the cluster label
// and a comma, first inside by (...)), [[.Threshold]] and [[.For]]. A selector of a series
// with an object's namespace stands between [[.NsOpen]] and [[.NsClose]]: when the namespace
// label is another one (exported_namespace, where Prometheus Operator moves it unless the
// ServiceMonitor honours the series' labels), they copy it back into "namespace" first.
type Rule struct {
	Group string
	Alert string
	// Expr is the PromQL expression; Note says why it is written so (a comment in the
	// generated chart template).
	Expr string
	Note string
	// Threshold is true when the alert has a tunable threshold ([[.Threshold]]).
	Threshold bool
	Summary   string
	// Description is folded into one line (a YAML >- block): write it on several lines.
	Description string
}

// Rules are Vigil's alerts, in the order of the generated files. They follow the mixin
// conventions: CamelCase names with the Vigil prefix, a severity label, and summary,
// description and runbook_url annotations.
var Rules = []Rule{
	{
		Group: "vigil.externalsecrets",
		Alert: "VigilExternalSecretNotSynced",
		Note:  "SecretDeleted is a state the user asked for (deletionPolicy Delete), not a failure.",
		Expr: `max by ([[.By]]namespace, name, reason) (
  [[.NsOpen]]vigil_externalsecret_ready{reason!~"SecretSynced|SecretDeleted", [[.Sel]]}[[.NsClose]]
) == 1`,
		Summary: "An ExternalSecret is not synced.",
		Description: `ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} has not synced for [[.For]]
(reason {{ $labels.reason }}). Its Secret keeps the last good data.`,
	},
	{
		Group: "vigil.externalsecrets",
		Alert: "VigilExternalSecretStale",
		Note: "Stale: the last successful sync is older than threshold times the refresh interval. " +
			"The condition accumulates time by itself, so it needs no `for`.",
		Expr: `(
  time() - max by ([[.By]]namespace, name) (
    [[.NsOpen]]vigil_externalsecret_last_success_timestamp_seconds{[[.Sel]]}[[.NsClose]]
  )
) > [[.Threshold]] * max by ([[.By]]namespace, name) (
  [[.NsOpen]]vigil_externalsecret_refresh_interval_seconds{[[.Sel]]}[[.NsClose]] > 0
)`,
		Threshold: true,
		Summary:   "An ExternalSecret has not been refreshed for several refresh intervals.",
		Description: `ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} last synced successfully
{{ $value | humanizeDuration }} ago, more than [[.Threshold]] times its refresh interval: its Secret
may hold a credential that has been rotated away.`,
	},
	{
		Group: "vigil.pushsecrets",
		Alert: "VigilPushSecretNotSynced",
		Note: "SourceDeleted is a state the user asked for (the source Secret is gone and deletionPolicy " +
			"Delete cleaned up), not a failure.",
		Expr: `max by ([[.By]]namespace, name, reason) (
  [[.NsOpen]]vigil_pushsecret_ready{reason!~"Synced|SourceDeleted", [[.Sel]]}[[.NsClose]]
) == 1`,
		Summary: "A PushSecret is not synced.",
		Description: `PushSecret {{ $labels.namespace }}/{{ $labels.name }} has not pushed for [[.For]]
(reason {{ $labels.reason }}). The remote secrets keep what was last pushed; changes to its source
do not reach them.`,
	},
	{
		Group: "vigil.stores",
		Alert: "VigilSecretStoreNotReady",
		Expr: `max by ([[.By]]namespace, name) (
  [[.NsOpen]]secretstore_status_condition{condition="Ready", status="False", [[.Sel]]}[[.NsClose]]
) == 1
  or
max by ([[.By]]name) (
  clustersecretstore_status_condition{condition="Ready", status="False", [[.Sel]]}
) == 1`,
		Summary: "A SecretStore or ClusterSecretStore is not ready.",
		Description: `Store {{ with $labels.namespace }}{{ . }}/{{ end }}{{ $labels.name }} has not been
ready for [[.For]]; ExternalSecrets that use it cannot sync.`,
	},
	{
		Group: "vigil.stores",
		Alert: "VigilProviderErrorsHigh",
		Expr: `sum by ([[.By]]provider, call) (
  rate(externalsecret_provider_api_calls_count{status="error", [[.Sel]]}[5m])
)
  / sum by ([[.By]]provider, call) (rate(externalsecret_provider_api_calls_count{[[.Sel]]}[5m]))
  > [[.Threshold]]`,
		Threshold: true,
		Summary:   "A provider API fails too many of its calls.",
		Description: `{{ $value | humanizePercentage }} of {{ $labels.provider }} {{ $labels.call }} calls
failed over the last 5 minutes (the threshold is a ratio of [[.Threshold]]).`,
	},
	{
		Group: "vigil.guardrails",
		Alert: "VigilPolicyViolation",
		Expr: `sum by ([[.By]]rule, action, kind, namespace) (
  [[.NsOpen]]vigil_policy_violations{action="Deny", [[.Sel]]}[[.NsClose]]
) > 0`,
		Summary: "Objects violate a Deny policy.",
		Description: `{{ $value }} {{ $labels.kind }} object(s) in {{ $labels.namespace }} violate policy
rule {{ $labels.rule }}; they are blocked from syncing.`,
	},
	{
		Group: "vigil.guardrails",
		Alert: "VigilWebhookLatencyHigh",
		Expr: `histogram_quantile(0.99,
  sum by ([[.By]]webhook, le) (rate(controller_runtime_webhook_latency_seconds_bucket{[[.Sel]]}[5m]))
) > [[.Threshold]]`,
		Threshold: true,
		Summary:   "Vigil's admission webhook is slow.",
		Description: `The 99th percentile latency of webhook {{ $labels.webhook }} is
{{ $value | humanizeDuration }} (threshold [[.Threshold]]s); every create and update of a store or
ExternalSecret waits for it.`,
	},
	{
		Group:   "vigil.rollouts",
		Alert:   "VigilRolloutFailing",
		Note:    "increase over 30 minutes keeps the alert firing for a while after one failure.",
		Expr:    `sum by ([[.By]]kind) (increase(vigil_rollouts_total{result=~"failed|stopped", [[.Sel]]}[30m])) > 0`,
		Summary: "Workloads are not rolled out after a Secret changed.",
		Description: `{{ $value }} rollouts of {{ $labels.kind }} workloads failed or were stopped in the
last 30 minutes; their pods may still use old Secret data (see the Warning events).`,
	},
	{
		Group: "vigil.controller",
		Alert: "VigilControllerDown",
		Note: "The job selector names this release's scrape job (by default the job the chart's " +
			"ServiceMonitor gives it); absent() also fires when the target is gone altogether.",
		Expr:    `absent(up{[[.Sel]]} == 1)`,
		Summary: "Vigil's controller is down.",
		Description: `No Vigil controller has been scraped successfully for [[.For]]: no secret is synced,
refreshed or checked until it is back.`,
	},
}
