package vault_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
	"github.com/vigil-dev/vigil/test/harness"
)

// calls counts the provider's calls to Vault by name (successful ones).
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) observe(provider, call string, err error, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if err == nil {
		c.n[call]++
	}
}

func (c *calls) get(call string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[call]
}

// A path the token's policy denies answers 403 like a dead token does; reading it again and
// again must not log in again each time (a login storm): the token looks itself up, is
// still good, and the read fails with Vault's reason.
func TestDeniedPathCausesNoLogins(t *testing.T) {
	ctx := context.Background()
	deniedMount(t)
	var n calls
	c := newClient(t, store(func(p *esv1.VaultProvider) { appRole(p); p.Path = ptr("denied") }), vault.Options{Observe: n.observe})
	const reads = 20
	for range reads {
		_, err := c.GetSecret(ctx, providers.Ref{Key: "x"})
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("read of a denied path: %v, want Vault's 403", err)
		}
	}
	if got := n.get("Login"); got != 1 {
		t.Errorf("%d logins for %d reads of a denied path, want 1 (at creation)", got, reads)
	}
}

// deniedMount mounts a KV v2 engine at denied/ (once) that no test policy grants.
func deniedMount(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	mounts, err := vlt.Admin.Sys().ListMountsWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mounts["denied/"]; !ok {
		if err := vlt.Admin.Sys().MountWithContext(ctx, "denied", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, "denied", true, "x", `{"k":"v"}`)
}

// When the client logs in again, the token it replaces is revoked on the real Vault (here:
// a role whose tokens lack the default policy cannot look themselves up, so a denied read
// is taken for a dead token and the client logs in again while the old token still works).
func TestReplacedTokenIsRevoked(t *testing.T) {
	ctx := context.Background()
	deniedMount(t)
	// Tokens of this role may revoke themselves but not look themselves up.
	if err := vlt.Policy(ctx, "bare", `path "auth/token/revoke-self" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := vlt.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/bare", map[string]any{
		"token_policies": "bare", "token_ttl": "1h", "token_no_default_policy": true,
	}); err != nil {
		t.Fatal(err)
	}
	r, err := vlt.Admin.Logical().ReadWithContext(ctx, "auth/approle/role/bare/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := vlt.Admin.Logical().WriteWithContext(ctx, "auth/approle/role/bare/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare-approle"},
		StringData: map[string]string{"secret-id": sid.Data["secret_id"].(string)}}); err != nil {
		t.Fatal(err)
	}
	var n calls
	c := newClient(t, store(func(p *esv1.VaultProvider) {
		p.Path = ptr("denied")
		p.Auth = &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: r.Data["role_id"].(string), SecretRef: esv1.SecretKeySelector{Name: "bare-approle", Key: "secret-id"}}}
	}), vault.Options{Observe: n.observe})
	old := vault.Token(c.(*vault.Client))
	if _, err := vlt.Admin.Auth().Token().LookupWithContext(ctx, old); err != nil {
		t.Fatalf("the first token does not work: %v", err)
	}
	if _, err := c.GetSecret(ctx, providers.Ref{Key: "x"}); err == nil {
		t.Fatal("a read outside the token's policy succeeded")
	}
	if n.get("Login") < 2 {
		t.Fatalf("%d logins; the test needs the client to log in again", n.get("Login"))
	}
	if now := vault.Token(c.(*vault.Client)); now == old {
		t.Fatal("the token was not replaced")
	}
	if _, err := vlt.Admin.Auth().Token().LookupWithContext(ctx, old); err == nil {
		t.Error("the replaced token is still valid on Vault; it must be revoked")
	}
}

// A Vault error reaches the message as Vault's errors list, cut short; a body that is not
// Vault's JSON (a proxy's page, anything echoed) never does.
func TestErrorMessagesAreCut(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("echo-", 500)
	for name, h := range map[string]http.HandlerFunc{
		"errors list": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []string{long, long, long}})
		},
		"raw body": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte(long))
		},
	} {
		srv := httptest.NewServer(h)
		s := store(func(p *esv1.VaultProvider) { p.Server = srv.URL })
		c := newClient(t, s, vault.Options{RequestTimeout: 5 * time.Second})
		_, err := c.GetSecret(ctx, providers.Ref{Key: "x"})
		srv.Close()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		msg := err.Error()
		if len(msg) > 400 || (name == "raw body" && strings.Contains(msg, "echo-")) {
			t.Errorf("%s: %d bytes: %.200s", name, len(msg), msg)
		}
	}
}

// ServiceAccount tokens minted for Kubernetes auth carry the audience "vault" (and those
// serviceAccountRef.audiences adds), never the API server's: decoded from the token the
// real API server minted, as Vault received it.
func TestKubernetesAuthTokenAudience(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var jwt string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			JWT string `json:"jwt"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		jwt = body.JWT
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errors":["stop here"]}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		extra []string
		want  []string
	}{{nil, []string{"vault"}}, {[]string{"https://vault.example"}, []string{"vault", "https://vault.example"}}} {
		s := store(func(p *esv1.VaultProvider) {
			p.Server = srv.URL
			p.Auth = &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app", Audiences: tc.extra}}}
		})
		_, _ = vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP}).NewClient(ctx, s, cp.Client, ns)
		mu.Lock()
		got, err := harness.TokenAudiences(jwt)
		mu.Unlock()
		if err != nil {
			t.Fatalf("Vault received no ServiceAccount token: %v", err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("audiences %v, want %v", got, tc.want)
		}
	}
}
