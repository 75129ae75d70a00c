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

// ns filters by the dashboard's namespace variable on the namespace label ([[.NS]]).
const ns = `[[.NS]]=~"$namespace"`

// Panels is the Vigil overview dashboard: the state a user checks first (not synced, stale,
// stores, Deny violations) as stats in the top row, then the rates and latencies behind them
// in two columns.
var Panels = []Panel{
	stat("ExternalSecrets not synced", 0,
		`count(vigil_externalsecret_ready{reason!~"SecretSynced|SecretDeleted", `+ns+`, [[.Sel]]} == 1) or vector(0)`),
	stat("Stale ExternalSecrets (last success > [[.Threshold]]x refresh interval)", 6,
		`count((time() - max by ([[.NS]], name) (vigil_externalsecret_last_success_timestamp_seconds{`+ns+`, [[.Sel]]}))`+
			` > [[.Threshold]] * max by ([[.NS]], name) `+
			`(vigil_externalsecret_refresh_interval_seconds{`+ns+`, [[.Sel]]} > 0)) or vector(0)`),
	stat("Stores not ready", 12,
		`(sum(secretstore_status_condition{condition="Ready", status="False", `+ns+`, [[.Sel]]}) or vector(0)) + `+
			`(sum(clustersecretstore_status_condition{condition="Ready", status="False", [[.Sel]]}) or vector(0))`),
	stat("Deny policy violations", 18, `sum(vigil_policy_violations{action="Deny", `+ns+`, [[.Sel]]}) or vector(0)`),
	graph("Sync state by reason", "short", 0, 4,
		Target{`sum by (reason) (vigil_externalsecret_ready{` + ns + `, [[.Sel]]})`, "{{reason}}"}),
	graph("Oldest successful sync, by namespace", "s", 12, 4, Target{
		`max by ([[.NS]]) (time() - vigil_externalsecret_last_success_timestamp_seconds{` + ns + `, [[.Sel]]})`,
		"{{[[.NS]]}}"}),
	graph("Provider calls by status", "reqps", 0, 12, Target{
		`sum by (provider, call, status) (rate(externalsecret_provider_api_calls_count{[[.Sel]]}[5m]))`,
		"{{provider}} {{call}} {{status}}"}),
	graph("Provider latency p99", "s", 12, 12, Target{
		`histogram_quantile(0.99, sum by (provider, call, le) ` +
			`(rate(vigil_provider_request_duration_seconds_bucket{[[.Sel]]}[5m])))`,
		"{{provider}} {{call}}"}),
	graph("Sync attempts and errors", "ops", 0, 20,
		Target{`sum(rate(externalsecret_sync_calls_total{` + ns + `, [[.Sel]]}[5m]))`, "attempts"},
		Target{`sum(rate(externalsecret_sync_calls_error{` + ns + `, [[.Sel]]}[5m]))`, "errors"}),
	graph("Reconcile duration p99 by controller", "s", 12, 20, Target{
		`histogram_quantile(0.99, sum by (controller, le) (rate(vigil_reconcile_duration_seconds_bucket{[[.Sel]]}[5m])))`,
		"{{controller}}"}),
	graph("Policy violations by rule", "short", 0, 28,
		Target{`sum by (rule, action) (vigil_policy_violations{` + ns + `, [[.Sel]]})`, "{{rule}} ({{action}})"}),
	graph("Rollouts", "short", 12, 28,
		Target{`sum by (kind, result) (increase(vigil_rollouts_total{[[.Sel]]}[1h]))`, "{{kind}} {{result}}"},
		Target{`sum by (reason) (increase(vigil_rollouts_skipped_total{[[.Sel]]}[1h]))`, "skipped: {{reason}}"}),
	graph("PushSecret state by reason", "short", 0, 36,
		Target{`sum by (reason) (vigil_pushsecret_ready{` + ns + `, [[.Sel]]})`, "{{reason}}"}),
}

// stat is a number in the top row, x columns from the left.
func stat(title string, x int, expr string) Panel {
	return Panel{Title: title, Type: "stat", Unit: "short", X: x, Y: 0, W: 6, H: 4, Targets: []Target{{Expr: expr}}}
}

// graph is a half-width time series at (x, y).
func graph(title, unit string, x, y int, targets ...Target) Panel {
	return Panel{Title: title, Type: "timeseries", Unit: unit, X: x, Y: y, W: 12, H: 8, Targets: targets}
}

