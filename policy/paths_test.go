package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// pathCluster holds a namespace with prefixes and one store of each kind whose names the
// path rules must resolve.
func pathCluster(t *testing.T, prefixes string) *Builder {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := esv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	secret, kv := "secret", "kv"
	vault := func(name, mount string, v esv1.VaultKVStoreVersion) client.Object {
		spec := &esv1.VaultProvider{Server: "https://vault.example", Version: v, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "t", Key: "t"}}}
		if mount != "" {
			spec.Path = &mount
		}
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: spec}}}
	}
	aws := func(name string, svc esv1.AWSServiceType, prefix string) client.Object {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: svc, Region: "us-east-1", Prefix: prefix}}}}
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments", Annotations: map[string]string{"vigil.dev/secret-prefix": prefixes}}},
		vault("kv2", secret, esv1.VaultKVStoreV2), vault("kv1", kv, esv1.VaultKVStoreV1), vault("nomount", "", esv1.VaultKVStoreV2),
		aws("sm", esv1.AWSServiceSecretsManager, ""), aws("sm-billing", esv1.AWSServiceSecretsManager, "billing/"),
		aws("sm-payments", esv1.AWSServiceSecretsManager, "prod/payments/"), aws("ssm", esv1.AWSServiceParameterStore, ""),
		&esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "shared-sm"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Prefix: "billing/"}}}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{}}}},
	}
	return &Builder{Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()}
}

func keyES(store string, keys ...string) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "db"}, Spec: esv1.ExternalSecretSpec{RefreshInterval: &metav1.Duration{Duration: 3600e9}, SecretStoreRef: esv1.SecretStoreRef{Name: store}}}
	for _, k := range keys {
		es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: "v", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: k}})
	}
	return es
}

func findES(store string, path *string) *esv1.ExternalSecret {
	es := keyES(store)
	es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Path: path}}}
	return es
}

// verdicts evaluates the built-in rules on the input the Builder makes of es, as the webhook,
// the reconcile gate and `vigil lint` do, and returns "rule path" for each violation.
func verdicts(t *testing.T, b *Builder, es *esv1.ExternalSecret) []string {
	t.Helper()
	ctx := context.Background()
	set, err := NewSet(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := b.ForExternalSecret(ctx, es, OpLint)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := set.Evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		if strings.HasPrefix(v.Rule, "externalsecret-key-") || v.Rule == "externalsecret-find-without-path" {
			out = append(out, v.Rule+" "+v.Path)
		}
	}
	slices.Sort(out)
	return out
}

const (
	notNormalized = "externalsecret-key-not-normalized spec.data[0].remoteRef.key"
	outside       = "externalsecret-key-outside-prefix spec.data[0].remoteRef.key"
)

