package policy

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// RegoModule is one Rego source file.
type RegoModule struct {
	Name   string
	Source string
}

// RegoEngine evaluates Rego modules whose packages live under data.vigil.rules (built-in)
// or data.vigil.custom (ClusterSecretPolicy modules). Each package is one rule: its
// `violation` set holds objects {message, path, action?}; its METADATA annotation (custom.id,
// custom.action, custom.remediation, title) describes it.
type RegoEngine struct {
	query   rego.PreparedEvalQuery
	rules   map[string]Rule   // by package path below data.vigil, e.g. "rules.aws_wildcard_secret_resource"
	modules map[string]string // rule id -> name of the module that declares it
}

// CompileError is a policy that does not compile; its message has the compiler's file,
// line and reason.
type CompileError struct{ Msg string }

func (e *CompileError) Error() string { return e.Msg }

// NewRegoEngine compiles modules once; the result serves any number of evaluations.
func NewRegoEngine(ctx context.Context, modules []RegoModule) (*RegoEngine, error) {
	parsed := map[string]*ast.Module{}
	rules := map[string]Rule{}
	declaredIn := map[string]string{}
	for _, m := range modules {
		mod, err := ast.ParseModuleWithOpts(m.Name, m.Source,
			ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return nil, &CompileError{Msg: err.Error()}
		}
		path := strings.TrimPrefix(mod.Package.Path.String(), "data.vigil.")
		if !strings.HasPrefix(mod.Package.Path.String(), "data.vigil.") {
			return nil, &CompileError{
				Msg: fmt.Sprintf("%s: package %s must be under vigil.custom (e.g. package vigil.custom.my_rule)", m.Name,
					strings.TrimPrefix(mod.Package.Path.String(), "data."))}
		}
		if err := checkSandbox(mod); err != nil {
			return nil, err
		}
		parsed[m.Name] = mod
		if r, ok := ruleOf(mod, path); ok {
			rules[path] = r
			declaredIn[r.ID] = m.Name
		}
	}
	caps := sandboxCapabilities()
	compiler := ast.NewCompiler().WithEnablePrintStatements(false).WithCapabilities(caps)
	if compiler.Compile(parsed); compiler.Failed() {
		return nil, &CompileError{Msg: compiler.Errors.Error()}
	}
	// Query each rule's violation set by name rather than all of data.vigil: the tree walk
	// would also materialise every helper of vigil.lib for every input.
	var parts []string
	for _, path := range slices.Sorted(maps.Keys(rules)) {
		parts = append(parts, fmt.Sprintf("%q: {v | some v in data.vigil.%s.violation}", path, path))
	}
	q, err := rego.New(rego.Compiler(compiler), rego.Capabilities(caps),
		rego.Query("x := {"+strings.Join(parts, ", ")+"}")).PrepareForEval(ctx)
	if err != nil {
		return nil, &CompileError{Msg: err.Error()}
	}
	return &RegoEngine{query: q, rules: rules, modules: declaredIn}, nil
}

// ruleOf reads a rule's description from its package METADATA; a package without an id
// (a helper such as vigil.lib) is not a rule.
func ruleOf(mod *ast.Module, path string) (Rule, bool) {
	for _, a := range mod.Annotations {
		if a.Scope != "package" {
			continue
		}
		id, _ := a.Custom["id"].(string)
		if id == "" && strings.HasPrefix(path, "custom.") {
			id = path
		}
		if id == "" {
			return Rule{}, false
		}
		action, _ := a.Custom["action"].(string)
		remediation, _ := a.Custom["remediation"].(string)
		return Rule{ID: id, Title: a.Title, Description: a.Description, Remediation: strings.TrimSpace(remediation),
			Action: Action(action)}, true
	}
	if strings.HasPrefix(path, "custom.") {
		return Rule{ID: path, Action: Deny}, true
	}
	return Rule{}, false
}

// Rules lists the rules the engine knows, by id.
func (e *RegoEngine) Rules() map[string]Rule {
	out := map[string]Rule{}
	for _, r := range e.rules {
		out[r.ID] = r
	}
	return out
}

// RulesOf lists the ids of the rules that the named module declares.
func (e *RegoEngine) RulesOf(module string) []string {
	var out []string
	for id, m := range e.modules {
		if m == module {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Evaluate implements Engine. It runs under EvalTimeout (OPA checks for cancellation as it
// evaluates) and returns a TimeoutError when that runs out.
func (e *RegoEngine) Evaluate(ctx context.Context, in Input) ([]Finding, error) {
	// Converted here rather than by rego.EvalInput: in one pass, and with the stores'
	// values made once per store version (StoreInputs).
	v, err := regoValue(map[string]any(in), storeInputsFrom(ctx))
	if err != nil {
		return nil, err
	}
	rs, err := withDeadline(ctx, func(ctx context.Context) (rego.ResultSet, error) {
		return e.query.Eval(ctx, rego.EvalParsedInput(v))
	})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, nil
	}
	byRule, _ := rs[0].Bindings["x"].(map[string]any)
	var out []Finding
	for _, path := range slices.Sorted(maps.Keys(e.rules)) {
		rule := e.rules[path]
		vs, _ := byRule[path].([]any)
		for _, raw := range vs {
			v, _ := raw.(map[string]any)
			f := Finding{Rule: rule.ID}
			f.Message, _ = v["message"].(string)
			f.Path, _ = v["path"].(string)
			if a, ok := v["action"].(string); ok {
				f.Action = Action(a)
			}
			if f.Message == "" {
				f.Message = rule.Title
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// LibraryModules reads the .rego files of a library folder, leaving out its tests.
func LibraryModules(lib fs.FS) ([]RegoModule, error) {
	var out []RegoModule
	err := fs.WalkDir(lib, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") || strings.HasSuffix(path, "_test.rego") {
			return err
		}
		src, err := fs.ReadFile(lib, path)
		if err != nil {
			return err
		}
		out = append(out, RegoModule{Name: path, Source: string(src)})
		return nil
	})
	return out, err
}
