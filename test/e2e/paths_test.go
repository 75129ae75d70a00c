package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// vaultAudit enables a file audit device on the suite's Vault for the rest of the test, so
// that a test can tell which paths Vault was asked for.
func vaultAudit(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "audit.log")
	if err := vlt.Admin.Sys().EnableAuditWithOptionsWithContext(ctx, name, &vaultapi.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": file}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vlt.Admin.Sys().DisableAuditWithContext(context.Background(), name) })
	return file
}

// auditedPaths waits until probe (a path read after everything the test waits on) is in the
// audit log, which shows that Vault has logged every request before it, and returns the
// request paths logged.
func auditedPaths(t *testing.T, ctx context.Context, file, probe string) []string {
	t.Helper()
	if _, err := vlt.Admin.Logical().ReadWithContext(ctx, probe); err != nil {
		t.Fatal(err)
	}
	var paths []string
	err := harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		paths = nil
		f, err := os.Open(file)
		if err != nil {
			return false, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		seen := false
		for sc.Scan() {
			var entry struct {
				Request struct {
					Path string `json:"path"`
				} `json:"request"`
			}
			if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
				return false, err
			}
			paths = append(paths, entry.Request.Path)
			seen = seen || entry.Request.Path == probe
		}
		return seen, sc.Err()
	})
	if err != nil {
		t.Fatalf("the probe read %s never reached Vault's audit log: %v", probe, err)
	}
	return paths
}

// vaultTokenStore is a store on the suite's Vault with a root-policy token: nothing in
// Vault stops its reads, so what a tenant's key reaches is decided by Vigil alone.
func vaultTokenStore(t *testing.T, ctx context.Context, ns, name, mount string, version esv1.VaultKVStoreVersion) []client.Object {
	t.Helper()
	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"root"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	rememberValue(tok.Auth.ClientToken)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-token"}, StringData: map[string]string{"token": tok.Auth.ClientToken}}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
		Server: vlt.URL, Path: &mount, Version: version,
		Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: name + "-token", Key: "token"}},
	}}}}
	return []client.Object{secret, store}
}

func keyExternalSecret(ns, name, store, key string) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef:  esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind},
		RefreshInterval: &metav1.Duration{Duration: time.Hour},
		Data:            []esv1.ExternalSecretData{{SecretKey: "value", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key}}},
	}}
}

// A tenant's Vault keys with ".." segments (KV v2, and KV v1 where they leave the mount) are
// refused before any read: by the policy gate (externalsecret-key-not-normalized) and, with
// that rule turned off, by the reconciler itself with SecretSyncedError naming the field.
// Vault's audit log shows that the path the key cleans to was never asked for, while a
// well-formed key on the same stores syncs.
func TestPaths_VaultDotSegmentsAreRefusedAndReadNothing(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	kv1 := "kv1-" + ns
	if err := vlt.Admin.Sys().MountWithContext(ctx, kv1, &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vlt.Admin.Sys().UnmountWithContext(context.Background(), kv1) })
	billing := ns + "-billing/db" // what the escaping keys clean to, in the KV v2 mount
	for path, v := range map[string]string{billing: "billing-" + ns, ns + "/payments/db": "payments-" + ns} {
		rememberValue(v)
		if err := vlt.KVv2Put(ctx, "secret", path, map[string]any{"password": v}); err != nil {
			t.Fatal(err)
		}
	}
	rememberValue("v1-" + ns)
	if _, err := vlt.Admin.Logical().WriteWithContext(ctx, kv1+"/app", map[string]any{"password": "v1-" + ns}); err != nil {
		t.Fatal(err)
	}
	audit := vaultAudit(t, ctx, "paths-"+ns)

	h.Create(vaultTokenStore(t, ctx, ns, "kv2", "secret", esv1.VaultKVStoreV2)...)
	h.Create(vaultTokenStore(t, ctx, ns, "kv1", kv1, esv1.VaultKVStoreV1)...)
	escapes := map[string][2]string{ // ExternalSecret -> store, key
		"escape-v2": {"kv2", ns + "/payments/../../" + billing},
		"escape-v1": {"kv1", "x/../../secret/data/" + billing},
		"token-v1":  {"kv1", "x/../../auth/token/lookup-self"},
	}
	for name, sk := range escapes {
		h.Create(keyExternalSecret(ns, name, sk[0], sk[1]))
	}
	h.Create(keyExternalSecret(ns, "ok-v2", "kv2", ns+"/payments/db"), keyExternalSecret(ns, "ok-v1", "kv1", "app"))
	h.WaitSecretValue(ns, "ok-v2", "value", `{"password":"payments-`+ns+`"}`)
	h.WaitSecretValue(ns, "ok-v1", "value", `{"password":"v1-`+ns+`"}`)

	for name, sk := range escapes {
		es := h.WaitReason(types.NamespacedName{Namespace: ns, Name: name}, esv1.ReasonPolicyViolation)
		for _, want := range []string{"externalsecret-key-not-normalized", fmt.Sprintf(`spec.data[0].remoteRef.key %q has a ".." segment`, sk[1])} {
			if !strings.Contains(readyMessage(es), want) {
				t.Errorf("%s: Ready message %q does not say %q", name, readyMessage(es), want)
			}
		}
		assertNoSecret(t, ctx, ns, name)
	}

	// The cluster admin turns the rule off: the reconciler still refuses, naming the field.
	off := false
	pol := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "paths-off-" + ns}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rules: []policyv1alpha1.BuiltinRule{{ID: "externalsecret-key-not-normalized", Enabled: &off}},
	}}
	createPolicy(t, ctx, pol)
	for name, sk := range escapes {
		key := types.NamespacedName{Namespace: ns, Name: name}
		h.ForceSync(key)
		es := h.WaitReasonWithin(key, esv1.ReasonSecretSyncedError, 2*time.Minute) // a pass still blocked re-checks policy within a minute
		want := fmt.Sprintf(`spec.data[0].remoteRef.key %q has a ".." segment: use the path as the backend stores it`, sk[1])
		if !strings.Contains(readyMessage(es), want) {
			t.Errorf("%s: Ready message %q does not say %q", name, readyMessage(es), want)
		}
		assertNoSecret(t, ctx, ns, name)
	}

	probe := "secret/data/" + ns + "-probe"
	for _, p := range auditedPaths(t, ctx, audit, probe) {
		// (token-v1's target, auth/token/lookup-self, is also where every store's token is
		// validated, so the log cannot tell its reads apart; its status and Secret show it.)
		if strings.Contains(p, billing) || strings.Contains(p, "..") {
			t.Errorf("Vault was asked for %q: an escaping key was read", p)
		}
	}
}

