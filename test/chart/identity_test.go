package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// TestControllerWithChartIdentity installs the chart's ServiceAccount, RBAC, webhook
// configuration and certificate Secret for real, then runs bin/vigil out of cluster with the
// Deployment's own arguments and a token of that ServiceAccount (TokenRequest API): the API
// server enforces RBAC, so the seed scenario syncing — the webhook admitting it with the
// certificate the controller made, leader election, events, the policy audit, a rollout —
// proves the chart grants enough, and a log without a single "forbidden" proves nothing was
// refused.
func TestControllerWithChartIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// A short audit interval so that the PolicyReport appears within the test, and a short
	// rollout debounce; every other value is the default.
	run := startChartController(ctx, t, "policies:\n  auditInterval: 2s\nrollouts:\n  debounce: 1s\n")
	seedAWS(ctx, t)
	applySeedThroughWebhook(ctx, t)
	for _, name := range []string{"db-credentials", "app-config"} {
		waitSynced(ctx, t, "payments", name, run.logPath)
	}
	var secret corev1.Secret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "db-credentials"}, &secret); err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["username"]) != seedValue(t)["username"] {
		t.Errorf("db-credentials has the wrong username")
	}
	// The audit writes a PolicyReport for the namespace: its RBAC is in the chart too.
	if err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		var reports unstructured.UnstructuredList
		reports.SetAPIVersion("wgpolicyk8s.io/v1alpha2")
		reports.SetKind("PolicyReportList")
		err := cp.Client.List(ctx, &reports, client.InNamespace("payments"))
		return err == nil && len(reports.Items) > 0, err
	}); err != nil {
		t.Errorf("no PolicyReport in payments written by the chart's identity: %v", err)
	}
	var lease unstructured.Unstructured
	lease.SetAPIVersion("coordination.k8s.io/v1")
	lease.SetKind("Lease")
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: releaseNamespace, Name: "vigil.dev-controller"}, &lease); err != nil {
		t.Errorf("no leader-election Lease in %s: %v", releaseNamespace, err)
	}
	webhookConfigurationsByName(ctx, t, run, "vigil")
	rolloutUnderChartRBAC(ctx, t, "payments", "db-credentials", "prod/payments/db")
	run.stopAndCheckLog(t)
}

// chartRun is bin/vigil running out of cluster as the chart's ServiceAccount, with the
// chart's RBAC and the Deployment's arguments.
type chartRun struct {
	cmd        *exec.Cmd
	logPath    string
	kubeconfig string // the ServiceAccount's
	objs       []*unstructured.Unstructured
	stopped    bool
}

// startChartController renders the chart with values, installs what it renders (but the
// CRDs, installed already, and the Services and Deployment, which out of cluster route
// nothing), and starts bin/vigil with the Deployment's arguments and a token of the
// ServiceAccount; it returns once the controller is ready (its webhook serving with the
// certificate it made). Cleanup stops it and deletes the webhook configuration, whose
// failurePolicy Fail would refuse every later test's objects.
func startChartController(ctx context.Context, t *testing.T, values string) *chartRun {
	t.Helper()
	run := &chartRun{objs: render(t, writeValues(t, values))}
	webhookPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	var saName, certSecret string
	for _, u := range run.objs {
		switch u.GetKind() {
		case "CustomResourceDefinition", "Service":
			continue
		case "Deployment":
			args = deploymentArgs(t, u)
			continue
		case "ServiceAccount":
			saName = u.GetName()
		case "Secret":
			certSecret = u.GetName()
		case "ValidatingWebhookConfiguration":
			pointWebhookAt(u, fmt.Sprintf("https://localhost:%d/validate", webhookPort))
			t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), u) })
		}
		if err := cp.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership); err != nil {
			t.Fatalf("installing %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	if saName == "" || certSecret == "" || args == nil {
		t.Fatalf("the chart rendered no ServiceAccount, webhook Secret or Deployment")
	}
	dir := t.TempDir()
	run.kubeconfig = serviceAccountKubeconfig(ctx, t, saName, dir)
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Out of cluster the ports and the certificate folder differ from the pod's; every other
	// argument is the chart's.
	probes, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "--kubeconfig="+run.kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address="+probes,
		fmt.Sprintf("--webhook-port=%d", webhookPort), "--webhook-cert-dir="+certDir, "--webhook-dns-name=localhost")
	run.logPath = filepath.Join(dir, "vigil.log")
	logFile, err := os.Create(run.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	run.cmd = exec.Command(vigilBin, args...)
	run.cmd.Stdout, run.cmd.Stderr = logFile, logFile
	if err := run.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !run.stopped {
			_ = run.cmd.Process.Kill()
			_ = run.cmd.Wait()
		}
	})
	t.Logf("vigil %s (log: %s)", strings.Join(args, " "), run.logPath)

	// Until the certificate the controller made reaches its folder, the webhook cannot
	// serve: the pod must not be ready (with failurePolicy Fail, the Service would route
	// admission requests to it), though it is alive and its caches have synced.
	waitProbe(ctx, t, "http://"+probes+"/readyz?verbose", http.StatusInternalServerError, "[+]informers ok", "[-]webhook failed")
	waitProbe(ctx, t, "http://"+probes+"/healthz", http.StatusOK)
	// The kubelet would mount the Secret the controller fills; out of cluster, copy it.
	harness.MountSecret(ctx, cp.Client, types.NamespacedName{Namespace: releaseNamespace, Name: certSecret}, certDir)
	waitProbe(ctx, t, "http://"+probes+"/readyz?verbose", http.StatusOK, "[+]informers ok", "[+]webhook ok")
	return run
}

