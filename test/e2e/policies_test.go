package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// creationPolicy Owner: deleting the ExternalSecret deletes its Secret (garbage collection
// by kube-controller-manager, as in a cluster).
func TestOwner_DeletingExternalSecretDeletesSecret(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, key := setupDB(t, "p", nil)
	secret := h.WaitSecretValue(ns, "db", "password", "p")
	if err := cp.Client.Delete(ctx, &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}); err != nil {
		t.Fatal(err)
	}
	h.WaitGone(secret)
}

// creationPolicy Orphan: the Secret has no owner and outlives its ExternalSecret.
func TestOrphan_SecretOutlivesExternalSecret(t *testing.T) {
	t.Parallel()
	ns, _ := setupDB(t, "p", func(es *esv1.ExternalSecret) {
		es.Spec.Target.CreationPolicy = esv1.CreatePolicyOrphan
	})
	secret := env.T(t).WaitSecretValue(ns, "db", "password", "p")
	if len(secret.OwnerReferences) != 0 {
		t.Errorf("orphan Secret has owners %v", secret.OwnerReferences)
	}
}

// creationPolicy Merge writes into an existing Secret and keeps its other keys; it waits
// (SecretMissing) while the Secret does not exist.
func TestMerge_WritesIntoExistingSecret(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "p", func(es *esv1.ExternalSecret) {
		es.Spec.Target.CreationPolicy = esv1.CreatePolicyMerge
	})
	got := h.WaitReason(key, esv1.ReasonSecretMissing)
	if !strings.Contains(readyMessage(got), "does not exist") {
		t.Errorf("SecretMissing message %q does not say the Secret is missing", readyMessage(got))
	}
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Data: map[string][]byte{"other": []byte("kept")}})
	h.ForceSync(key)
	s := h.WaitSecretValue(ns, "db", "password", "p")
	if string(s.Data["other"]) != "kept" {
		t.Errorf("Merge dropped the Secret's own key")
	}
}

// creationPolicy None reads the remote data but writes no Secret.
func TestNone_WritesNoSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, _ := setupDB(t, "p", func(es *esv1.ExternalSecret) {
		es.Spec.Target.CreationPolicy = esv1.CreatePolicyNone
	})
	env.T(t).WaitReason(types.NamespacedName{Namespace: ns, Name: "db"}, esv1.ReasonSecretSynced)
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &corev1.Secret{}); err == nil {
		t.Errorf("creationPolicy None wrote a Secret")
	}
}

// deletionPolicy Delete removes the Secret once its remote key is gone; Retain (the
// default) keeps it (TestFaults_KeepSecretAndRecover/missing_key).
func TestDeletionPolicyDelete_RemovesSecretWhenRemoteGone(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "p", func(es *esv1.ExternalSecret) {
		es.Spec.Target.DeletionPolicy = esv1.DeletionPolicyDelete
	})
	secret := h.WaitSecretValue(ns, "db", "password", "p")

	h.DeleteRemote(ns + "/db")
	h.ForceSync(key)
	h.WaitReason(key, esv1.ReasonSecretDeleted)
	h.WaitGone(secret)
}

// A ClusterSecretStore with conditions serves the namespaces it selects and refuses others
// with a message that names the store and the namespace.
func TestClusterSecretStoreConditions_RefuseUnselectedNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	allowed, refused := h.NewNamespace(), h.NewNamespace()
	h.PutRemote(allowed+"/db", `{"password":"p"}`)
	css := &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "scoped-" + allowed},
		Spec: esv1.SecretStoreSpec{
			Provider:   &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "us-east-1"}},
			Conditions: []esv1.ClusterSecretStoreCondition{{Namespaces: []string{allowed}}},
		},
	}
	h.Create(css)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), css) })
	for _, ns := range []string{allowed, refused} {
		es := externalSecret(ns, "db", css.Name, allowed+"/db", map[string]string{"password": "password"})
		es.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
		h.Create(es)
	}
	h.WaitSecretValue(allowed, "db", "password", "p")
	es := h.WaitReason(types.NamespacedName{Namespace: refused, Name: "db"}, esv1.ReasonSecretSyncedError)
	for _, want := range []string{css.Name, refused, "does not allow"} {
		if !strings.Contains(readyMessage(es), want) {
			t.Errorf("refusal %q does not mention %q", readyMessage(es), want)
		}
	}
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: refused, Name: "db"}, &corev1.Secret{}); err == nil {
		t.Errorf("a refused namespace got a Secret")
	}
}

// Parameter Store with static keys from a Secret (auth.secretRef), decrypting SecureStrings.
func TestParameterStore_StaticCredentials(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/" + ns + "/api-key"), Value: aws.String("k-123"), Type: ssmtypes.ParameterTypeSecureString,
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-creds"}, Data: map[string][]byte{
		"id": []byte("testing"), "secret": []byte("testing"),
	}}
	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "params"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceParameterStore, Region: "us-east-1",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "aws-creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"},
			}},
		}}},
	}
	h.Create(creds, store, externalSecret(ns, "api", "params", "/"+ns+"/api-key", map[string]string{"key": ""}))
	h.WaitSecretValue(ns, "api", "key", "k-123")
}

