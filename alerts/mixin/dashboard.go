package mixin

import (
	"bytes"
	"encoding/json"
)

// Panel is one dashboard panel; the expressions use [[.Sel]] like the rules, so the
// dashboard shows the series the alerts judge.
type Panel struct {
	Title   string
	Type    string // stat or timeseries
	Unit    string
	X, Y    int
	W, H    int
	Targets []Target
}

// Target is one query of a panel.
type Target struct {
	Expr   string
	Legend string
}

const ns = `namespace=~"$namespace"`

// Panels is the Vigil overview dashboard: the state a user checks first (not synced, stale,
// stores, Deny violations) as stats, then the rates and latencies behind them.
var Panels = []Panel{
	{Title: "ExternalSecrets not synced", Type: "stat", Unit: "short", X: 0, Y: 0, W: 6, H: 4, Targets: []Target{
		{Expr: `count(vigil_externalsecret_ready{reason!~"SecretSynced|SecretDeleted", ` + ns + `, [[.Sel]]} == 1) or vector(0)`}}},
	{Title: "Stale ExternalSecrets (last success > [[.Threshold]]x refresh interval)", Type: "stat", Unit: "short",
		X: 6, Y: 0, W: 6, H: 4, Targets: []Target{{Expr: `count((time() - max by (namespace, name) ` +
			`(vigil_externalsecret_last_success_timestamp_seconds{` + ns + `, [[.Sel]]})) > [[.Threshold]] * max by (namespace, name) ` +
			`(vigil_externalsecret_refresh_interval_seconds{` + ns + `, [[.Sel]]} > 0)) or vector(0)`}}},
	{Title: "Stores not ready", Type: "stat", Unit: "short", X: 12, Y: 0, W: 6, H: 4, Targets: []Target{
		{Expr: `(sum(secretstore_status_condition{condition="Ready", status="False", ` + ns + `, [[.Sel]]}) or vector(0)) + ` +
			`(sum(clustersecretstore_status_condition{condition="Ready", status="False", [[.Sel]]}) or vector(0))`}}},
	{Title: "Deny policy violations", Type: "stat", Unit: "short", X: 18, Y: 0, W: 6, H: 4, Targets: []Target{
		{Expr: `sum(vigil_policy_violations{action="Deny", ` + ns + `, [[.Sel]]}) or vector(0)`}}},
	{Title: "Sync state by reason", Type: "timeseries", Unit: "short", X: 0, Y: 4, W: 12, H: 8, Targets: []Target{
		{Expr: `sum by (reason) (vigil_externalsecret_ready{` + ns + `, [[.Sel]]})`, Legend: "{{reason}}"}}},
	{Title: "Oldest successful sync, by namespace", Type: "timeseries", Unit: "s", X: 12, Y: 4, W: 12, H: 8, Targets: []Target{
		{Expr: `max by (namespace) (time() - vigil_externalsecret_last_success_timestamp_seconds{` + ns + `, [[.Sel]]})`,
			Legend: "{{namespace}}"}}},
	{Title: "Provider calls by status", Type: "timeseries", Unit: "reqps", X: 0, Y: 12, W: 12, H: 8, Targets: []Target{
		{Expr: `sum by (provider, call, status) (rate(externalsecret_provider_api_calls_count{[[.Sel]]}[5m]))`,
			Legend: "{{provider}} {{call}} {{status}}"}}},
	{Title: "Provider latency p99", Type: "timeseries", Unit: "s", X: 12, Y: 12, W: 12, H: 8, Targets: []Target{
		{Expr: `histogram_quantile(0.99, sum by (provider, call, le) (rate(vigil_provider_request_duration_seconds_bucket{[[.Sel]]}[5m])))`,
			Legend: "{{provider}} {{call}}"}}},
	{Title: "Sync attempts and errors", Type: "timeseries", Unit: "ops", X: 0, Y: 20, W: 12, H: 8, Targets: []Target{
		{Expr: `sum(rate(externalsecret_sync_calls_total{` + ns + `, [[.Sel]]}[5m]))`, Legend: "attempts"},
		{Expr: `sum(rate(externalsecret_sync_calls_error{` + ns + `, [[.Sel]]}[5m]))`, Legend: "errors"}}},
	{Title: "Reconcile duration p99 by controller", Type: "timeseries", Unit: "s", X: 12, Y: 20, W: 12, H: 8, Targets: []Target{
		{Expr: `histogram_quantile(0.99, sum by (controller, le) (rate(vigil_reconcile_duration_seconds_bucket{[[.Sel]]}[5m])))`,
			Legend: "{{controller}}"}}},
	{Title: "Policy violations by rule", Type: "timeseries", Unit: "short", X: 0, Y: 28, W: 12, H: 8, Targets: []Target{
		{Expr: `sum by (rule, action) (vigil_policy_violations{` + ns + `, [[.Sel]]})`, Legend: "{{rule}} ({{action}})"}}},
	{Title: "Rollouts", Type: "timeseries", Unit: "short", X: 12, Y: 28, W: 12, H: 8, Targets: []Target{
		{Expr: `sum by (kind, result) (increase(vigil_rollouts_total{[[.Sel]]}[1h]))`, Legend: "{{kind}} {{result}}"},
		{Expr: `sum by (reason) (increase(vigil_rollouts_skipped_total{[[.Sel]]}[1h]))`, Legend: "skipped: {{reason}}"}}},
}

