package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-dev/vigil/policy"
)

func printFindings(w io.Writer, format string, findings []finding, set *policy.Set) error {
	switch format {
	case formatJSON:
		if findings == nil {
			findings = []finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"findings": findings})
	case "sarif":
		return printSARIF(w, findings, set)
	}
	return printText(w, findings)
}

// printText writes one line per finding in the file:line:column form editors and CI logs
// link to.
func printText(w io.Writer, findings []finding) error {
	var b strings.Builder
	deny := 0
	for _, f := range findings {
		obj := f.Name
		if f.Namespace != "" {
			obj = f.Namespace + "/" + f.Name
		}
		rendered := ""
		if f.Rendered {
			rendered = " (rendered by helm template)"
		}
		fmt.Fprintf(&b, "%s:%d:%d:%s %s %s %s %s: %s\n",
			f.File, f.Line, f.Column, rendered, f.Action, f.Rule, f.Kind, obj, f.Message)
		if f.Action == string(policy.Deny) {
			deny++
		}
	}
	fmt.Fprintf(&b, "%d findings, %d deny\n", len(findings), deny)
	_, err := io.WriteString(w, b.String())
	return err
}

// sarifRule is one rule of the SARIF driver.
type sarifRule struct {
	ID   string            `json:"id"`
	Name string            `json:"name,omitempty"`
	Desc map[string]string `json:"shortDescription"`
	Help map[string]string `json:"help,omitempty"`
}

// printSARIF writes SARIF 2.1.0, which code-scanning tools show inline on pull requests.
func printSARIF(w io.Writer, findings []finding, set *policy.Set) error {
	var rules []sarifRule
	for _, id := range slices.Sorted(maps.Keys(set.Rules())) {
		r := set.Rules()[id]
		rules = append(rules, sarifRule{
			ID: id, Name: r.Title, Desc: sarifText(r.Title), Help: sarifText(r.Remediation),
		})
	}
	level := map[string]string{"Deny": "error", "Warn": "warning", "Audit": "note"}
	results := []map[string]any{}
	for _, f := range findings {
		results = append(results, map[string]any{
			"ruleId":  f.Rule,
			"level":   level[f.Action],
			"message": sarifText(fmt.Sprintf("%s %s: %s", f.Kind, f.Name, f.Message)),
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]string{"uri": filepath.ToSlash(f.File)},
				"region":           map[string]int{"startLine": max(f.Line, 1), "startColumn": max(f.Column, 1)},
			}}},
		})
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": "vigil", "informationUri": "https://github.com/vigil-dev/vigil", "rules": rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// sarifText is SARIF's message object.
func sarifText(s string) map[string]string { return map[string]string{"text": s} }
