package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// A read the store's role may not make says, in the Ready condition and the event: the
// store, the key, the operation, AWS's error code, the role, the action and resource to
// grant, and the cause the IAM evaluator finds in the role's policies (read by the
// controller's IAM reader): an explicit Deny and which policy, or no Allow at all. moto
// enforces the role's policies (INITIAL_NO_AUTH_ACTION_COUNT), so the refusal is real; its
// own error text (which names the caller) never reaches the message.
func TestExplain_AWSAccessDeniedNamesActionResourceAndCause(t *testing.T) {
	ctx := context.Background()
	h := env.T(t)
	ns := h.NewNamespace()
	backend, admin := enforcingMoto(t, ctx)
	adm := iamAt(t, ctx, backend.URL, admin[0], admin[1])
	caller := createUser(t, ctx, adm, "vigil-"+ns,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	denied := createAssumableRole(t, ctx, adm, "denied", map[string]string{
		"allow": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`,
		// moto does not check GetSecretValue on each secret of a BatchGetSecretValue (AWS
		// does): the Deny names both.
		"guard": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",` +
			`"Action":["secretsmanager:GetSecretValue","secretsmanager:BatchGetSecretValue"],"Resource":"*"}]}`,
	})
	bare := createAssumableRole(t, ctx, adm, "bare", map[string]string{
		"s3": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
	})
	putRemoteWith(t, ctx, awsConfigAt(t, ctx, backend.URL, admin), "app/db", `{"password":"explain-aws-value"}`)
	rememberValue("explain-aws-value")

	o := harness.TestOptions()
	o.Namespace, o.ControllerClass = ns, "explain-iam"
	o.IAM = policy.NewIAMReader(awsConfigAt(t, ctx, backend.URL, admin), time.Second)
	rec := harness.Metrics()
	stop, err := harness.StartController(cp.Config, harness.RegistryWithEndpoint(rec, backend.URL), rec, o)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-key"},
		StringData: map[string]string{"id": caller[0], "secret": caller[1]}})
	for name, role := range map[string]string{"denied": denied, "bare": bare} {
		store := awsStore(ns, name)
		store.Spec.Controller = "explain-iam"
		store.Spec.Provider.AWS.Role = role
		store.Spec.Provider.AWS.Auth.SecretRef = &esv1.AWSAuthSecretRef{
			AccessKeyID:     esv1.SecretKeySelector{Name: "aws-key", Key: "id"},
			SecretAccessKey: esv1.SecretKeySelector{Name: "aws-key", Key: "secret"}}
		h.Create(store, externalSecret(ns, name, name, "app/db", map[string]string{"password": "password"}))
	}
	resource := "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-??????"
	for name, wants := range map[string][]string{
		"denied": {`SecretStore "denied"`, `GetSecretValue of key "app/db" failed: AccessDenied`,
			"identity " + denied, "needs secretsmanager:GetSecretValue on " + resource,
			`an explicit Deny in the role's policy "inline/guard" refuses it`},
		"bare": {`SecretStore "bare"`, "identity " + bare, "needs secretsmanager:GetSecretValue on " + resource,
			"no statement of the role's policies allows it"},
	} {
		key := types.NamespacedName{Namespace: ns, Name: name}
		es := h.WaitMessage(key, wants[len(wants)-1])
		assertExplained(t, ctx, es, wants, "explain-aws-value", caller[0])
	}
}

// A key that does not exist names the closest existing names under its parent, from one
// listing the store's identity may make (names only); a property that does not exist names
// the properties the value has (keys only). Neither shows a value.
func TestExplain_AWSMissingKeyAndPropertyNameTheClosest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := env.T(t)
	ns := h.NewNamespace()
	value := "explain-prop-value-" + ns
	rememberValue(value)
	h.PutRemote(ns+"/db-password", `{"password":"`+value+`","username":"app"}`)
	h.PutRemote(ns+"/api-key", `x`)
	h.Create(awsStore(ns, "store"),
		externalSecret(ns, "typo", "store", ns+"/db-pasword", map[string]string{"password": "password"}),
		externalSecret(ns, "property", "store", ns+"/db-password", map[string]string{"password": "pasword"}))
	typo := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "typo"}, "closest existing names")
	assertExplained(t, ctx, typo, []string{`SecretStore "store"`, `"` + ns + `/db-pasword"`, "ResourceNotFoundException",
		`closest existing names: "` + ns + `/db-password", "` + ns + `/api-key"`}, value)
	prop := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "property"}, "closest properties")
	assertExplained(t, ctx, prop, []string{`property "pasword" does not exist`,
		`closest properties in the value: "password", "username"`}, value)
}

