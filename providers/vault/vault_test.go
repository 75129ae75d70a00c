package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/conformance"
	"github.com/vigil-dev/vigil/providers/vault"
	"github.com/vigil-dev/vigil/test/harness"
)

const ns = "vault-tests"

var (
	vlt *harness.Vault
	cp  *harness.ControlPlane
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if vlt, err = harness.StartVault(); err != nil {
		fmt.Fprintln(os.Stderr, "vault:", err)
		return 1
	}
	defer vlt.Close()
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "vault:", err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "vault: stopping the control plane:", err)
		}
	}()
	if err := setup(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "vault: setting up Vault and the namespace:", err)
		return 1
	}
	return m.Run()
}

// setup mounts a KV v1 engine next to the dev server's KV v2 at secret/, a reader policy,
// AppRole and Kubernetes auth, and the namespace with the credentials the stores name.
func setup(ctx context.Context) error {
	steps := []func() error{
		func() error {
			return vlt.Admin.Sys().MountWithContext(ctx, "kv1", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}})
		},
		func() error {
			return vlt.Policy(ctx, "reader", `
path "secret/data/*"     { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "kv1/*"             { capabilities = ["read"] }`)
		},
		func() error { return cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) },
		func() error {
			return cp.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
		},
		func() error { return vlt.KubernetesAuth(ctx, cp, "kubernetes", ns) },
		func() error { return vlt.KubernetesRole(ctx, "kubernetes", "app", ns, "app", "reader") },
		func() error {
			return vlt.Admin.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"})
		},
		func() error {
			_, err := vlt.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/app", map[string]any{"token_policies": "reader", "token_ttl": "1h"})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	roleID, secretID, err := appRoleCredentials(ctx)
	if err != nil {
		return err
	}
	token, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		return err
	}
	return cp.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-creds"},
		StringData: map[string]string{"token": token.Auth.ClientToken, "role-id": roleID, "secret-id": secretID},
	})
}

func appRoleCredentials(ctx context.Context) (roleID, secretID string, err error) {
	r, err := vlt.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/app/role-id")
	if err != nil {
		return "", "", err
	}
	s, err := vlt.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/app/secret-id", nil)
	if err != nil {
		return "", "", err
	}
	return r.Data["role_id"].(string), s.Data["secret_id"].(string), nil
}

func ptr[T any](v T) *T { return &v }

func store(mutate func(*esv1.VaultProvider)) *esv1.SecretStore {
	p := &esv1.VaultProvider{
		Server:  vlt.URL,
		Path:    ptr("secret"),
		Version: esv1.VaultKVStoreV2,
		Auth:    &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-creds", Key: "token"}},
	}
	if mutate != nil {
		mutate(p)
	}
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault", UID: "uid"},
		Spec:       esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: p}},
	}
}

func newClient(t *testing.T, s *esv1.SecretStore, opts vault.Options) providers.Client {
	t.Helper()
	if opts.AllowHTTPHosts == nil {
		opts.AllowHTTPHosts = harness.LoopbackHTTP // the dev server is http on 127.0.0.1
	}
	p := vault.New(opts)
	if err := p.ValidateStore(s); err != nil {
		t.Fatal(err)
	}
	c, err := p.NewClient(context.Background(), s, cp.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// put stores a conformance value (a JSON object) at the path.
func put(t *testing.T, mount string, v2 bool, path, value string) {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal([]byte(value), &data); err != nil {
		t.Fatal(err)
	}
	var err error
	if v2 {
		err = vlt.KVv2Put(context.Background(), mount, path, data)
	} else {
		_, err = vlt.Admin.Logical().Write(mount+"/"+path, data)
	}
	if err != nil {
		t.Fatal(err)
	}
}

var (
	appRole = func(p *esv1.VaultProvider) {
		p.Auth = &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{
			RoleRef:   &esv1.SecretKeySelector{Name: "vault-creds", Key: "role-id"},
			SecretRef: esv1.SecretKeySelector{Name: "vault-creds", Key: "secret-id"},
		}}
	}
	kubernetesAuth = func(p *esv1.VaultProvider) {
		p.Auth = &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app"}}}
	}
)

// Every KV version and auth method passes the provider suite against the real Vault; the
// Kubernetes logins are reviewed by the real API server.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v2     bool
		mutate func(*esv1.VaultProvider)
	}{
		{"KVv2/token", true, nil},
		{"KVv1/token", false, func(p *esv1.VaultProvider) { p.Version, p.Path = esv1.VaultKVStoreV1, ptr("kv1") }},
		{"KVv2/AppRole", true, appRole},
		{"KVv2/Kubernetes", true, kubernetesAuth},
		{"KVv2/mount in the key", true, func(p *esv1.VaultProvider) { p.Path = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
				s := store(tc.mutate)
				mount := "secret"
				if !tc.v2 {
					mount = "kv1"
				}
				for k, v := range values {
					put(t, mount, tc.v2, k, v)
				}
				c := newClient(t, s, vault.Options{})
				if s.Spec.Provider.Vault.Path == nil {
					return prefixed{c, "secret/"}
				}
				return c
			})
		})
	}
}

