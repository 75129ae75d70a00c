package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// EvalTimeout bounds one evaluation of one engine (the built-in library, or one
// ClusterSecretPolicy's Rego or CEL) for one object, at admission, in the reconcile gate, in
// the audit and in `vigil lint`. A policy that needs longer is refused for that object
// (Deny), and every other object and namespace is served as before.
const EvalTimeout = time.Second

// TimeoutError is an evaluation that did not finish within EvalTimeout.
type TimeoutError struct{ Limit time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf(
		"the evaluation did not finish within %s, the limit of one policy evaluation: make the policy "+
			"cheaper (fewer nested iterations)", e.Limit)
}

// withDeadline runs eval under EvalTimeout. It reports a TimeoutError only when its own
// deadline fired: a caller that gave up (shutdown, webhook timeout) gets its own error.
func withDeadline[T any](ctx context.Context, eval func(context.Context) (T, error)) (T, error) {
	ectx, cancel := context.WithTimeout(ctx, EvalTimeout)
	defer cancel()
	out, err := eval(ectx)
	if err != nil && ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded) {
		return out, &TimeoutError{Limit: EvalTimeout}
	}
	return out, err
}

// forbiddenBuiltins are the OPA built-ins that policies may not call, and why: a policy is
// a pure function of its input, so it may not reach the network, read the controller's
// environment, depend on the clock or on chance, or build unbounded values in one call.
var forbiddenBuiltins = map[string]string{
	"http.send":              "it reaches the network",
	"net.lookup_ip_addr":     "it reaches the network (DNS)",
	"opa.runtime":            "it reads the controller's environment",
	"time.now_ns":            "it depends on the clock",
	"rand.intn":              "it depends on chance",
	"uuid.rfc4122":           "it depends on chance",
	"io.jwt.decode_verify":   "it depends on the clock (token expiry)",
	"io.jwt.encode_sign":     "it depends on chance (signatures)",
	"io.jwt.encode_sign_raw": "it depends on chance (signatures)",
	"crypto.x509.parse_and_verify_certificates":              "it depends on the clock (certificate validity)",
	"crypto.x509.parse_and_verify_certificates_with_options": "it depends on the clock (certificate validity)",
	"providers.aws.sign_req":                                 "it depends on the clock (request signatures)",
	"net.cidr_expand":                                        "its output is unbounded (every address of a range)",
	"json.match_schema":                                      "it may fetch remote schemas ($ref) over the network",
	"json.verify_schema":                                     "it may fetch remote schemas ($ref) over the network",
	"trace":                                                  "it writes to the controller's trace output",
}

// sandboxCapabilities is OPA's capability set of this version without the forbidden
// built-ins and without network access. Every module, the built-in library included,
// compiles against it.
func sandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		_, bad := forbiddenBuiltins[b.Name]
		return bad
	})
	caps.AllowNet = []string{}
	return caps
}

// forbiddenCalls names the forbidden built-ins a module calls, with where and why, so that
// the refusal says more than the compiler's "undefined function".
func forbiddenCalls(mod *ast.Module) []string {
	var out []string
	seen := map[string]bool{}
	note := func(name string, loc *ast.Location) {
		why, bad := forbiddenBuiltins[name]
		if !bad || seen[name] {
			return
		}
		seen[name] = true
		where := ""
		if loc != nil {
			where = fmt.Sprintf("%s:%d: ", loc.File, loc.Row)
		}
		out = append(out, fmt.Sprintf("%s%s is not allowed in policies: %s", where, name, why))
	}
	ast.WalkExprs(mod, func(e *ast.Expr) bool {
		if e.IsCall() {
			note(e.Operator().String(), e.Location)
		}
		return false
	})
	ast.WalkTerms(mod, func(t *ast.Term) bool {
		if c, ok := t.Value.(ast.Call); ok && len(c) > 0 {
			note(c[0].String(), t.Location)
		}
		return false
	})
	slices.Sort(out)
	return out
}

// checkSandbox refuses a module that calls a forbidden built-in.
func checkSandbox(mod *ast.Module) error {
	if calls := forbiddenCalls(mod); len(calls) > 0 {
		return &CompileError{Msg: strings.Join(calls, "; ") +
			" (policies must be pure functions of their input: no network, clock, randomness or environment)"}
	}
	return nil
}
