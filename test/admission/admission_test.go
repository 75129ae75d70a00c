// Package admission tests Vigil's validating webhook on a real API server: the controller
// serves it with a certificate it creates and rotates itself (cert-controller's rotator),
// the API server calls it for every store, ExternalSecret and ClusterSecretPolicy.
package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/test/harness"
)

const configName = "vigil"

var (
	cp       *harness.ControlPlane
	moto     *harness.Moto
	c        client.Client // sees admission warnings
	env      *harness.Env  // acts through c
	warnings = &warningLog{}
	certKey  = types.NamespacedName{Namespace: "vigil-system", Name: "vigil-webhook-cert"}
)

type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	w.msgs = append(w.msgs, text)
	w.mu.Unlock()
}

func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "admission:", err); return 1 }
	var err error
	if moto, err = harness.StartMoto(); err != nil {
		return fail(err)
	}
	defer moto.Close()
	if cp, err = harness.StartControlPlane(filepath.Join(harness.RepoRoot(), "config", "crd-thirdparty")); err != nil {
		return fail(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: certKey.Namespace}}); err != nil {
		return fail(err)
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return fail(err)
	}
	port, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err != nil {
		return fail(err)
	}
	vwc, err := harness.WebhookConfiguration(fmt.Sprintf("https://localhost:%d/validate", port), admissionregistrationv1.Fail)
	if err != nil {
		return fail(err)
	}
	if err := cp.Client.Create(ctx, vwc); err != nil {
		return fail(err)
	}
	certDir, _ := os.MkdirTemp("", "vigil-webhook-")
	harness.MountSecret(ctx, cp.Client, certKey, certDir)

	o := harness.TestOptions()
	o.Webhook = manager.WebhookOptions{Enabled: true, Host: "127.0.0.1", Port: port, CertDir: certDir, CertSecret: certKey.String(), DNSName: "localhost", ConfigName: configName}
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		return fail(err)
	}
	o.IAM = policy.NewIAMReader(awsCfg, time.Second)
	rec := harness.Metrics()
	stop, err := harness.StartController(cp.Config, harness.Registry(rec), rec, o)
	if err != nil {
		return fail(err)
	}
	defer stop()

	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = warnings
	if c, err = client.New(cfg, client.Options{Scheme: cp.Client.Scheme()}); err != nil {
		return fail(err)
	}
	env = &harness.Env{Client: c, Moto: moto, NamespacePrefix: "adm-"}
	if err := waitWebhook(ctx); err != nil {
		return fail(fmt.Errorf("the webhook never answered: %w", err))
	}
	return m.Run()
}

// waitWebhook waits until the API server can call the webhook: the controller has created
// the certificate, injected its CA and started serving.
func waitWebhook(ctx context.Context) error {
	probe := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}
	return harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return err == nil, err
	})
}

// irsaStore is the seed's store in a namespace, with a ServiceAccount for role.
func irsaStore(t *testing.T, ns, role string) *esv1.SecretStore {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payments-eso", Annotations: map[string]string{awsprovider.RoleARNAnnotation: role}}}
	if err := c.Create(context.Background(), sa); err != nil {
		t.Fatal(err)
	}
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-secrets"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "payments-eso"}}},
		}}},
	}
}

func TestAdmission_CertificateIsManagedByTheController(t *testing.T) {
	var s corev1.Secret
	if err := c.Get(context.Background(), certKey, &s); err != nil || len(s.Data["tls.crt"]) == 0 {
		t.Fatalf("the controller did not write the serving certificate to %s: %v", certKey, err)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(context.Background(), types.NamespacedName{Name: configName}, &vwc); err != nil {
		t.Fatal(err)
	}
	if len(vwc.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Errorf("the CA bundle was not injected into the ValidatingWebhookConfiguration")
	}
}

func TestAdmission_ScopedStoreIsAdmittedAndSyncs(t *testing.T) {
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	store := irsaStore(t, ns, env.T(t).CreateMotoRole("scoped-"+ns, "iam-policy-scoped.json"))
	if err := c.Create(ctx, store); err != nil {
		t.Fatalf("a store whose role is scoped to a prefix was refused: %v", err)
	}
	value, _ := os.ReadFile(filepath.Join(harness.SeedDir(), "remote-secret-prod-payments-db.json"))
	cfg, _ := moto.AWSConfig(ctx)
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/payments/db"), SecretString: aws.String(string(value))}); err != nil && !strings.Contains(err.Error(), "ResourceExists") {
		t.Fatal(err)
	}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "aws-secrets", Kind: esv1.SecretStoreKind},
		Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/payments/db", Property: "password"}}},
	}}
	if err := c.Create(ctx, es); err != nil {
		t.Fatal(err)
	}
	err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &s)
		return err == nil && len(s.Data["password"]) > 0, client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("the admitted ExternalSecret did not sync: %v", err)
	}
}

func TestAdmission_WildcardStoreIsDeniedWithRuleAndRemediation(t *testing.T) {
	ns := env.T(t).NewNamespace()
	store := irsaStore(t, ns, env.T(t).CreateMotoRole("wildcard-"+ns, "iam-policy-wildcard.json"))
	err := c.Create(context.Background(), store)
	if err == nil {
		t.Fatal("a store whose role reads secrets on \"*\" was admitted")
	}
	for _, want := range []string{"denied the request", "aws-wildcard-secret-resource", `"*"`, "fix: Scope the role's policy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("denial %q does not say %q", err, want)
		}
	}
}

func TestAdmission_WarnRuleComesBackAsWarning(t *testing.T) {
	ns := env.T(t).NewNamespace()
	warnings.take()
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "static"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
		Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
		Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{AccessKeyID: esv1.SecretKeySelector{Name: "creds", Key: "id"}, SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"}}},
	}}}}
	if err := c.Create(context.Background(), store); err != nil {
		t.Fatalf("a Warn rule refused the store: %v", err)
	}
	got := strings.Join(warnings.take(), "\n")
	if !strings.Contains(got, "store-static-credentials") {
		t.Errorf("no admission warning names store-static-credentials; warnings: %q", got)
	}
}

func TestAdmission_BrokenPolicyIsRefusedWithTheCompilerMessage(t *testing.T) {
	ctx := context.Background()
	badRego := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-rego"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rego: []policyv1alpha1.RegoRule{{Name: "team", Module: "package vigil.custom.team\nimport rego.v1\n\nviolation contains x if {\n  x := \n}\n"}},
	}}
	err := c.Create(ctx, badRego)
	if err == nil || !strings.Contains(err.Error(), "bad-rego/team.rego:") || !strings.Contains(err.Error(), "rego_parse_error") {
		t.Errorf("broken Rego: %v; want a refusal with the compiler's file, line and error", err)
	}
	badCEL := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-cel"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "team", Expression: "has(input.object.metadata.labels.team", Message: "m"}},
	}}
	err = c.Create(ctx, badCEL)
	if err == nil || !strings.Contains(err.Error(), "CEL validation team") || !strings.Contains(err.Error(), "Syntax error") {
		t.Errorf("broken CEL: %v; want a refusal with the compiler's message", err)
	}
}
