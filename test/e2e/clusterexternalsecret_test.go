package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

func labelledNamespace(t *testing.T, ctx context.Context, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ces-", Labels: labels}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// A ClusterExternalSecret provisions its ExternalSecret in every selected namespace, follows
// namespaces as their labels change, refuses to take over a foreign ExternalSecret, and
// reports all of it in its status.
func TestClusterExternalSecret_FollowsNamespaces(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	team := map[string]string{"team": "ces-" + time.Now().Format("150405.000000")}
	a, b := labelledNamespace(t, ctx, team), labelledNamespace(t, ctx, team)
	foreign := labelledNamespace(t, ctx, team)
	other := labelledNamespace(t, ctx, nil)
	h.PutRemote("ces/shared", `{"token":"ces-token-1"}`)
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "ces-store-" + a}, Spec: esv1.SecretStoreSpec{
		Provider:   &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "us-east-1"}},
		Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: team}}},
	}}
	// An ExternalSecret of the same name that someone else made.
	mine := externalSecret(foreign, "shared", css.Name, "ces/shared", map[string]string{"token": "token"})
	mine.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
	h.Create(css, mine)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), css) })

	spec := externalSecret("", "shared", css.Name, "ces/shared", map[string]string{"token": "token"}).Spec
	spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
	ces := &esv1.ClusterExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "shared-" + a}, Spec: esv1.ClusterExternalSecretSpec{
		ExternalSecretSpec: spec, ExternalSecretName: "shared",
		NamespaceSelectors: []*metav1.LabelSelector{{MatchLabels: team}},
		RefreshInterval:    &metav1.Duration{Duration: time.Minute},
	}}
	h.Create(ces)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), ces) })

	for _, ns := range []string{a, b} {
		h.WaitSecretValue(ns, "shared", "token", "ces-token-1")
	}
	waitCES(t, ctx, ces, func(c *esv1.ClusterExternalSecret) bool {
		return slices.Equal(c.Status.ProvisionedNamespaces, sorted(a, b)) && len(c.Status.FailedNamespaces) == 1 && c.Status.FailedNamespaces[0].Namespace == foreign
	})
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: "shared"}, &esv1.ExternalSecret{}); !apierrors.IsNotFound(err) {
		t.Errorf("an unselected namespace got the ExternalSecret (err %v)", err)
	}

	// b loses the label: its ExternalSecret goes; other gains it: one appears.
	relabel(t, ctx, b, nil)
	relabel(t, ctx, other, team)
	h.WaitSecretValue(other, "shared", "token", "ces-token-1")
	h.WaitGone(&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: b, Name: "shared"}})
	waitCES(t, ctx, ces, func(c *esv1.ClusterExternalSecret) bool {
		return slices.Equal(c.Status.ProvisionedNamespaces, sorted(a, other))
	})
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func relabel(t *testing.T, ctx context.Context, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := cp.Client.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	before := ns.DeepCopy()
	ns.Labels = labels
	if err := cp.Client.Patch(ctx, ns, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
}

func waitCES(t *testing.T, ctx context.Context, ces *esv1.ClusterExternalSecret, ok func(*esv1.ClusterExternalSecret) bool) {
	t.Helper()
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(ces), ces); err != nil {
			return false, err
		}
		return ok(ces), nil
	})
	if err != nil {
		t.Fatalf("ClusterExternalSecret status: provisioned %v failed %v: %v", ces.Status.ProvisionedNamespaces, ces.Status.FailedNamespaces, err)
	}
}