// Vault: a path the role's policy denies says Vault's 403, the role and auth mount, and the
// capability and path to grant; a missing key names its neighbours from a LIST the policy
// allows.
func TestExplain_VaultDeniedPathAndMissingKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := env.T(t)
	ns := h.NewNamespace()
	mount := "k8s-" + ns
	if err := vlt.KubernetesAuth(ctx, cp, mount, ns); err != nil {
		t.Fatal(err)
	}
	hcl := fmt.Sprintf(`path "secret/data/%[1]s/*" { capabilities = ["read"] }
path "secret/metadata/%[1]s/*" { capabilities = ["list"] }
path "secret/data/%[1]s/private/*" { capabilities = ["deny"] }`, ns)
	if err := vlt.Policy(ctx, "explain-"+ns, hcl); err != nil {
		t.Fatal(err)
	}
	if err := vlt.KubernetesRole(ctx, mount, "app", ns, "vault-app", "explain-"+ns); err != nil {
		t.Fatal(err)
	}
	value := "explain-vault-value-" + ns
	rememberValue(value)
	for _, p := range []string{ns + "/db", ns + "/private/db"} {
		if err := vlt.KVv2Put(ctx, "secret", p, map[string]any{"password": value}); err != nil {
			t.Fatal(err)
		}
	}
	path := "secret"
	h.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-app"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: vlt.URL, Path: &path,
				Version: esv1.VaultKVStoreV2, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Path: mount,
					Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "vault-app"}}}}}}},
		externalSecret(ns, "denied", "vault", ns+"/private/db", map[string]string{"password": "password"}),
		externalSecret(ns, "typo", "vault", ns+"/dbb", map[string]string{"password": "password"}))
	denied := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "denied"}, "permission denied")
	assertExplained(t, ctx, denied, []string{`SecretStore "vault"`, `Vault ReadSecretData of key "` + ns + `/private/db"`,
		"permission denied (HTTP 403)", `identity Vault role "app" at auth/` + mount + ` (ServiceAccount vault-app)`,
		`needs the "read" capability on path secret/data/` + ns + `/private/db`}, value)
	typo := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "typo"}, "closest existing names")
	assertExplained(t, ctx, typo, []string{`"` + ns + `/dbb"`, `closest existing names: "` + ns + `/db", "` + ns + `/private/"`}, value)
}

// Kubernetes provider: a Secret the ServiceAccount's Role does not grant says Forbidden, the
// ServiceAccount and the verb to grant; with list granted, a missing name names the closest
// Secrets (a metadata-only list); without list, no hint (and no failure of its own).
func TestExplain_KubernetesRBAC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := env.T(t)
	ns, remote, remote2 := h.NewNamespace(), h.NewNamespace(), h.NewNamespace()
	value := "explain-kube-value-" + ns
	rememberValue(value)
	getOnly := kubernetesReader(ns, remote, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
		Verbs: []string{"get"}, ResourceNames: []string{"shared"}})
	withList := kubernetesReader(ns, remote2, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
		Verbs: []string{"get", "list"}})
	withList = withList[1:] // the ServiceAccount "reader" is in getOnly already
	store2 := withList[len(withList)-1].(*esv1.SecretStore)
	store2.Name = "remote2"
	h.Create(append(append(getOnly, withList...),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "shared"}, StringData: map[string]string{"token": value}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remote2, Name: "shared"}, StringData: map[string]string{"token": value}},
		externalSecret(ns, "forbidden", "remote", "other", map[string]string{"x": ""}),
		externalSecret(ns, "unlisted", "remote", "sharde", map[string]string{"x": ""}),
		externalSecret(ns, "typo", "remote2", "sharde", map[string]string{"x": ""}),
		externalSecret(ns, "property", "remote2", "shared", map[string]string{"x": "tokn"}))...)
	forbidden := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "forbidden"}, "Forbidden")
	assertExplained(t, ctx, forbidden, []string{`SecretStore "remote"`, `Kubernetes get secrets of key "other" failed: Forbidden (HTTP 403)`,
		"identity ServiceAccount reader", fmt.Sprintf(`needs a Role granting "get" on secrets in namespace %q`, remote)}, value)
	typo := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "typo"}, "closest existing names")
	assertExplained(t, ctx, typo, []string{`SecretStore "remote2"`, "NotFound (HTTP 404)", `closest existing names: "shared"`}, value)
	prop := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "property"}, "closest properties")
	assertExplained(t, ctx, prop, []string{`property "tokn" does not exist`, `closest properties in the value: "token"`}, value)
	assertExplainCLI(t, forbidden)
	// The Role grants get on "shared" only: reading "sharde" is refused, and listing is too,
	// so the message has no names to suggest.
	unlisted := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "unlisted"}, esv1.ReasonSecretSyncedError)
	if msg := readyMessage(unlisted); !strings.Contains(msg, "Forbidden") || strings.Contains(msg, "closest") {
		t.Errorf("a name the identity may not list: %q, want Forbidden and no suggestion", msg)
	}
}