// HelmSelector, HelmNamespaceLabel and HelmStaleThreshold stand for the job selector, the
// namespace label and the threshold of VigilExternalSecretStale in the chart's copy of the
// dashboard; the chart's dashboard template replaces them with the release's values.
const (
	HelmSelector       = "VIGIL_JOB_SELECTOR"
	HelmNamespaceLabel = "VIGIL_NAMESPACE_LABEL"
	HelmStaleThreshold = "VIGIL_STALE_THRESHOLD"
)

type jsonObject = map[string]any

// The dashboard's JSON model (the parts Vigil sets), in Grafana's field names.
type (
	dsRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	gridPos struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	}
	target struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	}
	// variable is a dashboard variable: the data source, or the namespace query.
	variable struct {
		Name       string     `json:"name"`
		Type       string     `json:"type"`
		Label      string     `json:"label"`
		Query      string     `json:"query"`
		Datasource *dsRef     `json:"datasource,omitempty"`
		IncludeAll bool       `json:"includeAll,omitempty"`
		Multi      bool       `json:"multi,omitempty"`
		AllValue   string     `json:"allValue,omitempty"`
		Current    jsonObject `json:"current,omitempty"`
		Refresh    int        `json:"refresh,omitempty"`
	}
	panelJSON struct {
		ID          int        `json:"id"`
		Title       string     `json:"title"`
		Type        string     `json:"type"`
		Datasource  dsRef      `json:"datasource"`
		GridPos     gridPos    `json:"gridPos"`
		Targets     []target   `json:"targets"`
		FieldConfig jsonObject `json:"fieldConfig"`
		Options     jsonObject `json:"options"`
	}
)

var datasource = dsRef{Type: "prometheus", UID: "${datasource}"}

// Dashboard renders the Grafana dashboard JSON with sel as the job selector, nsLabel as the
// label of an object's namespace and staleThreshold as the stale panel's multiple of the
// refresh interval.
func Dashboard(sel, nsLabel, staleThreshold string) ([]byte, error) {
	v := vars{Sel: sel, NS: nsLabel, Threshold: staleThreshold}
	nsQuery, err := fill("namespace variable", "label_values(vigil_externalsecret_ready{[[.Sel]]}, [[.NS]])", v)
	if err != nil {
		return nil, err
	}
	var panels []panelJSON
	for i, p := range Panels {
		panel, err := renderPanel(p, v)
		if err != nil {
			return nil, err
		}
		panel.ID = i + 1
		panels = append(panels, panel)
	}
	dash := jsonObject{
		"title": "Vigil", "uid": "vigil-overview", "tags": []string{"vigil", "external-secrets"},
		"timezone": "browser", "schemaVersion": 39, "version": 1, "refresh": "1m",
		"time": jsonObject{"from": "now-6h", "to": "now"},
		"templating": jsonObject{"list": []variable{
			{Name: "datasource", Type: "datasource", Query: "prometheus", Label: "Data source"},
			{
				Name: "namespace", Type: "query", Datasource: &datasource, Query: nsQuery,
				IncludeAll: true, Multi: true, AllValue: ".*",
				Current: jsonObject{"text": "All", "value": "$__all"}, Label: "Namespace", Refresh: 2,
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

// renderPanel fills a panel's title, queries and legends.
func renderPanel(p Panel, v vars) (panelJSON, error) {
	var targets []target
	for j, t := range p.Targets {
		expr, err := fill(p.Title, t.Expr, v)
		if err != nil {
			return panelJSON{}, err
		}
		legend, err := fill(p.Title, t.Legend, v)
		if err != nil {
			return panelJSON{}, err
		}
		targets = append(targets, target{RefID: string(rune('A' + j)), Expr: expr, LegendFormat: legend})
	}
	title, err := fill(p.Title, p.Title, v)
	if err != nil {
		return panelJSON{}, err
	}
	return panelJSON{
		Title: title, Type: p.Type, Datasource: datasource,
		GridPos:     gridPos{X: p.X, Y: p.Y, W: p.W, H: p.H},
		Targets:     targets,
		FieldConfig: jsonObject{"defaults": jsonObject{"unit": p.Unit}, "overrides": []any{}},
		Options:     jsonObject{},
	}, nil
}
