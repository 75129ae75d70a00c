package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/rego"
)

// BuiltinPolicy names the built-in library in violations.
const BuiltinPolicy = "builtin"

// Set is everything that is evaluated: the built-in library, configured by the
// ClusterSecretPolicies (rules on or off, actions, parameters), and their custom rules.
type Set struct {
	builtin    *RegoEngine
	rules      map[string]Rule
	disabled   map[string]bool
	actions    map[string]Action
	parameters map[string]any
	custom     []customPolicy
	// protections are the policies' deletion-protection defaults (deletion.go).
	protections []protectionPolicy
}

type customPolicy struct {
	name    string
	match   policyv1alpha1.PolicyMatch
	engines []Engine
	actions map[string]Action // by rule id
}

// NewSet compiles the built-in library and the policies. An error names the policy (and
// the compiler's file, line and reason) that does not compile.
func NewSet(ctx context.Context, policies []policyv1alpha1.ClusterSecretPolicy) (*Set, error) {
	builtin, err := builtinEngine()
	if err != nil {
		return nil, fmt.Errorf("built-in policy library: %w", err)
	}
	s := &Set{
		builtin: builtin, rules: builtin.Rules(),
		disabled: map[string]bool{}, actions: map[string]Action{}, parameters: map[string]any{},
	}
	// Policies apply in name order, so that a later one's setting of a built-in rule wins
	// predictably.
	slices.SortFunc(policies, func(a, b policyv1alpha1.ClusterSecretPolicy) int { return compareStrings(a.Name, b.Name) })
	for _, p := range policies {
		if err := s.add(ctx, p); err != nil {
			return nil, fmt.Errorf("ClusterSecretPolicy %s: %w", p.Name, err)
		}
	}
	return s, nil
}

// builtinEngine is the built-in library, compiled once per process (an engine is
// immutable and safe for concurrent use): every Set shares it. A Set is made at each change
// of the ClusterSecretPolicies, for each policy checked at admission (whose own Rego modules
// compile with the library again), and at the first judgement after a start (Holder.Load),
// where every worker waited for a second compilation of the library (about 50 ms on two
// cores).
var builtinEngine = sync.OnceValues(func() (*RegoEngine, error) {
	lib, err := LibraryModules(rego.Library)
	if err != nil {
		return nil, err
	}
	return NewRegoEngine(context.Background(), lib)
})

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CheckPolicy compiles one policy on its own, as admission does before it is stored.
func CheckPolicy(ctx context.Context, p policyv1alpha1.ClusterSecretPolicy) error {
	_, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{p})
	return err
}

func (s *Set) add(ctx context.Context, p policyv1alpha1.ClusterSecretPolicy) error {
	s.addProtection(p)
	for i, r := range p.Spec.Rules {
		if _, ok := s.rules[r.ID]; !ok {
			return fmt.Errorf("spec.rules[%d]: no built-in rule %q (known: %v)", i, r.ID, slices.Sorted(maps.Keys(s.rules)))
		}
		if r.Enabled != nil {
			s.disabled[r.ID] = !*r.Enabled
		}
		if r.Action != "" {
			s.actions[r.ID] = Action(r.Action)
		}
		if r.Parameters != nil {
			var params any
			if err := json.Unmarshal(r.Parameters.Raw, &params); err != nil {
				return fmt.Errorf("spec.rules[%d].parameters: %w", i, err)
			}
			s.parameters[r.ID] = params
		}
	}
	cp := customPolicy{name: p.Name, match: p.Spec.Match, actions: map[string]Action{}}
	if len(p.Spec.Rego) > 0 {
		var mods []RegoModule
		lib, _ := LibraryModules(rego.Library) // custom modules may import data.vigil.lib
		mods = append(mods, lib...)
		for _, r := range p.Spec.Rego {
			mods = append(mods, RegoModule{Name: regoModuleName(p.Name, r.Name), Source: r.Module})
		}
		eng, err := NewRegoEngine(ctx, mods)
		if err != nil {
			return err
		}
		custom := &customRego{eng: eng, builtin: s.rules}
		cp.engines = append(cp.engines, custom)
		// Each module's action applies to the rules that module declares, not to all of
		// the policy's rules.
		for _, r := range p.Spec.Rego {
			for _, id := range eng.RulesOf(regoModuleName(p.Name, r.Name)) {
				if _, isBuiltin := s.rules[id]; !isBuiltin {
					cp.actions[id] = actionOr(r.Action, Deny)
				}
			}
		}
	}
	if len(p.Spec.Validations) > 0 {
		var vs []CELValidation
		for _, v := range p.Spec.Validations {
			vs = append(vs, CELValidation{Rule: v.Name, Expression: v.Expression, Message: v.Message})
			cp.actions[v.Name] = actionOr(v.Action, Deny)
		}
		eng, err := NewCELEngine(vs)
		if err != nil {
			return err
		}
		cp.engines = append(cp.engines, eng)
	}
	if len(cp.engines) > 0 {
		s.custom = append(s.custom, cp)
	}
	return nil
}

// regoModuleName is the file name a policy's Rego module compiles under (it shows in
// compiler messages).
func regoModuleName(policyName, module string) string { return policyName + "/" + module + ".rego" }

func actionOr(a policyv1alpha1.PolicyAction, def Action) Action {
	if a == "" {
		return def
	}
	return Action(a)
}