// assertExplainCLI runs `vigil explain es NAME -n NS` against the cluster: it prints the
// Ready condition's explanation, the failure event, the store's status and the policy
// verdicts.
func assertExplainCLI(t *testing.T, es *esv1.ExternalSecret) {
	t.Helper()
	bin, err := harness.VigilBinary()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "explain", "es", es.Name, "-n", es.Namespace, "--kubeconfig", kubeconfig).CombinedOutput()
	if err != nil {
		t.Fatalf("vigil explain: %v\n%s", err, out)
	}
	for _, want := range []string{"ExternalSecret " + es.Namespace + "/" + es.Name,
		"Ready=False SecretSyncedError: " + readyMessage(es), "Warning UpdateFailed: " + readyMessage(es),
		`Store SecretStore "` + es.Spec.SecretStoreRef.Name + `"`, "Policies:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("vigil explain prints\n%s\nwithout %q", out, want)
		}
	}
}

// assertExplained checks that the Ready message and the ExternalSecret's last failure event
// (what `kubectl describe` shows) say every want, on one line within 1024 bytes, and that
// neither holds a value or a credential in any common form.
func assertExplained(t *testing.T, ctx context.Context, es *esv1.ExternalSecret, wants []string, secrets ...string) {
	t.Helper()
	msg := readyMessage(es)
	if len(msg) > 1024 || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s: the message is not one line within 1024 bytes: %q", es.Name, msg)
	}
	if es.Status.Conditions[0].Reason != esv1.ReasonSecretSyncedError {
		t.Errorf("%s: reason %q, want %s", es.Name, es.Status.Conditions[0].Reason, esv1.ReasonSecretSyncedError)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q\n  does not say %q", es.Name, msg, w)
		}
	}
	for _, s := range secrets {
		assertNoForm(t, es.Name+" condition", msg, s)
	}
	var events eventsv1.EventList
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.List(ctx, &events, client.InNamespace(es.Namespace)); err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == es.Name && e.Reason == "UpdateFailed" && e.Note == msg {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("%s: no UpdateFailed event says the condition's message: %v", es.Name, err)
	}
	for _, e := range events.Items {
		for _, s := range secrets {
			assertNoForm(t, "event "+e.Reason, e.Note, s)
		}
	}
}

// enforcingMoto starts a moto of the test's own that enforces IAM policies after the first
// three requests (which create the admin user, its policy and its key); it returns the
// admin's access key.
func enforcingMoto(t *testing.T, ctx context.Context) (*harness.Moto, [2]string) {
	t.Helper()
	m, err := harness.NewStoppedMoto()
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3")
	err = m.Start()
	os.Unsetenv("INITIAL_NO_AUTH_ACTION_COUNT")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	admin := createUser(t, ctx, iamAt(t, ctx, m.URL, "testing", "testing"), "admin",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	return m, admin
}

func awsConfigAt(t *testing.T, ctx context.Context, url string, key [2]string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key[0], key[1], "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// createAssumableRole creates a role anyone may assume, with inline policies; it returns its ARN.
func createAssumableRole(t *testing.T, ctx context.Context, c *iam.Client, name string, policies map[string]string) string {
	t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	for pn, doc := range policies {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn),
			PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(out.Role.Arn)
}
