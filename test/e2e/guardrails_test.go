package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/audit"
	"github.com/vigil-dev/vigil/metrics"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/test/harness"
)

// irsaSetup creates, in a new namespace, a ServiceAccount for role, the seed's store (IRSA)
// and ExternalSecret reading prod/payments/db.
func irsaSetup(t *testing.T, role string) string {
	t.Helper()
	h := env.T(t)
	ns := h.NewNamespace()
	value, _ := seedValue(t)
	h.PutRemote("prod/payments/db", value)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payments-eso", Annotations: map[string]string{awsprovider.RoleARNAnnotation: role}}}
	store := awsStore(ns, "aws-secrets")
	store.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "payments-eso"}}
	h.Create(sa, store, externalSecret(ns, "db-credentials", "aws-secrets", "prod/payments/db", map[string]string{"password": "password", "username": "username"}))
	return ns
}

func TestGuardrails_ScopedRoleSyncs(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	role := h.CreateMotoRole("scoped", "iam-policy-scoped.json")
	ns := irsaSetup(t, role)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "aws-secrets"}, esv1.ReasonStoreValid)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonSecretSynced)
}

// A store whose role reads secrets on "*" is blocked before any credential is used: the
// store and its ExternalSecret report PolicyViolation naming the rule, and moto serves no
// GetSecretValue for it.
func TestGuardrails_WildcardRoleBlockedAtReconcile(t *testing.T) {
	// Not parallel: it resets moto's recording.
	h := env.T(t)
	ctx := context.Background()
	if err := moto.Reset(); err != nil { // an empty recording
		t.Fatal(err)
	}
	role := h.CreateMotoRole("wildcard", "iam-policy-wildcard.json")
	ns := irsaSetup(t, role)

	store := h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "aws-secrets"}, esv1.ReasonPolicyViolation)
	es := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonPolicyViolation)
	for _, msg := range []string{storeMessage(store), readyMessage(es)} {
		for _, want := range []string{"aws-wildcard-secret-resource", role, `"*"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("policy message %q does not mention %q", msg, want)
			}
		}
	}
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.Target() == "secretsmanager.GetSecretValue" && strings.Contains(r.Text(), "prod/payments/db") {
			t.Fatalf("moto served GetSecretValue for a store that policy blocks")
		}
		// Only this store's role counts: ExternalSecrets of earlier tests (their namespaces
		// never finish terminating without a namespace controller) may still refresh.
		if f := formOf(r); f.Get("Action") == "AssumeRoleWithWebIdentity" && f.Get("RoleArn") == role {
			t.Fatalf("the blocked store's credentials were used (AssumeRoleWithWebIdentity)")
		}
	}
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials"}, &corev1.Secret{}); err == nil {
		t.Errorf("a Secret was written through a store that policy blocks")
	}

	// The audit reports it as a PolicyReport entry and as a metric.
	report := waitPolicyReport(t, ctx, ns, "aws-wildcard-secret-resource")
	if fail, _, _ := unstructured.NestedInt64(report.Object, "summary", "fail"); fail < 1 {
		t.Errorf("PolicyReport summary.fail = %d, want at least 1", fail)
	}
	err = harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		return h.MetricValue(metrics.PolicyViolations, map[string]string{"rule": "aws-wildcard-secret-resource", "action": "Deny", "kind": "SecretStore", "namespace": ns}) == 1, nil
	})
	if err != nil {
		t.Errorf("vigil_policy_violations for the blocked store is not 1: %v", err)
	}
}

// waitPolicyReport waits for the namespace's PolicyReport to hold a result of the rule.
func waitPolicyReport(t *testing.T, ctx context.Context, ns, rule string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"})
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: audit.ReportName}, u); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		results, _, _ := unstructured.NestedSlice(u.Object, "results")
		for _, r := range results {
			if m, ok := r.(map[string]any); ok && m["rule"] == rule && m["result"] == "fail" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no failing %s result in PolicyReport %s/%s: %v", rule, ns, audit.ReportName, err)
	}
	return u
}

// A ClusterSecretPolicy whose CEL does not compile is refused (Ready=False with the
// compiler's message) and changes nothing; a valid one is in force at reconcile time and
// counts what it flags.
func TestGuardrails_ClusterSecretPolicy(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	broken := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "oops", Expression: "input.kind ==", Message: "never"}},
	}}
	h.Create(broken)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), broken) })
	// A broken policy is reported with the compiler's message.
	waitPolicy(t, ctx, broken, "CompileFailed with a syntax error", func(c *metav1.Condition) bool {
		return c.Reason == "CompileFailed" && strings.Contains(c.Message, "Syntax error")
	})

	ns := h.NewNamespace()
	team := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "team-label-" + ns}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Match:       policyv1alpha1.PolicyMatch{Kinds: []string{"ExternalSecret"}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		Validations: []policyv1alpha1.CELRule{{Name: "needs-team-label", Expression: `has(input.object.metadata.labels) && "team" in input.object.metadata.labels`, Message: "ExternalSecrets need a team label"}},
	}}
	createPolicy(t, ctx, team)
	h.PutRemote(ns+"/db", `{"password":"team-1"}`)
	h.Create(awsStore(ns, "store"), externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"}))
	es := waitRefusedOnceInForce(t, ctx, types.NamespacedName{Namespace: ns, Name: "db"})
	if !strings.Contains(readyMessage(es), "needs-team-label") {
		t.Errorf("PolicyViolation message %q does not name the rule", readyMessage(es))
	}
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(team), team); err != nil {
			return false, err
		}
		return team.Status.Violations == 1, nil
	})
	if err != nil {
		t.Errorf("policy status.violations = %d, want 1", team.Status.Violations)
	}
}

// waitRefusedOnceInForce waits for the ExternalSecret's PolicyViolation. A policy's Ready
// condition can be written by another test's controller process (policies are cluster-wide
// and every process compiles them) a moment before this suite's controller has the policy in
// force, so an ExternalSecret created in that moment may sync once; each sync forced after
// that must be refused, so a SecretSynced answer is followed by a forced sync until the
// refusal shows (a policy never put in force still fails the wait).
func waitRefusedOnceInForce(t *testing.T, ctx context.Context, key types.NamespacedName) *esv1.ExternalSecret {
	t.Helper()
	es := &esv1.ExternalSecret{}
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, key, es); err != nil {
			return false, err
		}
		if harness.HasReason(esv1.ReasonPolicyViolation)(es) {
			return true, nil
		}
		if harness.HasReason(esv1.ReasonSecretSynced)(es) {
			return false, env.ForceSync(ctx, key)
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("ExternalSecret %s never reached PolicyViolation: %v (conditions: %s)", key, err, readyMessage(es))
	}
	return es
}

// The audit covers PushSecrets as it covers ExternalSecrets: a PushSecret admitted before its
// namespace got a secret prefix, whose remote key is outside it, is a failing
// pushsecret-key-outside-prefix result of the namespace's PolicyReport (naming the PushSecret
// by its v1alpha1 API), a vigil_policy_violations series of kind PushSecret, and counts in
// the status.violations of a ClusterSecretPolicy whose rule it breaks.
func TestGuardrails_AuditReportsPushSecretOutsidePrefix(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	audited := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "push-audit-" + ns}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Match: policyv1alpha1.PolicyMatch{Kinds: []string{"PushSecret"}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		Validations: []policyv1alpha1.CELRule{{Name: "push-only-to-team-keys", Action: policyv1alpha1.PolicyAction("Audit"),
			Expression: `input.object.spec.data.all(d, d.match.remoteRef.remoteKey.startsWith("` + ns + `/"))`,
			Message:    "PushSecrets write only their team's keys"}},
	}}
	createPolicy(t, ctx, audited)
	// No source Secret: nothing is pushed, the audit judges the spec.
	h.Create(awsStore(ns, "aws"), pushSecret(ns, "outside", "aws", "missing", pushEntry("k", "elsewhere/"+ns+"/audited", "")))
	nsObj := &corev1.Namespace{}
	h.Get(types.NamespacedName{Name: ns}, nsObj)
	nsObj.Annotations = map[string]string{"vigil.dev/secret-prefix": ns + "/"}
	if err := h.Client.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}

	report := waitPolicyReport(t, ctx, ns, "pushsecret-key-outside-prefix")
	results, _, _ := unstructured.NestedSlice(report.Object, "results")
	var named []string
	for _, r := range results {
		m := r.(map[string]any)
		if m["rule"] != "pushsecret-key-outside-prefix" {
			continue
		}
		res := m["resources"].([]any)[0].(map[string]any)
		named = append(named, fmt.Sprintf("%s %s %s", res["apiVersion"], res["kind"], res["name"]))
	}
	if want := "external-secrets.io/v1alpha1 PushSecret outside"; len(named) != 1 || named[0] != want {
		t.Errorf("pushsecret-key-outside-prefix results name %q, want [%s]", named, want)
	}
	labels := map[string]string{"rule": "pushsecret-key-outside-prefix", "action": "Deny", "kind": "PushSecret", "namespace": ns}
	err := harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		return h.MetricValue(metrics.PolicyViolations, labels) == 1, nil
	})
	if err != nil {
		t.Errorf("vigil_policy_violations%v is not 1: %v", labels, err)
	}
	err = harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(audited), audited); err != nil {
			return false, err
		}
		return audited.Status.Violations == 1, nil
	})
	if err != nil {
		t.Errorf("ClusterSecretPolicy %s status.violations = %d, want 1 (the PushSecret)", audited.Name, audited.Status.Violations)
	}
}