// prefixed writes the mount in front of every key (keys of a store without spec.path).
type prefixed struct {
	providers.Client
	prefix string
}

func (p prefixed) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	ref.Key = p.prefix + ref.Key
	return p.Client.GetSecret(ctx, ref)
}

func TestVersionsMetadataAndFind(t *testing.T) {
	ctx := context.Background()
	put(t, "secret", true, "team-a/db", `{"password":"first"}`)
	put(t, "secret", true, "team-a/db", `{"password":"second"}`)
	put(t, "secret", true, "team-a/nested/api", `{"token":"t"}`)
	put(t, "secret", true, "team-b/db", `{"password":"b"}`)
	if err := vlt.Admin.KVv2("secret").PutMetadata(ctx, "team-a/db", vaultapi.KVMetadataPutInput{CustomMetadata: map[string]any{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, store(nil), vault.Options{})

	got, err := c.GetSecret(ctx, providers.Ref{Key: "team-a/db", Version: "1"})
	if err != nil || string(got) != `{"password":"first"}` {
		t.Errorf("version 1: %s, %v", got, err)
	}
	if got, err = c.GetSecret(ctx, providers.Ref{Key: "secret/team-a/db"}); err != nil || string(got) != `{"password":"second"}` {
		t.Errorf("latest, key with the mount: %s, %v", got, err)
	}
	if _, err := c.GetSecret(ctx, providers.Ref{Key: "team-a/db", Version: "9"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("missing version: %v, want ErrNotFound", err)
	}
	tags, err := c.(providers.MetadataGetter).GetMetadata(ctx, providers.Ref{Key: "team-a/db"})
	if err != nil || tags["env"] != "prod" {
		t.Errorf("metadata: %v, %v", tags, err)
	}

	finder := c.(providers.Finder)
	found, err := finder.Find(ctx, providers.FindRef{Path: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || string(found["team-a/nested/api"]) != `{"token":"t"}` || string(found["team-a/db"]) != `{"password":"second"}` {
		t.Errorf("find by path team-a: %d results %v", len(found), keys(found))
	}
	if found, err = finder.Find(ctx, providers.FindRef{Name: "/db$"}); err != nil || len(found) != 2 || found["team-b/db"] == nil {
		t.Errorf("find by name /db$: %v, %v", keys(found), err)
	}
	if found, err = finder.Find(ctx, providers.FindRef{Tags: map[string]string{"env": "prod"}}); err != nil || len(found) != 1 || found["team-a/db"] == nil {
		t.Errorf("find by tag env=prod: %v, %v", keys(found), err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A token Vault no longer accepts (revoked, expired) makes the client log in again, once,
// and the read succeeds; the login is counted as a provider call.
func TestRevokedTokenLogsInAgain(t *testing.T) {
	ctx := context.Background()
	put(t, "secret", true, "relogin", `{"k":"v"}`)
	var logins atomic.Int32
	c := newClient(t, store(appRole), vault.Options{Observe: func(provider, call string, err error, _ time.Duration) {
		if provider == vault.ProviderName && call == "Login" && err == nil {
			logins.Add(1)
		}
	}})
	if _, err := c.GetSecret(ctx, providers.Ref{Key: "relogin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vlt.Admin.Logical().WriteWithContext(ctx, "sys/leases/revoke-prefix/auth/approle/login", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecret(ctx, providers.Ref{Key: "relogin"})
	if err != nil || string(got) != `{"k":"v"}` {
		t.Fatalf("read after the token was revoked: %v", err)
	}
	if n := logins.Load(); n != 2 {
		t.Errorf("%d logins, want 2 (at creation and after the revocation)", n)
	}
}

// Closing a client revokes the token it logged in for (the next read logs in again); a
// static token is the user's and survives.
func TestCloseRevokesLoginTokensOnly(t *testing.T) {
	ctx := context.Background()
	put(t, "secret", true, "close", `{"k":"v"}`)
	var logins atomic.Int32
	observe := vault.Options{Observe: func(provider, call string, err error, _ time.Duration) {
		if call == "Login" && err == nil {
			logins.Add(1)
		}
	}}
	for _, tc := range []struct {
		name       string
		auth       func(*esv1.VaultProvider)
		wantLogins int32
	}{
		{"AppRole", appRole, 2}, // revoked: the next read logs in again
		{"token", nil, 1},       // the token still works: no second login
	} {
		logins.Store(0)
		c := newClient(t, store(tc.auth), observe)
		if _, err := c.GetSecret(ctx, providers.Ref{Key: "close"}); err != nil {
			t.Fatal(err)
		}
		c.(providers.Closer).Close()
		if _, err := c.GetSecret(ctx, providers.Ref{Key: "close"}); err != nil {
			t.Fatalf("%s: read after Close: %v", tc.name, err)
		}
		if n := logins.Load(); n != tc.wantLogins {
			t.Errorf("%s: %d logins, want %d", tc.name, n, tc.wantLogins)
		}
	}
}

// Kubernetes auth with a ServiceAccount the role does not admit fails with Vault's reason.
func TestKubernetesAuthRefusedServiceAccount(t *testing.T) {
	ctx := context.Background()
	if err := cp.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other"}}); err != nil {
		t.Fatal(err)
	}
	s := store(func(p *esv1.VaultProvider) {
		p.Auth = &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "other"}}}
	})
	_, err := vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP}).NewClient(ctx, s, cp.Client, ns)
	if err == nil || !strings.Contains(err.Error(), "auth/kubernetes/login") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("login as an unbound ServiceAccount: %v, want Vault's refusal naming the login path", err)
	}
}

func TestValidateStore_ExplainsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*esv1.VaultProvider)
		want   string
	}{
		"no URL":  {func(p *esv1.VaultProvider) { p.Server = "vault:8200" }, "is not a URL"},
		"no auth": {func(p *esv1.VaultProvider) { p.Auth = nil }, "auth is empty"},
		"two auth methods": {func(p *esv1.VaultProvider) {
			appRole(p)
			p.Auth.TokenSecretRef = &esv1.SecretKeySelector{Name: "x", Key: "t"}
		}, "exactly one"},
		"appRole without id":         {func(p *esv1.VaultProvider) { appRole(p); p.Auth.AppRole.RoleRef = nil }, "roleId or roleRef"},
		"kubernetes, no role":        {func(p *esv1.VaultProvider) { kubernetesAuth(p); p.Auth.Kubernetes.Role = "" }, "role is empty"},
		"kubernetes, no SA":          {func(p *esv1.VaultProvider) { kubernetesAuth(p); p.Auth.Kubernetes.ServiceAccountRef = nil }, "serviceAccountRef"},
		"token in another namespace": {func(p *esv1.VaultProvider) { p.Auth.TokenSecretRef.Namespace = ptr("kube-system") }, "own namespace"},
		"plain http elsewhere":       {func(p *esv1.VaultProvider) { p.Server = "http://vault.example:8200" }, "tokens are only sent over https"},
	} {
		err := vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP}).ValidateStore(store(tc.mutate))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}