func TestPaths_KeysAreComparedAsTheBackendReadsThem(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	for _, tc := range []struct {
		name  string
		es    *esv1.ExternalSecret
		want  []string
		inMsg string
	}{
		{"vault kv2 inside", keyES("kv2", "prod/payments/db"), nil, ""},
		{"vault kv2 key repeating the mount", keyES("kv2", "secret/prod/payments/db"), nil, ""},
		{"vault kv2 escape", keyES("kv2", "prod/payments/../../billing/db"), []string{notNormalized, outside}, `"secret/billing/db"`},
		{"vault kv1 escape to the token API", keyES("kv1", "x/../../auth/token/lookup-self"), []string{notNormalized, outside}, `"auth/token/lookup-self"`},
		{"vault without mount: first segment is the mount", keyES("nomount", "prod/payments/db"), nil, ""},
		{"vault leading slash", keyES("kv2", "/prod/payments/db"), []string{notNormalized}, `which Vault strips`},
		{"sm dot segments", keyES("sm", "prod/payments/../../billing/db"), []string{notNormalized, outside}, `"billing/db"`},
		{"sm percent-encoded", keyES("sm", "prod/payments/%2e%2e/%2e%2e/billing/db"), []string{notNormalized}, `percent-encoded`},
		{"boundary: prod/paymentsx is not under prod/payments/", keyES("sm", "prod/paymentsx/db"), []string{outside}, ""},
		{"ARN inside the prefix", keyES("sm", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf"), nil, ""},
		{"ARN outside the prefix", keyES("sm", "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/db-AbCdEf"), []string{outside}, `"billing/db-AbCdEf"`},
		{"ARN ignores the store prefix", keyES("sm-payments", "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/db-AbCdEf"), []string{outside}, ""},
		{"ARN of another service", keyES("sm", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/payments/db"), []string{notNormalized, outside}, ""},
		{"store prefix applies", keyES("sm-payments", "db"), nil, ""},
		{"store prefix outside", keyES("sm-billing", "prod/payments/db"), []string{outside}, `"billing/prod/payments/db"`},
		{"ssm leading slash is the hierarchy", keyES("ssm", "/prod/payments/db"), nil, ""},
		{"ssm ARN inside", keyES("ssm", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/payments/db"), nil, ""},
		{"kubernetes: no / in a Secret name", keyES("kube", "prod/payments/db"), []string{notNormalized}, "not a Kubernetes Secret name"},
		{"unknown store: read as written, cleaned too", keyES("missing", "prod/payments/../../billing/db"), []string{notNormalized, outside}, ""},
	} {
		got := verdicts(t, b, tc.es)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: flagged %q, want %q", tc.name, got, tc.want)
			continue
		}
		if tc.inMsg != "" {
			in, _ := b.ForExternalSecret(context.Background(), tc.es, OpLint)
			set, _ := NewSet(context.Background(), nil)
			vs, _ := set.Evaluate(context.Background(), in)
			found := false
			for _, v := range vs {
				found = found || strings.Contains(v.Message, tc.inMsg)
			}
			if !found {
				t.Errorf("%s: no message mentions %s: %+v", tc.name, tc.inMsg, vs)
			}
		}
	}
}

// Each entry is judged by the store it reads through: a sourceRef to a store whose prefix
// puts the key outside is flagged even when the main store's prefix would allow it.
func TestPaths_SourceRefEntriesUseTheirOwnStore(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	es := keyES("sm-payments", "db", "db")
	es.Spec.Data[1].SourceRef = &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "sm-billing"}}
	es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{
		{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "db"}, SourceRef: &esv1.StoreGeneratorSourceRef{SecretStoreRef: &esv1.SecretStoreRef{Name: "shared-sm", Kind: esv1.ClusterSecretStoreKind}}},
		{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "db"}},
	}
	want := []string{"externalsecret-key-outside-prefix spec.dataFrom[0].extract.key", "externalsecret-key-outside-prefix spec.data[1].remoteRef.key"}
	if got := verdicts(t, b, es); !slices.Equal(got, want) {
		t.Errorf("flagged %q, want %q", got, want)
	}
	in, err := b.ForExternalSecret(context.Background(), es, OpLint)
	if err != nil {
		t.Fatal(err)
	}
	stores := in["stores"].(map[string]any)
	for _, id := range []string{"SecretStore/sm-payments", "SecretStore/sm-billing", "ClusterSecretStore/shared-sm"} {
		if stores[id] == nil {
			t.Errorf("input.stores lacks %s: %v", id, stores)
		}
	}
}

func TestPaths_FindPaths(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	str := func(s string) *string { return &s }
	noPath := "externalsecret-find-without-path spec.dataFrom[0].find"
	for _, tc := range []struct {
		name string
		es   *esv1.ExternalSecret
		want []string
	}{
		{"sm find inside", findES("sm", str("prod/payments/")), nil},
		{"sm find on a string prefix that also matches prod/paymentsx", findES("sm", str("prod/payments")), []string{"externalsecret-key-outside-prefix spec.dataFrom[0].find.path"}},
		{"vault find of the folder", findES("kv2", str("prod/payments")), nil},
		{"empty path is no path", findES("sm", str("")), []string{noPath, "externalsecret-key-outside-prefix spec.dataFrom[0].find.path"}},
		{"blank path is no path", findES("sm", str("  ")), []string{noPath, "externalsecret-key-outside-prefix spec.dataFrom[0].find.path"}},
		{"/ is no path", findES("ssm", str("/")), []string{noPath, "externalsecret-key-outside-prefix spec.dataFrom[0].find.path"}},
		{"no path at all", findES("kv2", nil), []string{noPath, "externalsecret-key-outside-prefix spec.dataFrom[0].find"}},
		{"no path on a store whose prefix is inside", findES("sm-payments", nil), []string{noPath}},
		{"dot segments", findES("kv2", str("prod/payments/../../")), []string{"externalsecret-key-not-normalized spec.dataFrom[0].find.path", "externalsecret-key-outside-prefix spec.dataFrom[0].find.path"}},
	} {
		if got := verdicts(t, b, tc.es); !slices.Equal(got, tc.want) {
			t.Errorf("%s: flagged %q, want %q", tc.name, got, tc.want)
		}
	}
}

// "prod/pay" allows prod/pay/… and the secret prod/pay itself, never prod/payments/….
func TestPaths_PrefixBoundary(t *testing.T) {
	b := pathCluster(t, "prod/pay")
	for key, want := range map[string]bool{"prod/pay/db": true, "prod/pay": true, "prod/payments/db": false, "prod/pays": false} {
		got := len(verdicts(t, b, keyES("sm", key))) == 0
		if got != want {
			t.Errorf("prefix prod/pay, key %s: allowed %v, want %v", key, got, want)
		}
	}
}
