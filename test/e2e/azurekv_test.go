package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// azureKV is the local Key Vault and Entra ID the suite's controller reaches (its registry
// carries the harness's transport; see harness.RegistryForControlPlane).
func azureKV(t *testing.T) *harness.AzureKV {
	t.Helper()
	kv, err := harness.SharedAzureKV()
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// azureStore is a SecretStore for the vault of the namespace with service principal auth
// (client id and secret in the Secret "azure-sp").
func azureStore(ns string) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{
			VaultURL: ptrTo(harness.VaultURL(ns)), TenantID: ptrTo(harness.AzureTenant),
			AuthSecretRef: &esv1.AzureKVAuth{
				ClientID:     &esv1.SecretKeySelector{Name: "azure-sp", Key: "client-id"},
				ClientSecret: &esv1.SecretKeySelector{Name: "azure-sp", Key: "client-secret"},
			},
		}},
	}}
}

// An ExternalSecret reads a Key Vault secret's property, a key's public JWK, a tag
// (metadataPolicy Fetch) and the secrets a find selects by path (a name prefix: Key Vault
// names are flat), name and tags, through the
// controller with a service principal; a new version in the vault reaches the Secret.
func TestAzureKV_ServicePrincipalSync(t *testing.T) {
	t.Parallel()
	h, kv := env.T(t), azureKV(t)
	ns := h.NewNamespace()
	appID, appSecret := "sp-"+ns, "sp-secret-"+ns
	rememberValue(appSecret)
	kv.AddServicePrincipal(appID, appSecret)
	pass := "azure-pass-1-" + ns
	rememberValue(pass)
	kv.SetSecret(ns, "db", `{"username":"app","password":"`+pass+`"}`, map[string]string{"team": "payments"})
	kv.SetSecret(ns, "app-one", "one-"+ns, map[string]string{"sync": "yes"})
	kv.SetSecret(ns, "app-two", "two-"+ns, map[string]string{"sync": "no"})
	kv.SetSecret(ns, "app-three", "three-"+ns, map[string]string{"sync": "yes"})
	kv.SetSecret(ns, "other", "other-"+ns, map[string]string{"sync": "yes"})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	kv.ImportKey(ns, "signing", map[string]any{"kty": "RSA", "n": b64(key.N.Bytes()),
		"e": b64(big.NewInt(int64(key.E)).Bytes())}, nil)

	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "azure", Kind: esv1.SecretStoreKind},
		Data: []esv1.ExternalSecretData{
			{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "secret/db", Property: "password"}},
			{SecretKey: "modulus", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "key/signing", Property: "n"}},
			{SecretKey: "team", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "team",
				MetadataPolicy: esv1.MetadataPolicyFetch}},
		},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Path: ptrTo("app-"),
			Name: &esv1.FindName{RegExp: "-(one|two)$"}, Tags: map[string]string{"sync": "yes"}}}},
	}}
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure-sp"},
		StringData: map[string]string{"client-id": appID, "client-secret": appSecret}}, azureStore(ns), es)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "azure"}, esv1.ReasonStoreValid)
	s := h.WaitSecretValue(ns, "db", "password", pass)
	if got := string(s.Data["modulus"]); got != b64(key.N.Bytes()) {
		t.Errorf("modulus = %q; want the key's n", got)
	}
	if got := string(s.Data["team"]); got != "payments" {
		t.Errorf("team (metadataPolicy Fetch) = %q; want the tag's value", got)
	}
	if string(s.Data["app-one"]) != "one-"+ns || s.Data["app-two"] != nil || s.Data["app-three"] != nil ||
		s.Data["other"] != nil {
		t.Errorf("find by path, name and tags returned keys %v; want app-one only", azureKeysOf(s.Data))
	}

	rotated := "azure-pass-2-" + ns
	rememberValue(rotated)
	kv.SetSecret(ns, "db", `{"username":"app","password":"`+rotated+`"}`, map[string]string{"team": "payments"})
	h.ForceSync(client.ObjectKeyFromObject(es))
	h.WaitSecretValue(ns, "db", "password", rotated)
}

func azureKeysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Workload identity: the controller mints a token for the store's ServiceAccount (audience
// api://AzureADTokenExchange) and exchanges it at Entra ID for the app the ServiceAccount's
// annotation names; the app's federated credential admits that ServiceAccount only.
func TestAzureKV_WorkloadIdentity(t *testing.T) {
	t.Parallel()
	h, kv := env.T(t), azureKV(t)
	ns := h.NewNamespace()
	appID := "wi-" + ns
	kv.AddFederatedPrincipal(appID, ns, "reader")
	value := "wi-value-" + ns
	rememberValue(value)
	kv.SetSecret(ns, "token", value, nil)
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{
			VaultURL: ptrTo(harness.VaultURL(ns)), TenantID: ptrTo(harness.AzureTenant),
			AuthType:          ptrTo(esv1.AzureWorkloadIdentity),
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "reader"},
		}},
	}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wi"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "azure", Kind: esv1.SecretStoreKind},
		Data:           []esv1.ExternalSecretData{{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "token"}}},
	}}
	h.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader",
		Annotations: map[string]string{"azure.workload.identity/client-id": appID}}}, store, es)
	h.WaitSecretValue(ns, "wi", "token", value)
	if kv.TokenRequests(appID) == 0 {
		t.Errorf("Entra ID issued no token to %s", appID)
	}
}

// A wrong client secret: the store is not Ready and says Entra ID refused the client, naming
// the app and neither the secret nor Entra ID's own text.
func TestAzureKV_WrongSecretIsReportedWithoutIt(t *testing.T) {
	t.Parallel()
	h, kv := env.T(t), azureKV(t)
	ns := h.NewNamespace()
	appID, wrong := "sp-"+ns, "wrong-secret-"+ns
	rememberValue(wrong)
	kv.AddServicePrincipal(appID, "right-secret-"+ns)
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure-sp"},
		StringData: map[string]string{"client-id": appID, "client-secret": wrong}}, azureStore(ns))
	s := h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "azure"}, esv1.ReasonValidationFailed)
	msg := harness.ReadyMessage(s.Status.Conditions)
	if !strings.Contains(msg, "invalid_client (AADSTS7000215)") || !strings.Contains(msg, appID) {
		t.Errorf("store message %q does not say Entra ID refused app %s", msg, appID)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, "Invalid client secret") {
		t.Errorf("store message %q carries the secret or Entra ID's text", msg)
	}
}

