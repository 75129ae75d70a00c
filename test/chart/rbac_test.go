package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/test/harness"
)

// access is one request the chart's ServiceAccount may or may not make.
type access struct {
	verb, group, resource, namespace, name string
	allowed                                bool
}

func (a access) String() string {
	return fmt.Sprintf("%s %s.%s %s/%s", a.verb, a.resource, a.group, a.namespace, a.name)
}

// TestRBAC_AccessReviews installs the RBAC objects the chart renders for several values and
// asks the API server's authorizer (SubjectAccessReview) what the ServiceAccount may do: the
// webhook configuration and certificate Secret only by name, workloads only with rollouts
// on, and with scopedNamespace nothing namespaced outside that namespace and no
// cluster-scoped store.
func TestRBAC_AccessReviews(t *testing.T) {
	ctx := context.Background()
	const vwc = "admissionregistration.k8s.io"
	for _, tc := range []struct {
		name, values string
		want         []access
	}{
		{"default", "fullnameOverride: sar-default\n", []access{
			{"update", vwc, "validatingwebhookconfigurations", "", "sar-default", true},
			{"patch", vwc, "validatingwebhookconfigurations", "", "sar-default", true},
			// A list or watch whose field selector names the object is authorized by name.
			{"list", vwc, "validatingwebhookconfigurations", "", "sar-default", true},
			{"watch", vwc, "validatingwebhookconfigurations", "", "sar-default", true},
			{"get", vwc, "validatingwebhookconfigurations", "", "other-webhook", false},
			{"patch", vwc, "validatingwebhookconfigurations", "", "other-webhook", false},
			{"update", vwc, "validatingwebhookconfigurations", "", "other-webhook", false},
			{"list", vwc, "validatingwebhookconfigurations", "", "", false},
			{"delete", vwc, "validatingwebhookconfigurations", "", "sar-default", false},
			{"create", vwc, "validatingwebhookconfigurations", "", "", false},
			{"patch", vwc, "mutatingwebhookconfigurations", "", "sar-default", false},
			{"update", "", "secrets", releaseNamespace, "sar-default-webhook-cert", true},
			{"patch", "apps", "deployments", "team-x", "api", true},
			{"patch", "argoproj.io", "rollouts", "team-x", "api", true},
			// Reloader parity: Jobs are recreated, CronJobs run a Job, ConfigMaps are read.
			{"delete", "batch", "jobs", "team-x", "migrate", true},
			{"create", "batch", "jobs", "team-x", "", true},
			{"patch", "batch", "cronjobs", "team-x", "backup", true},
			{"watch", "", "configmaps", "", "", true},
			{"update", "batch", "cronjobs", "team-x", "backup", false},
			{"list", "external-secrets.io", "clustersecretstores", "", "", true},
		}},
		{"rollouts off", "fullnameOverride: sar-norollout\nrollouts:\n  enabled: false\n", []access{
			{"patch", "apps", "deployments", "team-x", "api", false},
			{"list", "apps", "deployments", "", "", false},
			{"patch", "apps", "statefulsets", "team-x", "db", false},
			{"patch", "apps", "daemonsets", "team-x", "agent", false},
			{"patch", "argoproj.io", "rollouts", "team-x", "api", false},
			{"delete", "batch", "jobs", "team-x", "migrate", false},
			{"create", "batch", "jobs", "team-x", "", false},
			{"patch", "batch", "cronjobs", "team-x", "backup", false},
			{"list", "external-secrets.io", "externalsecrets", "", "", true},
		}},
		{"cert-manager injects the CA", "fullnameOverride: sar-certmanager\nwebhook:\n  certManager:\n    enabled: true\n", []access{
			{"update", vwc, "validatingwebhookconfigurations", "", "sar-certmanager", false},
			{"get", vwc, "validatingwebhookconfigurations", "", "sar-certmanager", false},
		}},
		{"scoped to one namespace", "fullnameOverride: sar-scoped\nscopedNamespace: sar-team\n", []access{
			{"get", "", "secrets", "sar-team", "db", true},
			{"list", "", "secrets", "sar-team", "", true},
			{"create", "", "secrets", "sar-team", "", true},
			{"update", "external-secrets.io", "externalsecrets/status", "sar-team", "db", true},
			{"create", "events.k8s.io", "events", "sar-team", "", true},
			{"patch", "apps", "deployments", "sar-team", "api", true},
			{"get", "", "namespaces", "", "sar-team", true},
			{"list", "vigil.dev", "clustersecretpolicies", "", "", true},
			{"get", "", "secrets", "other-team", "db", false},
			{"list", "", "secrets", "", "", false},
			{"list", "external-secrets.io", "externalsecrets", "", "", false},
			{"patch", "apps", "deployments", "other-team", "api", false},
			{"create", "", "serviceaccounts/token", "other-team", "app", false},
			{"get", "", "namespaces", "", "other-team", false},
			{"list", "", "namespaces", "", "", false},
			{"list", "external-secrets.io", "clustersecretstores", "", "", false},
			{"get", "external-secrets.io", "clustersecretstores", "", "shared", false},
			{"list", "external-secrets.io", "clusterexternalsecrets", "", "", false},
			{"create", "wgpolicyk8s.io", "clusterpolicyreports", "", "", false},
			// The webhook certificate stays in the release namespace.
			{"update", "", "secrets", releaseNamespace, "sar-scoped-webhook-cert", true},
			{"update", "", "secrets", releaseNamespace, "other", false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := installRBAC(ctx, t, tc.values)
			for _, a := range tc.want {
				if got := can(ctx, t, sa, a); got != a.allowed {
					t.Errorf("%s: allowed=%v, want %v", a, got, a.allowed)
				}
			}
		})
	}
}

// installRBAC applies the ServiceAccount, Roles, ClusterRoles and bindings the chart renders
// (creating the namespaces they live in) and returns the ServiceAccount's name.
func installRBAC(ctx context.Context, t *testing.T, values string) string {
	t.Helper()
	var sa string
	for _, u := range render(t, writeValues(t, values)) {
		switch u.GetKind() {
		case "ServiceAccount":
			sa = u.GetName()
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if ns := u.GetNamespace(); ns != "" {
			ensureNamespace(ctx, t, ns)
		}
		if err := cp.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership); err != nil {
			t.Fatalf("installing %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	if sa == "" {
		t.Fatal("the chart rendered no ServiceAccount")
	}
	return sa
}

func ensureNamespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// can asks the API server whether the chart's ServiceAccount may make the request, with the
// user and groups a ServiceAccount token authenticates as.
func can(ctx context.Context, t *testing.T, sa string, a access) bool {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + releaseNamespace + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNamespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: strings.Split(a.resource, "/")[0], Subresource: subresource(a.resource),
			Namespace: a.namespace, Name: a.name,
		},
	}}
	if err := cp.Client.Create(ctx, review); err != nil {
		t.Fatalf("SubjectAccessReview %s: %v", a, err)
	}
	return review.Status.Allowed
}

