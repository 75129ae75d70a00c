package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"unicode"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// generatedSecret is an ExternalSecret with no store that reads one generator.
func generatedSecret(ns, name, kind, generator string) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.ExternalSecretSpec{
		RefreshInterval: &metav1.Duration{},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{SourceRef: &esv1.StoreGeneratorSourceRef{
			GeneratorRef: &esv1.GeneratorRef{APIVersion: "generators.external-secrets.io/v1alpha1", Kind: kind, Name: generator},
		}}},
	}}
}

// A Password generator fills the Secret's "password" key as its spec asks, and a forced
// sync generates a new one.
func TestGenerator_Password(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	digits, symbols := 5, 0
	h.Create(&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Spec: genv1alpha1.PasswordSpec{Length: 32, Digits: &digits, Symbols: &symbols, NoUpper: true, AllowRepeat: true}}, generatedSecret(ns, "db-password", "Password", "pw"))
	key := types.NamespacedName{Namespace: ns, Name: "db-password"}
	es := h.WaitReason(key, esv1.ReasonSecretSynced)
	first := string(h.Secret(ns, "db-password").Data["password"])
	rememberValue(first)
	nDigits, nUpper, nOther := 0, 0, 0
	for _, r := range first {
		switch {
		case unicode.IsDigit(r):
			nDigits++
		case unicode.IsUpper(r):
			nUpper++
		case !unicode.IsLower(r):
			nOther++
		}
	}
	if len(first) != 32 || nDigits != 5 || nUpper != 0 || nOther != 0 {
		t.Errorf("password of %d characters with %d digits, %d upper-case, %d symbols; want 32, 5, 0, 0", len(first), nDigits, nUpper, nOther)
	}
	h.ForceSync(key)
	h.WaitSyncedSince(key, es.Status.SyncedResourceVersion)
	second := string(h.Secret(ns, "db-password").Data["password"])
	rememberValue(second)
	if second == first || len(second) != 32 {
		t.Errorf("a forced sync kept the password (or changed its length to %d); a generator makes a new one each sync", len(second))
	}
}

// The ECRAuthorizationToken generator logs in to ECR (moto) with the default credential
// chain and writes the registry login.
func TestGenerator_ECRAuthorizationToken(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.Create(&genv1alpha1.ECRAuthorizationToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr"}, Spec: genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1"}}, generatedSecret(ns, "registry", "ECRAuthorizationToken", "ecr"))
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "registry"}, esv1.ReasonSecretSynced)
	s := h.Secret(ns, "registry")
	rememberValue(string(s.Data["password"]))
	if string(s.Data["username"]) != "AWS" || len(s.Data["password"]) == 0 {
		t.Errorf("username %q and a %d-byte password; want AWS and a token", s.Data["username"], len(s.Data["password"]))
	}
	if !strings.Contains(string(s.Data["proxy_endpoint"]), "ecr") {
		t.Errorf("proxy_endpoint %q does not look like an ECR endpoint", s.Data["proxy_endpoint"])
	}
	if _, err := strconv.ParseInt(string(s.Data["expires_at"]), 10, 64); err != nil {
		t.Errorf("expires_at %q is not Unix seconds", s.Data["expires_at"])
	}
}

// Generator kinds of ESO's that Vigil does not implement and missing generators are
// reported with what to fix (a kind outside ESO's list is refused by the schema, as by ESO).
func TestGenerator_BadReferences(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.Create(generatedSecret(ns, "unknown-kind", "UUID", "x"), generatedSecret(ns, "missing", "Password", "absent"))
	for name, want := range map[string]string{
		"unknown-kind": `generator kind "UUID" is not implemented by Vigil (implemented: ClusterGenerator, ECRAuthorizationToken, Password, VaultDynamicSecret); see docs/providers.md`,
		"missing":      "Password " + ns + "/absent does not exist",
	} {
		h.WaitMessage(types.NamespacedName{Namespace: ns, Name: name}, want)
	}
}

// data[].sourceRef.storeRef reads one entry from another store than the ExternalSecret's.
func TestSourceRef_EntryFromAnotherStore(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	main, other := "main-value-"+ns, "other-value-"+ns
	rememberValue(main)
	rememberValue(other)
	h.PutRemote(ns+"/main", main)
	es := externalSecret(ns, "mixed", "aws", ns+"/main", map[string]string{"main": ""})
	es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{
		SecretKey: "other", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k"},
		SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "inline", Kind: esv1.SecretStoreKind}},
	})
	h.Create(awsStore(ns, "aws"), &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "k", Value: other}}}}}}, es)
	s := h.WaitSecretValue(ns, "mixed", "other", other)
	if string(s.Data["main"]) != main {
		t.Errorf("the entry of the main store is missing or wrong")
	}
}

// The VaultDynamicSecret generator asks Vault's database secrets engine for PostgreSQL
// credentials: they log in to the real PostgreSQL, and the next sync brings a new lease
// (another user) that logs in too.
func TestGenerator_VaultDynamicSecretPostgreSQL(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	pg, mount := postgresBehindVault(t, ctx, ns)
	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"creds-" + ns}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	rememberValue(tok.Auth.ClientToken)
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": tok.Auth.ClientToken}}, &genv1alpha1.VaultDynamicSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"}, Spec: genv1alpha1.VaultDynamicSecretSpec{
		Path: mount + "/creds/app",
		Provider: &esv1.VaultProvider{Server: vlt.URL, Auth: &esv1.VaultAuth{
			TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}},
	}}, generatedSecret(ns, "pg-login", "VaultDynamicSecret", "pg"))
	key := types.NamespacedName{Namespace: ns, Name: "pg-login"}
	login := func() string {
		t.Helper()
		s := h.Secret(ns, "pg-login")
		user, pass := string(s.Data["username"]), string(s.Data["password"])
		rememberValue(pass)
		conn, err := pgx.Connect(ctx, pg.URL(user, pass))
		if err != nil {
			t.Fatalf("logging in to PostgreSQL with the synced credentials: %v", err)
		}
		defer conn.Close(ctx)
		var current string
		if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&current); err != nil || current != user {
			t.Fatalf("SELECT current_user = %q, %v; want the synced user %q", current, err, user)
		}
		return user
	}
	es := h.WaitReason(key, esv1.ReasonSecretSynced)
	first := login()
	h.ForceSync(key)
	h.WaitSyncedSince(key, es.Status.SyncedResourceVersion)
	if second := login(); second == first {
		t.Errorf("the refresh kept user %q; each sync should lease new credentials", first)
	}
}
