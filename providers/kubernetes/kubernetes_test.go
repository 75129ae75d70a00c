package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/conformance"
	"github.com/vigil-dev/vigil/providers/kubernetes"
	"github.com/vigil-dev/vigil/test/harness"
)

// The store lives in "app"; it reads Secrets of "remote" with the identity of the
// ServiceAccount app/reader, which a Role in "remote" allows to get and list Secrets. The
// same API server plays the remote cluster: every request carries the store's token, so its
// RBAC is enforced for real.
const (
	storeNS  = "app"
	remoteNS = "remote"
)

var cp *harness.ControlPlane

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "kubernetes:", err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "kubernetes: stopping the control plane:", err)
		}
	}()
	if err := setup(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "kubernetes: setup:", err)
		return 1
	}
	return m.Run()
}

func setup(ctx context.Context) error {
	reader := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "reader"}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: storeNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: remoteNS}},
		reader,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "nobody"}},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "secret-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "secret-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "secret-reader"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: storeNS, Name: "reader"}},
		},
	} {
		if err := cp.Client.Create(ctx, o); err != nil {
			return err
		}
	}
	// A long-lived bearer token of the same ServiceAccount for auth.token.
	seconds := int64(3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	if err := cp.Client.SubResource("token").Create(ctx, reader, tr); err != nil {
		return err
	}
	return cp.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "remote-token"},
		StringData: map[string]string{"token": tr.Status.Token},
	})
}

func store(auth *esv1.KubernetesAuth) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "remote", UID: "uid"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
			Server:          esv1.KubernetesServer{URL: cp.Config.Host, CABundle: cp.Config.CAData},
			Auth:            auth,
			RemoteNamespace: remoteNS,
		}}},
	}
}

var (
	saAuth    = &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader"}}
	tokenAuth = &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "remote-token", Key: "token"}}}
)

func newClient(t *testing.T, s *esv1.SecretStore) providers.Client {
	t.Helper()
	p := kubernetes.New(kubernetes.Options{LocalAPIServer: cp.Config.Host})
	if err := p.ValidateStore(s); err != nil {
		t.Fatal(err)
	}
	c, err := p.NewClient(context.Background(), s, cp.Client, storeNS)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putSecret stores a conformance value (a JSON object of strings) as a Secret's data.
func putSecret(t *testing.T, name, value string, labels map[string]string) {
	t.Helper()
	var data map[string]string
	if err := json.Unmarshal([]byte(value), &data); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: name, Labels: labels}, StringData: data}
	if err := cp.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// Both auth methods pass the provider suite against the real API server.
func TestConformance(t *testing.T) {
	for name, auth := range map[string]*esv1.KubernetesAuth{"serviceAccount": saAuth, "token": tokenAuth} {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
				for k, v := range values {
					putSecret(t, k, v, nil)
				}
				return newClient(t, store(auth))
			})
		})
	}
}

func TestFindAndMetadata(t *testing.T) {
	ctx := context.Background()
	putSecret(t, "find-db-a", `{"password":"a"}`, map[string]string{"team": "a"})
	putSecret(t, "find-db-b", `{"password":"b"}`, map[string]string{"team": "b"})
	putSecret(t, "find-api-a", `{"token":"t"}`, map[string]string{"team": "a"})
	c := newClient(t, store(saAuth))
	found, err := c.(providers.Finder).Find(ctx, providers.FindRef{Name: "^find-db-", Tags: map[string]string{"team": "a"}})
	if err != nil || len(found) != 1 || string(found["find-db-a"]) != `{"password":"a"}` {
		t.Errorf("find name ^find-db- and team=a: %d results, %v", len(found), err)
	}
	labels, err := c.(providers.MetadataGetter).GetMetadata(ctx, providers.Ref{Key: "find-api-a"})
	if err != nil || labels["team"] != "a" {
		t.Errorf("metadata: %v, %v", labels, err)
	}
}

// A ServiceAccount without a grant in the remote namespace is refused by the API server's
// RBAC; Validate and reads say what to grant.
func TestIdentityWithoutGrantIsRefused(t *testing.T) {
	ctx := context.Background()
	putSecret(t, "guarded", `{"k":"v"}`, nil)
	c := newClient(t, store(&esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "nobody"}}))
	if err := c.Validate(ctx); err == nil || !strings.Contains(err.Error(), "may not get Secrets") {
		t.Errorf("Validate: %v, want a refusal that says what to grant", err)
	}
	if _, err := c.GetSecret(ctx, providers.Ref{Key: "guarded"}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("GetSecret: %v, want Forbidden", err)
	}
}

func TestValidateStore_ExplainsBadConfig(t *testing.T) {
	noAuth := store(nil)
	both := store(&esv1.KubernetesAuth{Token: tokenAuth.Token, ServiceAccount: saAuth.ServiceAccount})
	badURL := store(saAuth)
	badURL.Spec.Provider.Kubernetes.Server.URL = "ftp://x"
	otherNS := store(&esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader", Namespace: ptr("kube-system")}})
	for name, tc := range map[string]struct {
		s    *esv1.SecretStore
		want string
	}{
		"no auth": {noAuth, "exactly one of token"}, "two auth methods": {both, "exactly one of token"},
		"bad URL": {badURL, "not an API server address"}, "ServiceAccount of another namespace": {otherNS, "own namespace"},
		"plain http":                    {withURL(store(tokenAuth), "http://api.example:6443"), "tokens are only sent over https"},
		"minted token for another host": {withURL(store(saAuth), "https://api.example:6443"), "audiences is empty"},
	} {
		err := kubernetes.New(kubernetes.Options{LocalAPIServer: cp.Config.Host}).ValidateStore(tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