func subresource(resource string) string {
	if _, sub, ok := strings.Cut(resource, "/"); ok {
		return sub
	}
	return ""
}

// webhookConfigurationsByName checks, with the controller's own token, that it may read and
// patch its own ValidatingWebhookConfiguration and no other: patching another is Forbidden,
// and so is listing them all.
func webhookConfigurationsByName(ctx context.Context, t *testing.T, run *chartRun, own string) {
	t.Helper()
	other := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "another-product"}}
	if err := cp.Client.Create(ctx, other); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), other) })
	sa := serviceAccountClient(t, run.kubeconfig)
	label := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"example.com/touched":"true"}}}`))
	err := sa.Patch(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: other.Name}}, label)
	if !apierrors.IsForbidden(err) {
		t.Errorf("patching another ValidatingWebhookConfiguration as the controller: %v, want Forbidden", err)
	}
	var all admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := sa.List(ctx, &all); !apierrors.IsForbidden(err) {
		t.Errorf("listing every ValidatingWebhookConfiguration as the controller: %v, want Forbidden", err)
	}
	var mine admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := sa.List(ctx, &mine, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", own)}); err != nil || len(mine.Items) != 1 {
		t.Fatalf("listing its own ValidatingWebhookConfiguration by name as the controller: %v (%d items)", err, len(mine.Items))
	}
	// The controller injected its CA into its own configuration (the webhook admitted the
	// seed with it, too).
	for _, h := range mine.Items[0].Webhooks {
		if len(h.ClientConfig.CABundle) == 0 {
			t.Errorf("webhook %s of %s has no CA bundle", h.Name, own)
		}
	}
}

func serviceAccountClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rolloutUnderChartRBAC rotates the remote value behind an ExternalSecret's Secret and
// waits until the rollout controller, under the chart's RBAC, restarts an opted-in
// Deployment that consumes it (the pod template records the new hash).
func rolloutUnderChartRBAC(ctx context.Context, t *testing.T, ns, esName, remoteKey string) {
	t.Helper()
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api", Annotations: map[string]string{rollout.AnnotationRolloutOnChange: "true"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
					EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: esName}}}}}}},
			},
		},
	}
	if err := cp.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitDeployment(ctx, t, d, "its baseline", func(d *appsv1.Deployment) bool {
		return strings.Contains(d.Annotations[rollout.AnnotationSecretHashes], `"`+esName+`"`)
	})
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := json.Marshal(map[string]string{"username": "rotated-user", "password": "rotated-password"})
	if _, err := secretsmanager.NewFromConfig(awsCfg).PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(remoteKey), SecretString: aws.String(string(rotated))}); err != nil {
		t.Fatal(err)
	}
	es := &esv1.ExternalSecret{}
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: esName}, es); err != nil {
		t.Fatal(err)
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"external-secrets.io/force-sync":"`+time.Now().Format(time.RFC3339Nano)+`"}}}`))
	if err := cp.Client.Patch(ctx, es, patch); err != nil {
		t.Fatal(err)
	}
	waitDeployment(ctx, t, d, "a rollout", func(d *appsv1.Deployment) bool {
		return d.Spec.Template.Annotations[rollout.AnnotationSecretHashes] != ""
	})
}