// A store whose credentials Secret lacks a key is InvalidProviderConfig; a ServiceAccount
// without a role annotation likewise; a valid one is Valid.
func TestStoreStatus_ReportsConfigErrors(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-role"}})
	badCreds := awsStore(ns, "bad-creds")
	badCreds.Spec.Provider.AWS.Auth.SecretRef = &esv1.AWSAuthSecretRef{
		AccessKeyID:     esv1.SecretKeySelector{Name: "missing", Key: "id"},
		SecretAccessKey: esv1.SecretKeySelector{Name: "missing", Key: "secret"},
	}
	noRole := awsStore(ns, "no-role")
	noRole.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "no-role"}}
	h.Create(awsStore(ns, "good"), badCreds, noRole)

	for name, want := range map[string]struct{ reason, says string }{
		"good":      {esv1.ReasonStoreValid, "validated"},
		"bad-creds": {esv1.ReasonValidationFailed, "missing"},
		"no-role":   {esv1.ReasonInvalidProviderConfig, "eks.amazonaws.com/role-arn"},
	} {
		store := h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: name}, want.reason)
		if msg := storeMessage(store); !strings.Contains(msg, want.says) {
			t.Errorf("store %s: message %q does not mention %q", name, msg, want.says)
		}
	}
}

// deletionPolicy Merge drops the keys whose remote data is gone and keeps the Secret with
// the rest (ESO's Merge); the ExternalSecret stays SecretSynced.
func TestDeletionPolicyMerge_DropsGoneKeysKeepsSecret(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "merge-p", func(es *esv1.ExternalSecret) {
		es.Spec.Target.DeletionPolicy = esv1.DeletionPolicyMerge
		es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: es.Namespace + "/api"}})
	})
	// setupDB creates the ExternalSecret before the api key exists: the first passes drop
	// "token"; once it exists the Secret gains it.
	h.PutRemote(ns+"/api", "merge-token")
	h.ForceSync(key)
	h.WaitSecretValue(ns, "db", "token", "merge-token")

	h.DeleteRemote(ns + "/api")
	es := h.WaitReason(key, esv1.ReasonSecretSynced)
	h.ForceSync(key)
	h.WaitSyncedSince(key, es.Status.SyncedResourceVersion)
	s := h.Secret(ns, "db")
	if _, has := s.Data["token"]; has {
		t.Errorf("the key whose remote data is gone is still in the Secret")
	}
	if string(s.Data["password"]) != "merge-p" {
		t.Errorf("the remaining key was lost")
	}
}

// target.immutable writes an immutable Secret; when the remote data changes, Vigil replaces
// the Secret it owns (an immutable Secret cannot be updated) with one holding the new data.
func TestImmutable_RecreatedWhenDataChanges(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "immutable-1", func(es *esv1.ExternalSecret) { es.Spec.Target.Immutable = true })
	first := h.WaitSecretValue(ns, "db", "password", "immutable-1")
	if first.Immutable == nil || !*first.Immutable {
		t.Fatalf("target.immutable did not make the Secret immutable")
	}
	h.PutRemote(ns+"/db", `{"password":"immutable-2"}`)
	h.ForceSync(key)
	second := h.WaitSecretValue(ns, "db", "password", "immutable-2")
	if second.UID == first.UID || second.Immutable == nil || !*second.Immutable {
		t.Errorf("new data should come in a new immutable Secret (same UID: %v, immutable: %v)", second.UID == first.UID, second.Immutable)
	}
	h.WaitEvent(ns, "ExternalSecret", "db", "Recreated")
}

// refreshPolicy CreatedOnce syncs once: a forced sync after the remote value changed leaves
// the Secret as it was; deleting the Secret brings it back (with the current data).
func TestRefreshPolicyCreatedOnce_SyncsOnlyOnce(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, key := setupDB(t, "once-1", func(es *esv1.ExternalSecret) {
		es.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Second}
	})
	s := h.WaitSecretValue(ns, "db", "password", "once-1")
	before := h.WaitReason(key, esv1.ReasonSecretSynced).Status.SyncedResourceVersion
	h.PutRemote(ns+"/db", `{"password":"once-2"}`)
	h.WaitNewPass(key, func() { h.ForceSync(key) })
	// The pass that saw the forced sync read nothing. Nothing else may follow it: watch two
	// of the 1 s refresh intervals the ExternalSecret would follow without CreatedOnce.
	h.Consistently("CreatedOnce synced again after a forced sync", 2*time.Second, func(ctx context.Context) (bool, error) {
		es := &esv1.ExternalSecret{}
		if err := cp.Client.Get(ctx, key, es); err != nil {
			return false, err
		}
		return string(h.Secret(ns, "db").Data["password"]) == "once-1" && es.Status.SyncedResourceVersion == before, nil
	})
	if err := cp.Client.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	h.WaitSecretValue(ns, "db", "password", "once-2")
}

// refreshPolicy OnChange reads the remote data only when the ExternalSecret changes: a
// changed remote value waits for the next spec or annotation change (here a forced sync).
func TestRefreshPolicyOnChange_SyncsOnlyOnChange(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "onchange-1", func(es *esv1.ExternalSecret) {
		es.Spec.RefreshPolicy = esv1.RefreshPolicyOnChange
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Second}
	})
	h.WaitSecretValue(ns, "db", "password", "onchange-1")
	h.PutRemote(ns+"/db", `{"password":"onchange-2"}`)
	// The 1 s interval is ignored under OnChange: nothing triggers a pass, so there is no
	// signal to wait for; watch three intervals, in which a periodic refresh would have come
	// at least twice.
	h.Consistently("OnChange refreshed periodically", 3*time.Second, func(ctx context.Context) (bool, error) {
		return string(h.Secret(ns, "db").Data["password"]) == "onchange-1", nil
	})
	h.ForceSync(key)
	h.WaitSecretValue(ns, "db", "password", "onchange-2")
}
