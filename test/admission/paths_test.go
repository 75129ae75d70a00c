package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func vaultStore(ns, name, mount string, version esv1.VaultKVStoreVersion) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
		Server: "https://vault.example:8200", Path: &mount, Version: version,
		Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}},
	}}}}
}

func esWithKey(ns, name, store, key string) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef:  esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind},
		RefreshInterval: &metav1.Duration{Duration: 3600e9},
		Data:            []esv1.ExternalSecretData{{SecretKey: "value", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key}}},
	}}
}

// denied creates obj as a dry run and checks that the webhook refuses it saying every want.
func denied(t *testing.T, obj client.Object, want ...string) {
	t.Helper()
	err := c.Create(context.Background(), obj, client.DryRunAll)
	if err == nil {
		t.Errorf("%s was admitted", obj.GetName())
		return
	}
	for _, w := range append([]string{"denied the request"}, want...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: denial %q does not say %q", obj.GetName(), err, w)
		}
	}
}

func TestAdmission_VaultKeysThatEscapeAreDenied(t *testing.T) {
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	for _, s := range []*esv1.SecretStore{vaultStore(ns, "kv2", "secret", esv1.VaultKVStoreV2), vaultStore(ns, "kv1", "kv", esv1.VaultKVStoreV1)} {
		if err := c.Create(ctx, s); err != nil {
			t.Fatalf("store %s: %v", s.Name, err)
		}
	}
	denied(t, esWithKey(ns, "escape-v2", "kv2", "prod/payments/../../billing/db"),
		"externalsecret-key-not-normalized", `spec.data[0].remoteRef.key "prod/payments/../../billing/db" has a ".." segment: use the path as the backend stores it`)
	denied(t, esWithKey(ns, "escape-v1", "kv1", "x/../../auth/token/lookup-self"), "externalsecret-key-not-normalized", `".." segment`)
	denied(t, esWithKey(ns, "encoded", "kv2", "prod/%2e%2e/billing/db"), "externalsecret-key-not-normalized", "percent-encoded")
	denied(t, esWithKey(ns, "slash", "kv2", "/prod/payments/db"), "externalsecret-key-not-normalized", `which Vault strips`)
	if err := c.Create(ctx, esWithKey(ns, "ok", "kv2", "prod/payments/db"), client.DryRunAll); err != nil {
		t.Errorf("a well-formed Vault key was denied: %v", err)
	}
}

// In a namespace allowed only prod/payments/: a sourceRef entry is judged by its own store's
// prefix, ARNs by the secret name they carry, and an empty find.path is no path.
func TestAdmission_PrefixRuleReadsEachEntryThroughItsStore(t *testing.T) {
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	var nsObj corev1.Namespace
	if err := c.Get(ctx, types.NamespacedName{Name: ns}, &nsObj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(nsObj.DeepCopy())
	nsObj.Annotations = map[string]string{"vigil.dev/secret-prefix": "prod/payments/"}
	if err := c.Patch(ctx, &nsObj, patch); err != nil {
		t.Fatal(err)
	}
	main := irsaStore(t, ns, env.T(t).CreateMotoRole("paths-"+ns, "iam-policy-scoped.json"))
	billing := main.DeepCopy()
	billing.Name, billing.Spec.Provider.AWS.Prefix = "billing", "billing/"
	for _, s := range []*esv1.SecretStore{main, billing} {
		if err := c.Create(ctx, s); err != nil {
			t.Fatalf("store %s: %v", s.Name, err)
		}
	}
	src := esWithKey(ns, "sourceref", main.Name, "prod/payments/db")
	src.Spec.Data = append(src.Spec.Data, esv1.ExternalSecretData{SecretKey: "other", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/payments/db"},
		SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "billing"}}})
	denied(t, src, "externalsecret-key-outside-prefix", `spec.data[1].remoteRef.key reads "billing/prod/payments/db"`, "SecretStore/billing")

	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	if err := c.Create(ctx, esWithKey(ns, "arn-inside", main.Name, arn+"prod/payments/db-AbCdEf"), client.DryRunAll); err != nil {
		t.Errorf("an ARN key naming a secret inside the prefix was denied: %v", err)
	}
	denied(t, esWithKey(ns, "arn-outside", main.Name, arn+"prod/billing/db-AbCdEf"), "externalsecret-key-outside-prefix", `"prod/billing/db-AbCdEf"`)
	denied(t, esWithKey(ns, "boundary", main.Name, "prod/paymentsx/db"), "externalsecret-key-outside-prefix")

	empty := ""
	find := esWithKey(ns, "find-empty", main.Name, "x")
	find.Spec.Data, find.Spec.DataFrom = nil, []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Path: &empty}}}
	denied(t, find, "externalsecret-find-without-path", "externalsecret-key-outside-prefix")
}