func waitDeployment(ctx context.Context, t *testing.T, d *appsv1.Deployment, what string, ok func(*appsv1.Deployment) bool) {
	t.Helper()
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return false, err
		}
		return ok(d), nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s: waiting for %s: %v (annotations %v)", d.Namespace, d.Name, what, err, d.Annotations)
	}
}

// TestControllerScopedWithRolloutsOff runs bin/vigil as the chart's ServiceAccount with
// scopedNamespace and rollouts.enabled=false: bound by a Role in that namespace (plus a
// ClusterRole on ClusterSecretPolicies and its own Namespace and webhook configuration by
// name) and with no RBAC on workloads, it starts, serves its webhook and syncs an
// ExternalSecret of its namespace through IRSA, without one refusal by the API server, and
// leaves other namespaces alone.
func TestControllerScopedWithRolloutsOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const ns, other = "team-scoped", "team-unscoped"
	ensureNamespace(ctx, t, ns)
	ensureNamespace(ctx, t, other)
	run := startChartController(ctx, t, "fullnameOverride: vigil-scoped\nleaderElect: false\nscopedNamespace: "+ns+"\nrollouts:\n  enabled: false\n")
	for _, u := range run.objs {
		if u.GetKind() != "ClusterRole" && u.GetKind() != "Role" {
			continue
		}
		data, _ := json.Marshal(u.Object["rules"])
		for _, workload := range []string{"deployments", "statefulsets", "daemonsets", `"rollouts"`} {
			if strings.Contains(string(data), workload) {
				t.Errorf("%s %s grants %s with rollouts off", u.GetKind(), u.GetName(), workload)
			}
		}
		if u.GetKind() == "ClusterRole" && strings.Contains(string(data), `"secrets"`) {
			t.Errorf("ClusterRole %s grants Secrets cluster-wide in a scoped installation", u.GetName())
		}
	}
	// An ExternalSecret elsewhere is not the scoped controller's: it gets no status.
	elsewhere := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "db"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "aws-secrets", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/" + other + "/db"}}},
		},
	}
	if err := cp.Client.Create(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	tenantScenario(ctx, t, ns)
	waitSynced(ctx, t, ns, "db", run.logPath)
	// A ClusterSecretStore is out of the scoped installation's reach: an ExternalSecret that
	// names one is refused with a reason, not left waiting on an informer it may not run.
	clusterStoreUser := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "uses-cluster-store"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "shared", Kind: esv1.ClusterSecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/shared/db"}}},
		},
	}
	if err := cp.Client.Create(ctx, clusterStoreUser); err != nil {
		t.Fatal(err)
	}
	waitCondition(ctx, t, clusterStoreUser, esv1.ReasonSecretSyncedError, "use a SecretStore of the namespace")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(elsewhere), elsewhere); err != nil {
		t.Fatal(err)
	}
	if len(elsewhere.Status.Conditions) != 0 {
		t.Errorf("the scoped controller reconciled an ExternalSecret in %s: %+v", other, elsewhere.Status.Conditions)
	}
	run.stopAndCheckLog(t)
}

// tenantScenario sets up a namespace's IRSA path as the seed does for payments: a remote
// secret prod/<ns>/db, an IAM role <ns>-eso allowed to read prod/<ns>/*, a ServiceAccount
// annotated with it, a SecretStore and an ExternalSecret "db" (created through the webhook).
func tenantScenario(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, role := "prod/"+ns+"/db", ns+"-eso"
	if _, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(key), SecretString: aws.String(`{"password":"p-` + ns + `"}`)}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/` + ns + `/*"}]}`
	iamc := iam.NewFromConfig(awsCfg)
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/" + role}}}
	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-secrets"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: role}}},
		}}},
	}
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "aws-secrets", Kind: esv1.SecretStoreKind},
			Target:         esv1.ExternalSecretTarget{Name: "db"},
			Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "password"}}},
		},
	}
	for _, obj := range []client.Object{sa, store, es} {
		var lastErr error
		if err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
			lastErr = cp.Client.Create(ctx, obj)
			return lastErr == nil || apierrors.IsAlreadyExists(lastErr), nil
		}); err != nil {
			t.Fatalf("creating %T %s (waiting for the webhook to admit it): %v", obj, obj.GetName(), lastErr)
		}
	}
}

// waitCondition waits until the ExternalSecret's Ready condition has the reason and a message
// holding want.
func waitCondition(ctx context.Context, t *testing.T, es *esv1.ExternalSecret, reason, want string) {
	t.Helper()
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(es), es); err != nil {
			return false, err
		}
		for _, c := range es.Status.Conditions {
			if c.Type == esv1.ConditionReady && c.Reason == reason && strings.Contains(c.Message, want) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("ExternalSecret %s/%s: no Ready condition %s with %q: %v (conditions %+v)", es.Namespace, es.Name, reason, want, err, es.Status.Conditions)
	}
}
