package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// devHostsPolicy is the suite's ClusterSecretPolicy that lets stores reach the Vault dev
// server over plain http on loopback, as an admin would for a development cluster; the
// controller allows the same host with --allow-insecure-store-hosts (harness.LoopbackHTTP).
const devHostsPolicy = "e2e-dev-http-hosts"

func devHostsPolicyWith(hosts ...string) *policyv1alpha1.ClusterSecretPolicy {
	params, _ := json.Marshal(map[string][]string{"allowHTTPHosts": hosts})
	return &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: devHostsPolicy}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rules: []policyv1alpha1.BuiltinRule{{ID: "store-plaintext-credentials", Parameters: &apiextensionsv1.JSON{Raw: params}}},
	}}
}

// allowLoopbackHTTP creates the suite's dev-hosts policy and waits until the controller has
// compiled it.
func allowLoopbackHTTP(ctx context.Context) error {
	p := devHostsPolicyWith(harness.LoopbackHTTP...)
	if err := cp.Client.Create(ctx, p); err != nil {
		return err
	}
	return harness.WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, types.NamespacedName{Name: devHostsPolicy}, p); err != nil {
			return false, err
		}
		return apimeta.IsStatusConditionTrue(p.Status.Conditions, "Ready"), nil
	})
}

// plainHTTPListener is an http server on 127.0.0.2 (a loopback host the suite does not
// allow) that counts the requests it receives: a store pointed at it must never reach it.
func plainHTTPListener(t *testing.T) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, `{"errors":["no"]}`, http.StatusForbidden)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

func plainVaultStore(ns, name, server string) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: server, Path: ptrTo("secret"), Version: esv1.VaultKVStoreV2,
			Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}}},
	}}
}

func ptrTo[T any](v T) *T { return &v }

// A tenant's Vault store that points at a plain-http host is refused by the policy rule
// store-plaintext-credentials before any credential is used, and its ExternalSecret
// reports it; the host never receives a request (so never a token).
func TestCredentials_PlainHTTPStoreIsDenied(t *testing.T) {
	t.Parallel()
	ns := env.T(t).NewNamespace()
	url, hits := plainHTTPListener(t)
	rememberValue("s.plain-http-token") // never in a log, event or condition either
	assertPlainVaultRefused(t, ns, url, hits, "s.plain-http-token", "store-plaintext-credentials")
}

// assertPlainVaultRefused creates a Vault store "plain" at the plain-http url (with a token
// Secret) and an ExternalSecret "db" reading through it, waits until both are refused with a
// message that says want, and checks that the host received no request.
func assertPlainVaultRefused(t *testing.T, ns, url string, hits *atomic.Int32, token, want string) {
	t.Helper()
	h := env.T(t)
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": token}}, plainVaultStore(ns, "plain", url), externalSecret(ns, "db", "plain", "app/db", map[string]string{"password": "password"}))
	h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "db"}, want)
	waitStoreMessage(t, types.NamespacedName{Namespace: ns, Name: "plain"}, want)
	if n := hits.Load(); n != 0 {
		t.Errorf("the plain-http host received %d requests", n)
	}
}

// With the policy widened to that host by an admin, the controller still refuses it: only
// hosts in --allow-insecure-store-hosts may be reached over http (defence in depth).
func TestCredentials_ControllerRefusesHTTPHostsItDoesNotAllow(t *testing.T) {
	// Not parallel: it widens the suite's dev-hosts ClusterSecretPolicy.
	ctx := context.Background()
	url, hits := plainHTTPListener(t)
	p := &policyv1alpha1.ClusterSecretPolicy{}
	if err := cp.Client.Get(ctx, types.NamespacedName{Name: devHostsPolicy}, p); err != nil {
		t.Fatal(err)
	}
	wide := devHostsPolicyWith(append(harness.LoopbackHTTP, "127.0.0.2")...)
	p.Spec = wide.Spec
	if err := cp.Client.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The widened policy is compiled before the store is created.
	waitPolicy(t, ctx, p, "Ready=True for the widened spec", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation
	})
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cp.Client.Get(ctx, types.NamespacedName{Name: devHostsPolicy}, p)
		p.Spec = devHostsPolicyWith(harness.LoopbackHTTP...).Spec
		if err := cp.Client.Update(ctx, p); err != nil {
			t.Errorf("restoring the dev-hosts policy: %v", err)
			return
		}
		// The next tests start once the suite's policy is in force again.
		waitPolicy(t, ctx, p, "Ready=True for the restored spec", func(c *metav1.Condition) bool {
			return c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation
		})
	})
	assertPlainVaultRefused(t, env.T(t).NewNamespace(), url, hits, "s.not-a-real-token", "--allow-insecure-store-hosts")
}