// In a namespace allowed only <tag>/payments/: an entry whose sourceRef store puts its key
// outside the prefix is denied although the main store's prefix would allow the same key; a
// key given as the full ARN of a secret inside the prefix syncs and one outside is denied;
// a find with an empty path is denied. Moto serves no read of anything denied.
func TestPaths_PrefixRuleJudgesEachEntryByItsStore(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	// The namespace carries its prefix from the start: the policy reads the controller's
	// cache, and an annotation added later would race with the first reconcile.
	tag := fmt.Sprintf("paths%d", time.Now().UnixNano())
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-", Annotations: map[string]string{"vigil.dev/secret-prefix": tag + "/payments/"}}}
	h.Create(nsObj)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), nsObj) })
	ns := nsObj.Name
	inside, outside := tag+"/payments/db", tag+"-billing/"+tag+"/payments/db"
	arns := map[string]string{}
	for _, name := range []string{inside, outside} {
		h.PutRemote(name, `{"password":"`+strings.ReplaceAll(name, "/", "-")+`"}`)
		out, err := sm(t, ctx).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = aws.ToString(out.ARN)
	}
	billing := awsStore(ns, "sm-billing")
	billing.Spec.Provider.AWS.Prefix = tag + "-billing/"
	viaSource := keyExternalSecret(ns, "sourceref", "sm", inside)
	viaSource.Spec.Data = append(viaSource.Spec.Data, esv1.ExternalSecretData{SecretKey: "other", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: inside},
		SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "sm-billing", Kind: esv1.SecretStoreKind}}})
	empty := ""
	find := keyExternalSecret(ns, "find-empty", "sm", inside)
	find.Spec.Data = nil
	find.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Path: &empty}}}
	// An ARN key inside the prefix syncs; that it did also shows the controller has seen the
	// namespace and its prefix before the other ExternalSecrets come.
	h.Create(awsStore(ns, "sm"), billing, keyExternalSecret(ns, "arn-inside", "sm", arns[inside]))
	h.WaitSecretValue(ns, "arn-inside", "value", `{"password":"`+strings.ReplaceAll(inside, "/", "-")+`"}`)
	h.Create(viaSource, find, keyExternalSecret(ns, "arn-outside", "sm", arns[outside]))
	for name, want := range map[string][]string{
		"sourceref":   {"externalsecret-key-outside-prefix", "spec.data[1].remoteRef.key", `"` + outside + `"`, "SecretStore/sm-billing"},
		"arn-outside": {"externalsecret-key-outside-prefix", `"` + outside},
		"find-empty":  {"externalsecret-find-without-path", "externalsecret-key-outside-prefix", "reads everything the store can list"},
	} {
		es := h.WaitReason(types.NamespacedName{Namespace: ns, Name: name}, esv1.ReasonPolicyViolation)
		for _, w := range want {
			if !strings.Contains(readyMessage(es), w) {
				t.Errorf("%s: Ready message %q does not say %q", name, readyMessage(es), w)
			}
		}
		if name == "sourceref" && strings.Contains(readyMessage(es), "spec.data[0]") {
			t.Errorf("%s: an entry inside the prefix is flagged: %q", name, readyMessage(es))
		}
		assertNoSecret(t, ctx, ns, name)
	}
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		body := r.Text()
		switch r.Target() {
		case "secretsmanager.GetSecretValue", "secretsmanager.BatchGetSecretValue":
			if strings.Contains(body, tag+"-billing") {
				t.Errorf("moto served %s for a denied entry: %s", r.Target(), body)
			}
		}
	}
}
