package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

const waitTimeout = harness.DefaultTimeout

func sm(t *testing.T, ctx context.Context) *secretsmanager.Client {
	t.Helper()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg)
}

// putRemoteWith creates or rotates a Secrets Manager secret through cfg.
func putRemoteWith(t *testing.T, ctx context.Context, cfg aws.Config, name, value string) {
	t.Helper()
	rememberValue(value)
	if err := harness.PutSecretValue(ctx, cfg, name, value); err != nil {
		t.Fatal(err)
	}
}

// awsStore is a SecretStore that reads Secrets Manager with the controller's default
// credential chain (moto's test keys in the environment).
func awsStore(ns, name string) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
		}}},
	}
}

// externalSecret maps properties (secretKey -> property, "" for the whole value) of one
// remote key into a Secret of the same name.
func externalSecret(ns, name, store, key string, props map[string]string) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
		},
	}
	for sk, prop := range props {
		es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: sk, RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: prop}})
	}
	return es
}

func readyMessage(es *esv1.ExternalSecret) string { return harness.ReadyMessage(es.Status.Conditions) }

// waitStoreMessage waits until the SecretStore is not Ready with a message that says want.
func waitStoreMessage(t *testing.T, key types.NamespacedName, want string) *esv1.SecretStore {
	t.Helper()
	return waitStore(t, key, fmt.Sprintf("Ready=False saying %q", want), func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, want)
	})
}

// waitStore waits until the SecretStore's Ready condition satisfies ok (want says what ok
// looks for, for the failure message) and returns the store.
func waitStore(t *testing.T, key types.NamespacedName, want string, ok func(c *metav1.Condition) bool) *esv1.SecretStore {
	t.Helper()
	s := &esv1.SecretStore{}
	env.T(t).WaitStore(key, s, want, ok)
	return s
}

// waitClusterStoreReason waits for a ClusterSecretStore's Ready reason.
func waitClusterStoreReason(t *testing.T, name, reason string) *esv1.ClusterSecretStore {
	t.Helper()
	s := &esv1.ClusterSecretStore{}
	env.T(t).WaitStore(types.NamespacedName{Name: name}, s, reason, func(c *metav1.Condition) bool { return c.Reason == reason })
	return s
}

func storeMessage(s *esv1.SecretStore) string {
	if c := apimeta.FindStatusCondition(s.Status.Conditions, esv1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// formOf decodes a query-protocol request body (STS).
func formOf(r harness.Request) url.Values {
	form, _ := url.ParseQuery(r.Text())
	return form
}

// setupDB creates the common scenario: a namespace, the remote secret <ns>/db holding
// {"password": password}, a SecretStore "store" and an ExternalSecret "db" that maps the
// password property into the Secret "db". tune may adjust the ExternalSecret before it is
// created.
func setupDB(t *testing.T, password string, tune func(*esv1.ExternalSecret)) (string, types.NamespacedName) {
	t.Helper()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"`+password+`"}`)
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"})
	if tune != nil {
		tune(es)
	}
	h.Create(awsStore(ns, "store"), es)
	return ns, types.NamespacedName{Namespace: ns, Name: "db"}
}

// createPolicy creates a ClusterSecretPolicy, deletes it when the test ends, and waits until
// the controller has compiled it: only then are the test's ExternalSecrets checked against it.
func createPolicy(t *testing.T, ctx context.Context, pol *policyv1alpha1.ClusterSecretPolicy) {
	t.Helper()
	env.T(t).Create(pol)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), pol) })
	waitPolicy(t, ctx, pol, "Ready=True", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionTrue && c.ObservedGeneration == pol.Generation
	})
}

// waitPolicy waits until the ClusterSecretPolicy's Ready condition satisfies ok (want says
// what ok looks for, for the failure message); pol is refreshed in place.
func waitPolicy(t *testing.T, ctx context.Context, pol *policyv1alpha1.ClusterSecretPolicy, want string, ok func(c *metav1.Condition) bool) {
	t.Helper()
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(pol), pol); err != nil {
			return false, err
		}
		c := apimeta.FindStatusCondition(pol.Status.Conditions, "Ready")
		return c != nil && ok(c), nil
	})
	if err != nil {
		t.Fatalf("ClusterSecretPolicy %s never reached %s: %v (conditions: %s)", pol.Name, want, err, harness.Conditions(pol.Status.Conditions))
	}
}

// servedBodies returns the bodies of the requests moto has served for the given operations
// (X-Amz-Target, e.g. "secretsmanager.GetSecretValue"), to tell which names were read.
func servedBodies(t *testing.T, targets ...string) []string {
	t.Helper()
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reqs {
		if slices.Contains(targets, r.Target()) {
			out = append(out, r.Text())
		}
	}
	return out
}

// kubernetesReader returns the objects of a Kubernetes-provider SecretStore "remote" in ns
// that reads the Secrets of namespace remote as ns's ServiceAccount "reader", which the
// Role "read" in remote grants rule: the API server's RBAC decides what it may read.
func kubernetesReader(ns, remote string, rule rbacv1.PolicyRule) []client.Object {
	return []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "read"}, Rules: []rbacv1.PolicyRule{rule}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "read"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "reader"}}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "remote"}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
				Server:          esv1.KubernetesServer{URL: cp.Config.Host, CABundle: cp.Config.CAData},
				Auth:            &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader"}},
				RemoteNamespace: remote,
			}},
		}},
	}
}

// postgresBehindVault starts a PostgreSQL for the test and mounts Vault's database secrets
// engine for it at "db-"+ns with a role "app", readable under the Vault policy "creds-"+ns.
func postgresBehindVault(t *testing.T, ctx context.Context, ns string) (pg *harness.Postgres, mount string) {
	t.Helper()
	pg, err := harness.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	mount = "db-" + ns
	if err := vlt.DatabaseEngine(ctx, pg, mount, "app", "1h"); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Policy(ctx, "creds-"+ns, fmt.Sprintf(`path "%s/creds/app" { capabilities = ["read"] }`, mount)); err != nil {
		t.Fatal(err)
	}
	return pg, mount
}