// HelmSelector and HelmStaleThreshold stand for the job selector and the threshold of
// VigilExternalSecretStale in the chart's copy of the dashboard; the chart's dashboard
// template replaces them with the release's values, JSON-escaped.
const (
	HelmSelector       = "VIGIL_JOB_SELECTOR"
	HelmStaleThreshold = "VIGIL_STALE_THRESHOLD"
)

type jsonObject = map[string]any

var datasource = jsonObject{"type": "prometheus", "uid": "${datasource}"}

// Dashboard renders the Grafana dashboard JSON with sel as the job selector and
// staleThreshold as the stale panel's multiple of the refresh interval.
func Dashboard(sel, staleThreshold string) ([]byte, error) {
	v := vars{Sel: sel, Threshold: staleThreshold}
	nsQuery, err := fill("namespace variable", "label_values(vigil_externalsecret_ready{[[.Sel]]}, namespace)", v)
	if err != nil {
		return nil, err
	}
	var panels []any
	for i, p := range Panels {
		var targets []any
		for j, t := range p.Targets {
			expr, err := fill(p.Title, t.Expr, v)
			if err != nil {
				return nil, err
			}
			targets = append(targets, jsonObject{"refId": string(rune('A' + j)), "expr": expr, "legendFormat": t.Legend})
		}
		title, err := fill(p.Title, p.Title, v)
		if err != nil {
			return nil, err
		}
		panels = append(panels, jsonObject{
			"id": i + 1, "title": title, "type": p.Type, "datasource": datasource,
			"gridPos":     jsonObject{"x": p.X, "y": p.Y, "w": p.W, "h": p.H},
			"targets":     targets,
			"fieldConfig": jsonObject{"defaults": jsonObject{"unit": p.Unit}, "overrides": []any{}},
			"options":     jsonObject{},
		})
	}
	dash := jsonObject{
		"title": "Vigil", "uid": "vigil-overview", "tags": []string{"vigil", "external-secrets"},
		"timezone": "browser", "schemaVersion": 39, "version": 1, "refresh": "1m",
		"time": jsonObject{"from": "now-6h", "to": "now"},
		"templating": jsonObject{"list": []any{
			jsonObject{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
			jsonObject{
				"name": "namespace", "type": "query", "datasource": datasource, "query": nsQuery,
				"includeAll": true, "multi": true, "allValue": ".*",
				"current": jsonObject{"text": "All", "value": "$__all"}, "label": "Namespace", "refresh": 2,
			},
		}},
		"panels": panels,
	}
	// No HTML escaping: the expressions keep their > and & readable.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(dash); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
