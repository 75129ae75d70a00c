package chart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// TestAggregatedRolesForTenants installs the chart's aggregated ClusterRoles, lets
// kube-controller-manager's clusterrole-aggregation controller fold them into Kubernetes'
// view/edit/admin (as in a real cluster), and acts as users bound to those roles in one
// namespace: an editor manages ExternalSecrets and SecretStores there, a viewer only reads
// them, and neither they nor a namespace admin may touch ClusterSecretPolicies or
// ClusterSecretStores.
func TestAggregatedRolesForTenants(t *testing.T) {
	ctx := context.Background()
	for _, u := range render(t, writeValues(t, "fullnameOverride: tenants\n")) {
		if u.GetKind() == "ClusterRole" && strings.HasPrefix(u.GetName(), "tenants-") && u.GetName() != "tenants-controller" &&
			u.GetName() != "tenants-rollout" && u.GetName() != "tenants-webhook" {
			if err := cp.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership); err != nil {
				t.Fatalf("installing ClusterRole %s: %v", u.GetName(), err)
			}
		}
	}
	startRoleAggregation(ctx, t)

	ns := "tenant-rbac"
	ensureNamespace(ctx, t, ns)
	for user, role := range map[string]string{"editor": "edit", "viewer": "view", "nsadmin": "admin"} {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
		}
		if err := cp.Client.Create(ctx, rb); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	editor, viewer, nsadmin := actAs(t, "editor"), actAs(t, "viewer"), actAs(t, "nsadmin")

	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "team-store", Namespace: ns}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{RemoteNamespace: ns}}}}
	mustAllow(t, "editor creates a SecretStore", editor.Create(ctx, store))
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "team-es", Namespace: ns}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "team-store", Kind: "SecretStore"},
		Data:           []esv1.ExternalSecretData{{SecretKey: "k", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "src", Property: "k"}}},
	}}
	mustAllow(t, "editor creates an ExternalSecret", editor.Create(ctx, es))
	mustAllow(t, "editor gets it", editor.Get(ctx, client.ObjectKeyFromObject(es), &esv1.ExternalSecret{}))
	mustAllow(t, "viewer gets it", viewer.Get(ctx, client.ObjectKeyFromObject(es), &esv1.ExternalSecret{}))
	mustAllow(t, "viewer lists ExternalSecrets", viewer.List(ctx, &esv1.ExternalSecretList{}, client.InNamespace(ns)))

	mustForbid(t, "viewer creates an ExternalSecret", viewer.Create(ctx, &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "viewer-es", Namespace: ns}, Spec: es.Spec}))
	mustForbid(t, "viewer deletes one", viewer.Delete(ctx, es))
	for who, c := range map[string]client.Client{"editor": editor, "nsadmin": nsadmin} {
		mustForbid(t, who+" creates a ClusterSecretPolicy", c.Create(ctx, &policyv1alpha1.ClusterSecretPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + who}}))
		mustForbid(t, who+" creates a ClusterSecretStore", c.Create(ctx, &esv1.ClusterSecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + who}, Spec: store.Spec}))
	}
	mustForbid(t, "editor creates an ExternalSecret in another namespace", editor.Create(ctx, &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: releaseNamespace}, Spec: es.Spec}))
	mustAllow(t, "editor deletes the ExternalSecret", editor.Delete(ctx, es))
}

// TestAggregatedRolesCoverEveryKind: every namespaced kind of config/crd is writable through
// the edit role and readable through the view role, and no cluster-scoped kind is writable.
func TestAggregatedRolesCoverEveryKind(t *testing.T) {
	objs := render(t)
	rules := func(name string) string { return toJSON(find(objs, "ClusterRole", name).Object["rules"]) }
	view, edit := rules("vigil-view"), rules("vigil-edit")
	paths, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "config", "crd", "*.yaml"))
	for _, p := range paths {
		objs, err := harness.ReadManifests(p)
		if err != nil {
			t.Fatal(err)
		}
		plural := stringAt(objs[0].Object, "spec", "names", "plural")
		scope := stringAt(objs[0].Object, "spec", "scope")
		if !strings.Contains(view, `"`+plural+`"`) {
			t.Errorf("the view role does not read %s", plural)
		}
		if got := strings.Contains(edit, `"`+plural+`"`); got != (scope == "Namespaced") {
			t.Errorf("the edit role grants %s (%s): %v", plural, scope, got)
		}
	}
}

// startRoleAggregation runs kube-controller-manager with only the clusterrole-aggregation
// controller, which fills view/edit/admin from the roles labelled aggregate-to-*, and waits
// until `edit` includes the chart's rules.
func startRoleAggregation(ctx context.Context, t *testing.T) {
	t.Helper()
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "kcm.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(cp.Env.BinaryAssetsDirectory, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig, "--controllers=clusterrole-aggregation", "--leader-elect=false", "--secure-port=0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = logFile.Close() })
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var edit rbacv1.ClusterRole
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: "edit"}, &edit); err != nil {
			return false, nil
		}
		return slices.ContainsFunc(edit.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, "externalsecrets") && slices.Contains(r.Verbs, "create")
		}), nil
	})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("the edit ClusterRole never included the chart's rules: %v\n%s", err, tail(string(log), 3000))
	}
}

// actAs is a client that impersonates user (no groups besides system:authenticated).
func actAs(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAllow(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want allowed", what, err)
	}
}

func mustForbid(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: %v, want Forbidden", what, err)
	}
}

// stringAt is the string at path in obj, or "".
func stringAt(obj map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(obj, path...)
	return s
}