// pointWebhookAt makes the API server reach the controller on loopback, not through the
// Service.
func pointWebhookAt(u *unstructured.Unstructured, url string) {
	hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
	for i := range hooks {
		hooks[i].(map[string]any)["clientConfig"] = map[string]any{"url": url}
	}
	_ = unstructured.SetNestedSlice(u.Object, hooks, "webhooks")
}

// stopAndCheckLog sends SIGTERM, as the kubelet does: the controller finishes in-flight
// work and exits 0. Its log must not hold a single refusal by the API server.
func (r *chartRun) stopAndCheckLog(t *testing.T) {
	t.Helper()
	r.stopped = true
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("vigil did not shut down cleanly on SIGTERM: %v", err)
	}
	log, _ := os.ReadFile(r.logPath)
	if denied := regexp.MustCompile(`(?i).*forbidden.*`).FindAll(log, 5); len(denied) > 0 {
		t.Errorf("the API server refused the chart's identity (a rule is missing from the markers):\n%s", strings.Join(toStrings(denied), "\n"))
	}
}

// waitProbe polls a probe endpoint until it answers with code and a body holding every want.
func waitProbe(ctx context.Context, t *testing.T, url string, code int, want ...string) {
	t.Helper()
	var last string
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		if resp.StatusCode != code {
			return false, nil
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s to answer %d with %q: last answer: %s", url, code, want, last)
	}
}

func toStrings(b [][]byte) []string {
	out := make([]string, len(b))
	for i, x := range b {
		out[i] = string(x)
	}
	return out
}

// deploymentArgs returns the controller container's arguments, and checks that the chart
// runs `vigil controller` with the ServiceAccount it creates.
func deploymentArgs(t *testing.T, dep *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("want one container in the Deployment, got %d", len(containers))
	}
	args := asStrings(containers[0].(map[string]any)["args"])
	if len(args) == 0 || args[0] != "controller" {
		t.Fatalf("the Deployment does not run `vigil controller`: %v", args)
	}
	return args
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the ServiceAccount with
// a token from the TokenRequest API, as the kubelet would project it into the pod.
func serviceAccountKubeconfig(ctx context.Context, t *testing.T, sa, dir string) string {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}
	acct := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNamespace, Name: sa}}
	if err := cp.Client.SubResource("token").Create(ctx, acct, tr); err != nil {
		t.Fatalf("requesting a token for %s: %v", sa, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: cp.Config.Host, CertificateAuthorityData: cp.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: sa}
	cfg.CurrentContext = "test"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr[T any](v T) *T { return &v }

func seedValue(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harness.SeedDir(), "remote-secret-prod-payments-db.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// seedAWS stores the seed's remote secret and its role with the least-privilege policy.
func seedAWS(ctx context.Context, t *testing.T) {
	t.Helper()
	value, err := os.ReadFile(filepath.Join(harness.SeedDir(), "remote-secret-prod-payments-db.json"))
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := os.ReadFile(filepath.Join(harness.SeedDir(), "iam-policy-scoped.json"))
	if err != nil {
		t.Fatal(err)
	}
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/payments/db"), SecretString: aws.String(string(value))}); err != nil {
		t.Fatal(err)
	}
	iamc := iam.NewFromConfig(awsCfg)
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("payments-eso"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("payments-eso"), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(string(scoped))}); err != nil {
		t.Fatal(err)
	}
}

// applySeedThroughWebhook applies the seed manifests unchanged. The webhook (failurePolicy
// Fail) must admit the store and ExternalSecrets, so this also waits for the controller to
// have made its certificate and to serve.
func applySeedThroughWebhook(ctx context.Context, t *testing.T) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(harness.SeedDir(), "*.yaml"))
	slices.Sort(files)
	for _, f := range files {
		var lastErr error
		err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
			_, lastErr = harness.Apply(ctx, cp.Client, f)
			return lastErr == nil, nil
		})
		if err != nil {
			t.Fatalf("applying %s (waiting for the webhook to admit it): %v", filepath.Base(f), lastErr)
		}
	}
}

func waitSynced(ctx context.Context, t *testing.T, ns, name, logPath string) {
	t.Helper()
	var es esv1.ExternalSecret
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &es); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, c := range es.Status.Conditions {
			if c.Type == esv1.ConditionReady && c.Status == metav1.ConditionTrue && c.Reason == esv1.ReasonSecretSynced {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("ExternalSecret %s/%s not synced with the chart's identity: %v\nconditions: %+v\ncontroller log (tail):\n%s", ns, name, err, es.Status.Conditions, tail(string(log), 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func freePort() (int, error) {
	addr, err := harness.FreeAddr()
	if err != nil {
		return 0, err
	}
	var port int
	_, err = fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port)
	return port, err
}
