package audit_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/audit"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// The audit judges PushSecrets as the webhook does, on a real API server: a PushSecret that
// writes outside its namespace's prefixes (admitted before the prefix existed) is a failing
// result of the namespace's PolicyReport, naming the PushSecret by its v1alpha1 API, and a
// vigil_policy_violations series of kind PushSecret; one inside passes. A cluster whose CRDs
// have no PushSecret is still audited.
func TestAudit_ReportsPushSecretsOutsideTheirPrefix(t *testing.T) {
	cp, err := harness.StartControlPlane(filepath.Join(harness.RepoRoot(), "config", "crd-thirdparty"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments",
		Annotations: map[string]string{policy.SecretPrefixAnnotation: "prod/payments/"}}}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "sm"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"},
			}}}}}}
	for _, obj := range []client.Object{ns, store, pushSecret("outside", "prod/billing/db"), pushSecret("inside", "prod/payments/db")} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gate := &policy.Gate{Builder: &policy.Builder{Client: cp.Client}, Policies: holder, Op: policy.OpAudit}
	reg := prometheus.NewRegistry()
	rec, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := audit.NewAuditor(cp.Client, gate, rec, time.Minute)
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}

	results := reportResults(t, ctx, cp.Client)
	var pushFails []string
	for _, r := range results {
		res := r["resources"].([]any)[0].(map[string]any)
		if res["kind"] == "PushSecret" {
			pushFails = append(pushFails, r["rule"].(string)+" "+r["result"].(string)+" "+res["apiVersion"].(string)+" "+res["name"].(string))
			if !strings.Contains(r["message"].(string), `writes "prod/billing/db"`) {
				t.Errorf("result message %q does not name the key written", r["message"])
			}
		}
	}
	want := "pushsecret-key-outside-prefix fail external-secrets.io/v1alpha1 outside"
	if len(pushFails) != 1 || pushFails[0] != want {
		t.Errorf("PushSecret results %q, want [%s]", pushFails, want)
	}
	pushLabels := map[string]string{"rule": "pushsecret-key-outside-prefix", "action": "Deny", "kind": "PushSecret", "namespace": "payments"}
	if got := violationCount(t, reg, pushLabels); got != 1 {
		t.Errorf("vigil_policy_violations%v = %v, want 1", pushLabels, got)
	}

	// Without the PushSecret CRD the audit goes on with the rest.
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	crd.SetName("pushsecrets.external-secrets.io")
	if err := cp.Client.Delete(ctx, crd); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(cp.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd)), nil
	})
	if err != nil {
		t.Fatalf("the PushSecret CRD was not deleted: %v", err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatalf("the audit of a cluster without the PushSecret CRD failed: %v", err)
	}
	if got := violationCount(t, reg, pushLabels); got != 0 {
		t.Errorf("vigil_policy_violations%v = %v after the CRD is gone, want no series", pushLabels, got)
	}
	storeLabels := map[string]string{"rule": "store-static-credentials", "kind": "SecretStore", "namespace": "payments"}
	if got := violationCount(t, reg, storeLabels); got != 1 {
		t.Errorf("the store was not audited without the PushSecret CRD: vigil_policy_violations%v = %v, want 1", storeLabels, got)
	}
}

func pushSecret(name, key string) *esv1alpha1.PushSecret {
	return &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name}, Spec: esv1alpha1.PushSecretSpec{
		SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "sm", Kind: esv1.SecretStoreKind}},
		Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
		Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{
			SecretKey: "password", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: key}}}},
	}}
}

// reportResults reads the results of the payments namespace's PolicyReport.
func reportResults(t *testing.T, ctx context.Context, c client.Client) []map[string]any {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"})
	if err := c.Get(ctx, client.ObjectKey{Namespace: "payments", Name: audit.ReportName}, u); err != nil {
		t.Fatal(err)
	}
	items, _, _ := unstructured.NestedSlice(u.Object, "results")
	out := make([]map[string]any, 0, len(items))
	for _, i := range items {
		out = append(out, i.(map[string]any))
	}
	return out
}

// violationCount sums the vigil_policy_violations series that carry labels.
func violationCount(t *testing.T, reg prometheus.Gatherer, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != metrics.PolicyViolations {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range labels {
				match = match && have[k] == v
			}
			if match {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