// A VaultDynamicSecret whose Secret cannot be written (the target is someone else's Secret)
// does not leave a database user behind per attempt: each failed pass gives its lease back
// (Vault revokes the token it logged in for, and the lease with it, and drops the
// PostgreSQL role). After three failed passes and one that writes, exactly one lease and
// one generated PostgreSQL role are live. It logs in with Kubernetes auth, whose Vault role
// demands the audience "vault": the login only works with the audience Vigil mints.
func TestCredentials_VaultDynamicSecretFailedWritesLeaveNoLeases(t *testing.T) {
	// Not parallel: it counts the Vault leases the whole controller issued.
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	pg, dbMount := postgresBehindVault(t, ctx, ns)
	authMount := "k8s-" + ns
	h.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-creds"}})
	if err := vlt.KubernetesAuth(ctx, cp, authMount, ns); err != nil {
		t.Fatal(err)
	}
	if err := vlt.KubernetesRole(ctx, authMount, "app", ns, "db-creds", "creds-"+ns); err != nil {
		t.Fatal(err)
	}
	// The target name is taken by a hand-made Secret: every pass generates, then fails to write.
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg-login"}, StringData: map[string]string{"note": "hand-made"}}, &genv1alpha1.VaultDynamicSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg"}, Spec: genv1alpha1.VaultDynamicSecretSpec{
		Path: dbMount + "/creds/app",
		Provider: &esv1.VaultProvider{Server: vlt.URL, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Path: authMount, Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "db-creds"}}}},
	}}, generatedSecret(ns, "pg-login", "VaultDynamicSecret", "pg"))
	key := types.NamespacedName{Namespace: ns, Name: "pg-login"}
	// Leases issued (successful Generate calls), counted across the suite's controller; the
	// tests run one at a time.
	generated := func() float64 {
		return h.MetricValue(metrics.ProviderAPICalls, map[string]string{"provider": "HashiCorp/Vault", "call": "Generate", "status": "success"})
	}
	before := generated()
	errors := func() float64 {
		return h.MetricValue(metrics.ExternalSecretSyncErrors, map[string]string{"namespace": ns, "name": "pg-login"})
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 {
			h.ForceSync(key)
		}
		if err := harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) { return errors() >= float64(attempt), nil }); err != nil {
			t.Fatalf("failed pass %d never happened: %v", attempt, err)
		}
	}
	h.WaitMessage(key, "pg-login") // the write was refused, after generation
	if n := generated() - before; n < 3 {
		t.Fatalf("%v leases issued in 3 failed passes; the test needs each pass to generate", n)
	}
	// Hand the Secret over; the next pass writes it.
	if err := cp.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pg-login"}}); err != nil {
		t.Fatal(err)
	}
	h.ForceSync(key)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	rememberValue(string(h.Secret(ns, "pg-login").Data["password"]))

	// Every failed pass generated and gave its lease back; every pass that wrote keeps one.
	// Usually one pass writes, but a pass queued before the Secret was deleted may write it
	// ahead of the force-sync, which then writes again: both are legitimate syncs.
	var leases, roles, kept int
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		var err error
		if leases, err = liveLeases(ctx, dbMount+"/creds/app/"); err != nil {
			return false, err
		}
		if roles, err = generatedRoles(ctx, pg); err != nil {
			return false, err
		}
		kept = int(generated() - before - errors())
		return kept >= 1 && leases == kept && roles == kept, nil
	})
	if err != nil {
		t.Fatalf("after the failed passes and the write: %d live leases and %d generated PostgreSQL roles, "+
			"want %d (one per pass that wrote the Secret) (%v)", leases, roles, kept, err)
	}
}

// liveLeases counts the leases Vault holds under prefix.
func liveLeases(ctx context.Context, prefix string) (int, error) {
	s, err := vlt.Admin.Logical().ListWithContext(ctx, "sys/leases/lookup/"+prefix)
	if err != nil || s == nil {
		return 0, err
	}
	keys, _ := s.Data["keys"].([]any)
	return len(keys), nil
}

// generatedRoles counts the PostgreSQL login roles Vault's database engine created (its
// names start with "v-").
func generatedRoles(ctx context.Context, pg *harness.Postgres) (int, error) {
	conn, err := pgx.Connect(ctx, pg.URL("postgres", pg.Password))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'`).Scan(&n)
	return n, err
}

// A remote Secret with binary values (random bytes, invalid UTF-8 included) is synced byte for
// byte by the Kubernetes provider: one key through remoteRef.property and every key through
// dataFrom.extract. (dataFrom.find, which the default policy denies without a path and the
// Kubernetes provider cannot take a path for, is covered against the real API server by
// providers/kubernetes TestBinaryValuesByteForByte.)
func TestCredentials_KubernetesBinaryValuesByteForByte(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, remote := h.NewNamespace(), h.NewNamespace()
	blob := make([]byte, 2048)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	blob = append(blob, 0xff, 0xfe, 0xc3, 0x28, 0x00, '"', '\\', 0x80)
	keystore := append([]byte{0xfe, 0xed, 0xfe, 0xed}, blob[:64]...) // a JKS header, not UTF-8
	objs := kubernetesReader(ns, remote, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}})
	h.Create(append(objs,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "binary", Labels: map[string]string{"kind": "binary"}},
			Data: map[string][]byte{"cert.der": blob, "keystore.jks": keystore, "text": []byte("plain")}},
		&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "property"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "remote", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "cert", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "binary", Property: "cert.der"}}},
		}},
		&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "extract"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "remote", Kind: esv1.SecretStoreKind},
			DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "binary"}}},
		}},
	)...)
	for _, name := range []string{"property", "extract"} {
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: name}, esv1.ReasonSecretSynced)
	}
	if got := h.Secret(ns, "property").Data["cert"]; !bytes.Equal(got, blob) {
		t.Errorf("property: %d bytes synced, differ from the %d stored", len(got), len(blob))
	}
	ex := h.Secret(ns, "extract").Data
	if !bytes.Equal(ex["cert.der"], blob) || !bytes.Equal(ex["keystore.jks"], keystore) || string(ex["text"]) != "plain" {
		t.Errorf("extract: keys %d; binary values differ from what is stored", len(ex))
	}
}
