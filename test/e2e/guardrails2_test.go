package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// allowAmbientAWS is the suite's admin decision: the scenarios in e2e-* namespaces read moto
// with the controller's own credentials (moto's test keys in the environment), which the
// rule store-ambient-credentials refuses unless the admin allows the namespace. The
// guardrails2 scenarios use namespaces outside that list to see the rule hold.
func allowAmbientAWS(ctx context.Context) error {
	p := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "e2e-allow-ambient-credentials"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rules: []policyv1alpha1.BuiltinRule{{ID: "store-ambient-credentials", Parameters: &apiextensionsv1.JSON{Raw: []byte(`{"allowNamespaces":["e2e-*"]}`)}}},
	}}
	return cp.Client.Create(ctx, p)
}

// tenantNamespace is a namespace outside the suite's ambient-credentials allowance.
func tenantNamespace(t *testing.T, ctx context.Context, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-", Labels: labels}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// ecrTokenCalls counts the ECR GetAuthorizationToken calls moto has served.
func ecrTokenCalls(t *testing.T) int {
	t.Helper()
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Target(), ".GetAuthorizationToken") {
			n++
		}
	}
	return n
}

// A tenant's SecretStore and ECRAuthorizationToken without auth would use the controller's
// own AWS identity: both are blocked at reconcile time, naming the rule, before any AWS
// call; the same objects in a namespace the admin allows sync.
func TestGuardrails2_AmbientCredentialsBlocked(t *testing.T) {
	// Not parallel: it counts every ECR call moto served.
	h := env.T(t)
	ctx := context.Background()
	ns := tenantNamespace(t, ctx, nil)
	key := ns + "/ambient"
	h.PutRemote(key, `{"password":"never-read"}`)
	rememberValue("never-read")
	before := ecrTokenCalls(t)
	h.Create(awsStore(ns, "store"), externalSecret(ns, "db", "store", key, map[string]string{"password": "password"}), &genv1alpha1.ECRAuthorizationToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr"}, Spec: genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1"}}, generatedSecret(ns, "registry", "ECRAuthorizationToken", "ecr"))
	store := h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "store"}, esv1.ReasonPolicyViolation)
	db := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db"}, esv1.ReasonPolicyViolation)
	registry := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "registry"}, esv1.ReasonPolicyViolation)
	for what, msg := range map[string]string{"store": storeMessage(store), "ExternalSecret": readyMessage(db), "generator's ExternalSecret": readyMessage(registry)} {
		for _, want := range []string{"store-ambient-credentials", "allowNamespaces"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: PolicyViolation message %q does not say %q", what, msg, want)
			}
		}
	}
	if !strings.Contains(readyMessage(registry), "ECRAuthorizationToken "+ns+"/ecr") {
		t.Errorf("the generator's message %q does not name the generator", readyMessage(registry))
	}
	for _, body := range servedBodies(t, "secretsmanager.GetSecretValue") {
		if strings.Contains(body, key) {
			t.Fatalf("moto served GetSecretValue for %s through a blocked store", key)
		}
	}
	if after := ecrTokenCalls(t); after != before {
		t.Errorf("moto served %d ECR GetAuthorizationToken calls while the only generator asking was blocked", after-before)
	}
	for _, name := range []string{"db", "registry"} {
		if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &corev1.Secret{}); err == nil {
			t.Errorf("Secret %s was written although its source is blocked", name)
		}
	}
}

func fakeClusterStore(name string, conds ...esv1.ClusterSecretStoreCondition) *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: esv1.SecretStoreSpec{Conditions: conds,
		Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "shared", Value: `{"token":"cluster-wide"}`}}}}}}
}

// A ClusterSecretStore whose selector only asks that a label exists admits a namespace any
// creator labels: it is blocked, and a tenant namespace that carries the label gets nothing
// from it. One that names namespaces through kubernetes.io/metadata.name serves them.
func TestGuardrails2_ClusterStoreSelectorsReadAsTheAPIServer(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := tenantNamespace(t, ctx, map[string]string{"team": "anything"})
	open := fakeClusterStore("exists-"+ns, esv1.ClusterSecretStoreCondition{NamespaceSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}}})
	scoped := fakeClusterStore("named-"+ns, esv1.ClusterSecretStoreCondition{NamespaceSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: []string{ns}}}}})
	for _, s := range []*esv1.ClusterSecretStore{open, scoped} {
		h.Create(s)
		t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), s) })
	}
	rememberValue("cluster-wide")
	read := func(name, store string) *esv1.ExternalSecret {
		es := externalSecret(ns, name, store, "shared", map[string]string{"token": "token"})
		es.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
		return es
	}
	h.Create(read("from-open", open.Name), read("from-scoped", scoped.Name))

	blocked := waitClusterStoreReason(t, open.Name, esv1.ReasonPolicyViolation)
	msg := apimeta.FindStatusCondition(blocked.Status.Conditions, esv1.ConditionReady).Message
	for _, want := range []string{"clustersecretstore-unscoped", "spec.conditions[0]", "pins no label"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the open store's message %q does not say %q", msg, want)
		}
	}
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "from-open"}, esv1.ReasonPolicyViolation)
	waitClusterStoreReason(t, scoped.Name, esv1.ReasonStoreValid)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "from-scoped"}, esv1.ReasonSecretSynced)
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "from-open"}, &corev1.Secret{}); err == nil {
		t.Errorf("a Secret was written through the open ClusterSecretStore")
	}
}

// A ClusterSecretPolicy whose Rego loops for ever compiles, but each evaluation stops at
// the deadline and denies the object it judged (naming the limit); an ExternalSecret in
// another namespace syncs meanwhile.
func TestGuardrails2_SlowPolicyFailsClosedWithoutStallingOthers(t *testing.T) {
	// Not parallel: it judges stalling, which other tests' load would blur.
	h := env.T(t)
	ctx := context.Background()
	slowNS, otherNS := h.NewNamespace(), h.NewNamespace()
	slow := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "slow-" + slowNS}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Match: policyv1alpha1.PolicyMatch{Kinds: []string{"ExternalSecret"}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: slowNS}}},
		Rego: []policyv1alpha1.RegoRule{{Name: "slow", Module: `package vigil.custom.slow
import rego.v1
violation contains {"message": "never"} if {
	count({1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); i == j + 200000}) > 0
}`}},
	}}
	createPolicy(t, ctx, slow)
	for _, ns := range []string{slowNS, otherNS} {
		h.PutRemote(ns+"/db", `{"password":"p-`+ns+`"}`)
		h.Create(awsStore(ns, "store"), externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"}))
	}
	start := time.Now()
	h.WaitReason(types.NamespacedName{Namespace: otherNS, Name: "db"}, esv1.ReasonSecretSynced)
	t.Logf("the other namespace synced %s after its creation", time.Since(start).Round(time.Millisecond))
	es := waitRefusedOnceInForce(t, ctx, types.NamespacedName{Namespace: slowNS, Name: "db"})
	for _, want := range []string{"policy-evaluation-deadline", "did not finish within 1s", slow.Name} {
		if !strings.Contains(readyMessage(es), want) {
			t.Errorf("PolicyViolation message %q does not say %q", readyMessage(es), want)
		}
	}
}
