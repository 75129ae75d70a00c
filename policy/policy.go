// Package policy checks stores and ExternalSecrets against Rego and CEL policies. It is
// "gather, then decide": Builder does every read (store, namespace, ServiceAccount, IAM) and
// fills one Input; engines are pure functions of that input. Rego and CEL implement the
// same Engine interface and pass the same conformance cases; Set combines the built-in
// library with the ClusterSecretPolicies into what every enforcement point (admission,
// reconcile gate, audit, `vigil lint`) evaluates.
package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Action is what a violation causes.
type Action string

const (
	// Deny rejects at admission and blocks at reconcile time.
	Deny Action = "Deny"
	// Warn returns an admission warning and a report entry.
	Warn Action = "Warn"
	// Audit only reports.
	Audit Action = "Audit"
)

// ParseAction validates an action name.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Deny, Warn, Audit:
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q: use Deny, Warn or Audit", s)
}

// Input is the document every engine evaluates: {kind, operation, object, oldObject,
// namespace{name,labels,annotations}, store, aws{roleArn, serviceAccount, iam{status (known,
// absent, unknown, none), reason, policies[{name, document, boundary}], analysis{findings[
// IAMFinding]}}}, parameters{rule-id: {...}}}.
type Input map[string]any

// Finding is what an engine reports: a rule that an input violates.
type Finding struct {
	Rule    string
	Message string
	Path    string
	// Action, when set, overrides the rule's action (e.g. a rule that could not check
	// anything reports a Warn).
	Action Action
}

// Engine evaluates compiled policies against one input. Implementations compile once and
// are safe for concurrent use.
type Engine interface {
	Evaluate(ctx context.Context, in Input) ([]Finding, error)
}

// Rule describes a rule: its id, default action and the text users see.
type Rule struct {
	ID          string
	Title       string
	Description string
	Remediation string
	Action      Action
}

// Violation is a finding with its policy and effective action.
type Violation struct {
	Policy      string `json:"policy"`
	Rule        string `json:"rule"`
	Message     string `json:"message"`
	Action      Action `json:"action"`
	Path        string `json:"path,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

func (v Violation) String() string {
	s := fmt.Sprintf("%s: %s", v.Rule, v.Message)
	if v.Remediation != "" {
		s += " (fix: " + v.Remediation + ")"
	}
	return s
}

// Denied returns the Deny violations.
func Denied(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Action == Deny {
			out = append(out, v)
		}
	}
	return out
}

// Summary joins violations into one message, sorted for stable conditions.
func Summary(vs []Violation) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