// A PushSecret writes a key of a Secret and the whole Secret to Key Vault with a service
// principal: tagged managed-by=external-secrets and with data[].metadata's tags, no new
// version when pushed again unchanged, soft-deleted when the PushSecret goes (deletionPolicy
// Delete); a secret of the vault that Vigil did not create is left as it is unless
// updatePolicy is Replace (provider test TestPushLeavesOthersSecrets covers Replace).
func TestAzureKV_PushSecret(t *testing.T) {
	t.Parallel()
	h, kv := env.T(t), azureKV(t)
	ns := h.NewNamespace()
	appID, appSecret := "sp-"+ns, "sp-secret-"+ns
	rememberValue(appSecret)
	kv.AddServicePrincipal(appID, appSecret)
	kv.SetSecret(ns, "theirs", "someone-elses-"+ns, map[string]string{"owner": "other-team"})
	ps := pushSecret(ns, "app", "azure", "src", pushEntry("password", "secret/app-password", ""),
		pushEntry("", "app-all", ""))
	ps.Spec.Data[0].Metadata = &apiextensionsv1.JSON{Raw: []byte(
		`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata",` +
			`"spec":{"tags":{"team":"payments"},"contentType":"text/plain"}}`)}
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	// IfNotExists with a property the foreign secret lacks would write into it: refused.
	theirs := pushSecret(ns, "theirs", "azure", "src", pushEntry("password", "theirs", "password"))
	theirs.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure-sp"},
		StringData: map[string]string{"client-id": appID, "client-secret": appSecret}}, azureStore(ns),
		sourceSecret(ns, "src", map[string]string{"password": "azure-pushed-" + ns, "user": "app"}), ps, theirs)
	key := types.NamespacedName{Namespace: ns, Name: "app"}
	got := h.WaitPushed(key)

	o, ok := kv.Object(ns, "secrets", "app-password")
	if !ok || o.Value != "azure-pushed-"+ns || o.Tags["managed-by"] != "external-secrets" ||
		o.Tags["team"] != "payments" || o.ContentType != "text/plain" || o.Versions != 1 {
		t.Errorf("app-password in the vault: found %v, tags %v, contentType %q, %d versions; want the value, "+
			"managed-by and team tags, text/plain, 1 version", ok, o.Tags, o.ContentType, o.Versions)
	}
	all, _ := kv.Object(ns, "secrets", "app-all")
	var whole map[string]string
	if err := json.Unmarshal([]byte(all.Value), &whole); err != nil || whole["password"] != "azure-pushed-"+ns ||
		whole["user"] != "app" || all.Tags["managed-by"] != "external-secrets" {
		t.Errorf("app-all is not the whole Secret as JSON, tagged managed-by (tags %v)", all.Tags)
	}

	h.ForcePush(key)
	h.WaitPushedSince(key, got.Status.SyncedResourceVersion)
	if o, _ := kv.Object(ns, "secrets", "app-password"); o.Versions != 1 {
		t.Errorf("an unchanged push made a new version (%d versions)", o.Versions)
	}

	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "theirs"}, "not managed by external-secrets")
	if o, _ := kv.Object(ns, "secrets", "theirs"); o.Value != "someone-elses-"+ns || o.Versions != 1 {
		t.Error("a push changed a Key Vault secret Vigil did not create")
	}

	h.Delete(got)
	for _, name := range []string{"app-password", "app-all"} {
		if o, ok := kv.Object(ns, "secrets", name); !ok || !o.Deleted {
			t.Errorf("%s after the PushSecret's deletion (deletionPolicy Delete): found %v, deleted %v; want "+
				"soft-deleted", name, ok, o.Deleted)
		}
	}
}

// Managed identity is the identity of the controller's node or pod: a tenant's store that
// asks for it is blocked (store-ambient-credentials) before any token is requested, while in
// a namespace the admin allows (the suite allows e2e-*) the same store reads the vault.
func TestAzureKV_ManagedIdentityOnlyWhereAllowed(t *testing.T) {
	t.Parallel()
	h, kv := env.T(t), azureKV(t)
	ns := h.NewNamespace()
	mi := "mi-" + ns
	kv.SetManagedIdentity(mi)
	t.Cleanup(func() { kv.SetManagedIdentity("") })
	miStore := func(ns string) *esv1.SecretStore {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure"}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{VaultURL: ptrTo(harness.VaultURL(ns)),
				AuthType: ptrTo(esv1.AzureManagedIdentity), IdentityID: ptrTo(mi)}},
		}}
	}
	read := func(ns string) *esv1.ExternalSecret {
		return &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mi"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "azure", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "v", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db"}}},
		}}
	}

	tenant := tenantNamespace(t, h.Ctx, nil)
	kv.SetSecret(tenant, "db", "never-read-"+tenant, nil)
	rememberValue("never-read-" + tenant)
	h.Create(miStore(tenant), read(tenant))
	s := h.WaitStoreReason(types.NamespacedName{Namespace: tenant, Name: "azure"}, esv1.ReasonPolicyViolation)
	if msg := harness.ReadyMessage(s.Status.Conditions); !strings.Contains(msg, "store-ambient-credentials") ||
		!strings.Contains(msg, "ManagedIdentity") {
		t.Errorf("the tenant's store message %q does not name the rule and ManagedIdentity", msg)
	}
	h.WaitReason(types.NamespacedName{Namespace: tenant, Name: "mi"}, esv1.ReasonPolicyViolation)
	if n := kv.TokenRequests(mi); n != 0 {
		t.Errorf("IMDS issued %d tokens for a blocked tenant store", n)
	}

	value := "mi-value-" + ns
	rememberValue(value)
	kv.SetSecret(ns, "db", value, nil)
	h.Create(miStore(ns), read(ns))
	h.WaitSecretValue(ns, "mi", "v", value)
	if kv.TokenRequests(mi) == 0 {
		t.Error("IMDS issued no token for the allowed store")
	}
}
