package admission

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
)

// staticStore is a Secrets Manager store with keys of its own (store-static-credentials only
// warns), with an optional store prefix and labels.
func staticStore(ns, name, prefix string, labels map[string]string) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Prefix: prefix,
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"},
			}},
		}}}}
}

// pushTo is a PushSecret that pushes the source Secret's password to key through refs.
func pushTo(ns, name, key string, refs ...esv1alpha1.PushSecretStoreRef) *esv1alpha1.PushSecret {
	return &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1alpha1.PushSecretSpec{
		SecretStoreRefs: refs,
		Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
		Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{
			SecretKey: "password", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: key}}}},
	}}
}

func storeRef(name string) esv1alpha1.PushSecretStoreRef {
	return esv1alpha1.PushSecretStoreRef{Name: name, Kind: esv1.SecretStoreKind}
}

// A tenant's PushSecret that would write outside its namespace's prefixes is refused at
// admission with the rule, the key as the backend names it, the store and the fix; through
// a store prefix, a labelSelector or Vault's path cleaning as well as by a plain key.
func TestAdmission_PushSecretWritingOutsideItsPrefixIsDenied(t *testing.T) {
	ht := env.T(t)
	ctx := context.Background()
	ns := ht.NewNamespace()
	prefixNamespace(t, ns, "prod/payments/")
	ht.Create(staticStore(ns, "sm", "", nil), staticStore(ns, "billing", "billing/", map[string]string{"push": "yes"}),
		vaultStore(ns, "kv2", "secret", esv1.VaultKVStoreV2))

	denied(t, pushTo(ns, "outside", "prod/billing/db", storeRef("sm")), "pushsecret-key-outside-prefix",
		`spec.data[0].match.remoteRef.remoteKey writes "prod/billing/db", outside the prefixes allowed in namespace `+ns+
			` (prod/payments/) through SecretStore/sm`,
		"fix: Push only to keys under the namespace's prefixes")
	denied(t, pushTo(ns, "store-prefix", "prod/payments/db", storeRef("billing")), "pushsecret-key-outside-prefix",
		`writes "billing/prod/payments/db"`, "through SecretStore/billing")
	bySelector := esv1alpha1.PushSecretStoreRef{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"push": "yes"}}}
	denied(t, pushTo(ns, "by-selector", "prod/payments/db", bySelector), "pushsecret-key-outside-prefix", "through SecretStore/billing")
	denied(t, pushTo(ns, "vault-escape", "prod/payments/../../billing/db", storeRef("kv2")),
		"pushsecret-key-not-normalized", `has a ".." segment`, "pushsecret-key-outside-prefix", `writes "secret/billing/db"`)
	denied(t, pushTo(ns, "boundary", "prod/paymentsx/db", storeRef("sm")), "pushsecret-key-outside-prefix")

	inside := pushTo(ns, "inside", "prod/payments/db", storeRef("sm"), storeRef("kv2"))
	if err := c.Create(ctx, inside, client.DryRunAll); err != nil {
		t.Errorf("a PushSecret writing inside its prefix was denied: %v", err)
	}
}

// A PushSecret admitted before a policy bounded its namespace's writes is refused by the
// reconcile gate the push controller calls before any write (policycheck.PushSecret wraps
// Gate.PushSecret), with the policy read from the API server; the webhook then refuses its
// next update too.
func TestGate_PushSecretAdmittedBeforeThePolicyIsRefusedAtSync(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	store := staticStore(ns, "sm", "", nil)
	ps := pushTo(ns, "early", "prod/billing/db", storeRef("sm"))
	ht.Create(store, ps) // no prefix yet: admitted

	params, _ := json.Marshal(map[string]any{"prefixes": map[string][]string{ns: {"prod/payments/"}}})
	pol := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: ns + "-push-prefix"},
		Spec: policyv1alpha1.ClusterSecretPolicySpec{Rules: []policyv1alpha1.BuiltinRule{{
			ID: "pushsecret-key-outside-prefix", Parameters: &apiextensionsv1.JSON{Raw: params}}}}}
	ht.CreateCluster(pol)

	holder, err := policy.NewHolder(ht.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	gate := &policy.Gate{Builder: &policy.Builder{Client: c}, Policies: holder} // Load reads the policies
	ht.Get(client.ObjectKeyFromObject(ps), ps)
	ht.Get(client.ObjectKeyFromObject(store), store)
	vs, err := gate.PushSecret(ht.Ctx, ps, []esv1.GenericStore{store})
	if err != nil {
		t.Fatal(err)
	}
	d := policy.Denied(vs)
	if len(d) != 1 || d[0].Rule != "pushsecret-key-outside-prefix" || !strings.Contains(d[0].Message, `writes "prod/billing/db"`) {
		t.Fatalf("gate verdicts %v: want one Deny of pushsecret-key-outside-prefix for prod/billing/db", vs)
	}

	ht.Eventually("the webhook refuses an update once the controller has the policy", func(ctx context.Context) (bool, error) {
		cur := &esv1alpha1.PushSecret{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ps), cur); err != nil {
			return false, err
		}
		cur.Labels = map[string]string{"touched": "yes"}
		err := c.Update(ctx, cur, client.DryRunAll)
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "pushsecret-key-outside-prefix"), nil
	})
}

// prefixNamespace sets the namespace's vigil.dev/secret-prefix annotation.
func prefixNamespace(t *testing.T, ns, prefixes string) {
	t.Helper()
	ht := env.T(t)
	obj := &corev1.Namespace{}
	ht.Get(client.ObjectKey{Name: ns}, obj)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Annotations = map[string]string{policy.SecretPrefixAnnotation: prefixes}
	if err := c.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

// A PushSecret with deletionPolicy Delete that breaks a rule once its namespace's prefixes
// narrow can still be deleted: the webhook, which refuses every other update of it, lets the
// controller remove the finalizer of a PushSecret being deleted (it pushes nothing more, and
// what its finalizer deletes is judged by the push controller's gate).
func TestAdmission_PushSecretBreakingARuleCanStillBeDeleted(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	ps := pushTo(ns, "narrowed", "prod/billing/db", storeRef("sm"))
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	ht.Create(staticStore(ns, "sm", "", nil), ps) // no prefix yet: admitted; no source Secret: nothing pushed
	ht.Eventually("the controller to add the finalizer", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(ps), ps)
		return err == nil && len(ps.Finalizers) == 1, err
	})
	prefixNamespace(t, ns, "prod/payments/")
	ht.Eventually("the webhook to refuse an update of the PushSecret", func(ctx context.Context) (bool, error) {
		cur := &esv1alpha1.PushSecret{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ps), cur); err != nil {
			return false, err
		}
		cur.Labels = map[string]string{"touched": "yes"}
		err := c.Update(ctx, cur, client.DryRunAll)
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "pushsecret-key-outside-prefix"), nil
	})
	ht.Delete(ps) // waits until it is gone: the controller's finalizer removal was admitted
}
