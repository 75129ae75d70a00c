package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// Each forbidden built-in is refused in a ClusterSecretPolicy, with its name and why.
func TestSandbox_ForbiddenBuiltinsAreRefused(t *testing.T) {
	ctx := context.Background()
	for name := range forbiddenBuiltins {
		module := fmt.Sprintf("package vigil.custom.sneaky\nimport rego.v1\nviolation contains {\"message\": sprintf(\"%%v\", [x])} if {\n  x := %s(input.a, input.b)\n}\n", name)
		err := CheckPolicy(ctx, policyWith(policyv1alpha1.ClusterSecretPolicySpec{Rego: []policyv1alpha1.RegoRule{{Name: "sneaky", Module: module}}}))
		if err == nil {
			t.Errorf("%s: a policy that calls it was accepted", name)
			continue
		}
		for _, want := range []string{"p/sneaky.rego:4", name + " is not allowed in policies", forbiddenBuiltins[name]} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: refusal %q does not say %q", name, err, want)
			}
		}
	}
}

// The capability set itself lacks them, so that no spelling gets past the name check, and
// keeps what the built-in library needs.
func TestSandbox_CapabilitiesLeaveOutForbiddenBuiltins(t *testing.T) {
	caps := sandboxCapabilities()
	var names []string
	for _, b := range caps.Builtins {
		names = append(names, b.Name)
	}
	for name := range forbiddenBuiltins {
		if slices.Contains(names, name) {
			t.Errorf("%s is in the sandbox's capabilities", name)
		}
	}
	// Every built-in OPA marks as nondeterministic is out.
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if _, forbidden := forbiddenBuiltins[b.Name]; b.Nondeterministic && !forbidden {
			t.Errorf("%s is nondeterministic but not forbidden", b.Name)
		}
	}
	for _, need := range []string{"regex.match", "time.parse_duration_ns", "sprintf", "glob.match", "object.get"} {
		if !slices.Contains(names, need) {
			t.Errorf("%s is missing from the sandbox's capabilities", need)
		}
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("AllowNet = %v, want an empty list (no host)", caps.AllowNet)
	}
	// A call hidden from the name check (inside a nested call) still does not compile.
	_, err := NewRegoEngine(context.Background(), []RegoModule{{Name: "x.rego", Source: "package vigil.custom.x\nimport rego.v1\nviolation contains {\"message\": m} if { m := sprintf(\"%d\", [time.now_ns()]) }\n"}})
	if err == nil {
		t.Error("a nested time.now_ns() compiled")
	}
}

// A Rego policy that loops for ever is stopped at EvalTimeout and denies that object with
// a message naming the limit; the next evaluation is served as before.
func TestSandbox_RegoDeadlineFailsClosed(t *testing.T) {
	ctx := context.Background()
	slow := `package vigil.custom.slow
import rego.v1
violation contains {"message": "never"} if {
	count({1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); i == j + 200000}) > 0
}`
	s, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{policyWith(policyv1alpha1.ClusterSecretPolicySpec{Rego: []policyv1alpha1.RegoRule{{Name: "slow", Module: slow}}})})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{"refreshInterval": "1h"}}}
	start := time.Now()
	vs, err := s.Evaluate(ctx, in)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var hit *Violation
	for i := range vs {
		if vs[i].Rule == DeadlineRule {
			hit = &vs[i]
		}
	}
	if hit == nil || hit.Action != Deny || hit.Policy != "p" || !strings.Contains(hit.Message, EvalTimeout.String()) {
		t.Fatalf("the slow policy did not deny with the limit: %+v", vs)
	}
	if took > 5*EvalTimeout {
		t.Errorf("the evaluation took %s, far over the %s deadline", took, EvalTimeout)
	}
	// The built-in library is unaffected by the slow policy's deadline.
	fs, err := s.builtin.Evaluate(ctx, in)
	if err != nil || len(fs) != 0 {
		t.Errorf("the built-in library after a timed-out policy: %v %v", fs, err)
	}
}

// A caller that gives up (shutdown, webhook timeout) gets its own error, not a policy Deny.
func TestSandbox_CallerCancellationIsNotATimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := withDeadline(ctx, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	var te *TimeoutError
	if err == nil || errors.As(err, &te) {
		t.Errorf("a cancelled caller was reported as %v", err)
	}
}

// A CEL validation whose worst case is over the cost limit is refused as a policy, with
// the estimate and the limit; one loop over the input is fine.
func TestSandbox_CELCostEstimateRefusesPolicy(t *testing.T) {
	ctx := context.Background()
	nested := `input.object.spec.data.all(a, input.object.spec.data.all(b, input.object.spec.data.all(c, a != b || b != c)))`
	err := CheckPolicy(ctx, policyWith(policyv1alpha1.ClusterSecretPolicySpec{Validations: []policyv1alpha1.CELRule{{Name: "cubic", Expression: nested, Message: "m"}}}))
	if err == nil || !strings.Contains(err.Error(), "CEL validation cubic: its estimated cost") || !strings.Contains(err.Error(), "over the limit of 10000000") {
		t.Errorf("a cubic CEL validation: %v", err)
	}
	single := `input.object.spec.data.all(d, d.remoteRef.key.startsWith("prod/"))`
	if err := CheckPolicy(ctx, policyWith(policyv1alpha1.ClusterSecretPolicySpec{Validations: []policyv1alpha1.CELRule{{Name: "linear", Expression: single, Message: "m"}}})); err != nil {
		t.Errorf("a linear CEL validation was refused: %v", err)
	}
}