// customRego evaluates a policy's own modules, leaving out the built-in rules that the
// library import brings along (those are evaluated once, by the Set).
type customRego struct {
	eng     *RegoEngine
	builtin map[string]Rule
}

func (c *customRego) Evaluate(ctx context.Context, in Input) ([]Finding, error) {
	fs, err := c.eng.Evaluate(ctx, in)
	var out []Finding
	for _, f := range fs {
		if _, isBuiltin := c.builtin[f.Rule]; !isBuiltin {
			out = append(out, f)
		}
	}
	return out, err
}

// Rules lists the built-in rules.
func (s *Set) Rules() map[string]Rule { return s.rules }

// Evaluate returns every violation of the input, with its effective action.
func (s *Set) Evaluate(ctx context.Context, in Input) ([]Violation, error) {
	in["parameters"] = s.parameters
	var out []Violation
	findings, err := s.builtin.Evaluate(ctx, in)
	if v, ok := timedOut(BuiltinPolicy, err); ok {
		out, findings, err = append(out, v), nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		if s.disabled[f.Rule] {
			continue
		}
		rule := s.rules[f.Rule]
		action := rule.Action
		if a, ok := s.actions[f.Rule]; ok {
			action = a
		}
		if f.Action != "" {
			action = f.Action
		}
		out = append(out, Violation{
			Policy: BuiltinPolicy, Rule: f.Rule, Message: f.Message, Action: action, Path: f.Path, Remediation: rule.Remediation,
		})
	}
	for _, p := range s.custom {
		if !matches(p.match, in) {
			continue
		}
		for _, eng := range p.engines {
			fs, err := eng.Evaluate(ctx, in)
			if v, ok := timedOut(p.name, err); ok {
				out = append(out, v)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("ClusterSecretPolicy %s: %w", p.name, err)
			}
			for _, f := range fs {
				action := p.actions[f.Rule]
				if f.Action != "" {
					action = f.Action
				}
				if action == "" {
					action = Deny
				}
				out = append(out, Violation{Policy: p.name, Rule: f.Rule, Message: f.Message, Action: action, Path: f.Path})
			}
		}
	}
	return out, nil
}

// DeadlineRule names the violation of a policy that did not finish within EvalTimeout.
const DeadlineRule = "policy-evaluation-deadline"

// timedOut turns a policy that ran out of time into a Deny of the object: a guardrail that
// cannot decide in time does not open.
func timedOut(policyName string, err error) (Violation, bool) {
	var te *TimeoutError
	if !errors.As(err, &te) {
		return Violation{}, false
	}
	msg := fmt.Sprintf("policy %s: %v", policyName, te)
	return Violation{Policy: policyName, Rule: DeadlineRule, Action: Deny, Message: msg}, true
}

// matches reports whether a policy's match selects the input's object.
func matches(m policyv1alpha1.PolicyMatch, in Input) bool {
	kind, _ := in["kind"].(string)
	if len(m.Kinds) > 0 && !slices.Contains(m.Kinds, kind) {
		return false
	}
	ns, _ := in["namespace"].(map[string]any)
	name, _ := ns["name"].(string)
	if name == "" {
		return true // cluster-scoped objects
	}
	if slices.Contains(m.ExcludedNamespaces, name) {
		return false
	}
	if m.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(m.NamespaceSelector)
		if err != nil {
			return false
		}
		set := labels.Set{}
		if l, ok := ns["labels"].(map[string]any); ok {
			for k, v := range l {
				set[k], _ = v.(string)
			}
		}
		return sel.Matches(set)
	}
	return true
}

// Holder holds the current Set; the policy controller swaps it when policies change and
// every enforcement point reads it.
type Holder struct {
	p      atomic.Pointer[Set]
	mu     sync.Mutex  // orders Set and the first Load
	loaded atomic.Bool // the set reflects the cluster's ClusterSecretPolicies
}

// NewHolder returns a holder of the built-in library alone.
func NewHolder(ctx context.Context) (*Holder, error) {
	s, err := NewSet(ctx, nil)
	if err != nil {
		return nil, err
	}
	h := &Holder{}
	h.p.Store(s)
	return h, nil
}

// Get returns the current set.
func (h *Holder) Get() *Set { return h.p.Load() }

// Set replaces the current set.
func (h *Holder) Set(s *Set) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.p.Store(s)
	h.loaded.Store(true)
}

// Load returns the current set, first building it from the cluster's ClusterSecretPolicies
// (those that compile) when the policy controller has not set one yet. Right after a start
// the enforcement points would otherwise judge with the built-in library alone: a custom
// Deny would not hold yet, and a parameter that allows something would not apply yet.
func (h *Holder) Load(ctx context.Context, c client.Reader) (*Set, error) {
	if h.loaded.Load() || c == nil {
		return h.Get(), nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.loaded.Load() {
		return h.Get(), nil
	}
	var list policyv1alpha1.ClusterSecretPolicyList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing ClusterSecretPolicies: %w", err)
	}
	var good []policyv1alpha1.ClusterSecretPolicy
	for _, p := range list.Items {
		if CheckPolicy(ctx, p) == nil {
			good = append(good, p)
		}
	}
	s, err := NewSet(ctx, good)
	if err != nil {
		return nil, err
	}
	h.p.Store(s)
	h.loaded.Store(true)
	return s, nil
}
