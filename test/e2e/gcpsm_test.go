package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/providers"
)

// GCP Secret Manager through the real controller, against the harness's Secret Manager
// (test/harness/gcpsm: the service's gRPC API with Google's token endpoint for
// service-account keys), which the suite's controller reaches as the binary does with
// VIGIL_GCPSM_ENDPOINT.

func randomValue(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	v := prefix + hex.EncodeToString(b)
	rememberValue(v)
	return v
}

// gcpsmStore creates, in ns, a Secret holding a service-account key for project and a
// SecretStore "gcp" that names it.
func gcpsmStore(t *testing.T, ns, project string, key []byte) {
	t.Helper()
	env.T(t).Create(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp-key"}, Data: map[string][]byte{"key.json": key}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp"}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: project, Auth: esv1.GCPSMAuth{
				SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: esv1.SecretKeySelector{Name: "gcp-key", Key: "key.json"}}}}}}},
	)
}

// An ExternalSecret syncs from a gcpsm SecretStore: a property of the latest version, a
// numbered version, a label (metadataPolicy Fetch), and every secret with a label
// (dataFrom.find.tags); a new version reaches the Secret on the next sync.
func TestGCPSM_ExternalSecretSyncs(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	project := "p-" + ns
	key, err := gsm.ServiceAccount("reader@"+project+".iam.gserviceaccount.com", project)
	if err != nil {
		t.Fatal(err)
	}
	old, current, token := randomValue("old-"), randomValue("pw-"), randomValue("tok-")
	gsm.Put(project, "", "pay-db", map[string]string{"team": "pay"},
		`{"user":"app","password":"`+old+`"}`, `{"user":"app","password":"`+current+`"}`)
	gsm.Put(project, "", "pay-api-token", map[string]string{"team": "pay"}, token)
	gsm.Put(project, "", "pay-unrelated", map[string]string{"team": "web"}, randomValue("web-"))
	gcpsmStore(t, ns, project, key)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "gcp"}, esv1.ReasonStoreValid)

	h.Create(&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "gcp", Kind: esv1.SecretStoreKind},
		Target:         esv1.ExternalSecretTarget{Name: "app"},
		Data: []esv1.ExternalSecretData{
			{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "pay-db", Property: "password"}},
			{SecretKey: "old-password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "pay-db", Property: "password", Version: "1"}},
			{SecretKey: "team", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "pay-db", Property: "labels.team",
				MetadataPolicy: esv1.MetadataPolicyFetch}},
		},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{
			Path: ptrTo("pay-"), Tags: map[string]string{"team": "pay"}}}},
	}})
	key1 := types.NamespacedName{Namespace: ns, Name: "app"}
	h.WaitReason(key1, esv1.ReasonSecretSynced)
	s := h.Secret(ns, "app")
	want := map[string]string{"password": current, "old-password": old, "team": "pay", "pay-api-token": token,
		"pay-db": `{"user":"app","password":"` + current + `"}`}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("Secret key %s does not hold the expected value (%d bytes, want %d)", k, len(s.Data[k]), len(v))
		}
	}
	if _, ok := s.Data["pay-unrelated"]; ok || len(s.Data) != len(want) {
		t.Errorf("Secret keys %d, want exactly %d (find.tags selected another team's secret?)", len(s.Data), len(want))
	}

	rotated := randomValue("pw-")
	gsm.Put(project, "", "pay-db", nil, `{"user":"app","password":"`+rotated+`"}`)
	h.ForceSync(key1)
	h.WaitSecretValue(ns, "app", "password", rotated)
}

// A store whose key Google's token endpoint refuses is not Ready and says which field to
// fix, and an ExternalSecret on a project the account may not use names the permission;
// neither message carries key material.
func TestGCPSM_RefusalsNameTheFix(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	project := "p-" + ns
	email := "rotated@" + project + ".iam.gserviceaccount.com"
	stale, err := gsm.ServiceAccount(email, project)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gsm.ServiceAccount(email, project); err != nil { // the account's key is replaced
		t.Fatal(err)
	}
	gcpsmStore(t, ns, project, stale)
	got := waitStoreMessage(t, types.NamespacedName{Namespace: ns, Name: "gcp"},
		"spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef")
	msg := conditionMessage(got.Status.Conditions)
	if !strings.Contains(msg, "invalid_grant") || strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "ya29.") {
		t.Errorf("store message %q: want invalid_grant and no key or token", msg)
	}

	other := h.NewNamespace()
	elsewhere := "p-" + other
	key, err := gsm.ServiceAccount("reader@"+elsewhere+".iam.gserviceaccount.com", elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	gsm.Put(project, "", "guarded", nil, randomValue("guarded-"))
	env.T(t).Create(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "gcp-key"}, Data: map[string][]byte{"key.json": key}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "gcp"}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: project, Auth: esv1.GCPSMAuth{
				SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: esv1.SecretKeySelector{Name: "gcp-key", Key: "key.json"}}}}}}},
		&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "denied"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "gcp", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "v", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "guarded"}}},
		}},
	)
	es := h.WaitMessage(types.NamespacedName{Namespace: other, Name: "denied"}, "PermissionDenied")
	msg = conditionMessage(es.Status.Conditions)
	if !strings.Contains(msg, "secretmanager.versions.access") || !strings.Contains(msg, "reader@"+elsewhere) {
		t.Errorf("ExternalSecret message %q: want the permission and the identity", msg)
	}
}

func conditionMessage(cs []metav1.Condition) string {
	for _, c := range cs {
		if c.Type == esv1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

// A PushSecret writes to Secret Manager through the gcpsm Pusher: one key, the whole Secret
// and a property, each secret labelled managed-by=external-secrets as ESO labels what it
// creates; a push of unchanged values adds no version; a secret the account did not create
// is left alone under updatePolicy IfNotExists; deletionPolicy Delete removes what it pushed.
func TestGCPSM_PushSecret(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	project := "p-" + ns
	key, err := gsm.ServiceAccount("writer@"+project+".iam.gserviceaccount.com", project)
	if err != nil {
		t.Fatal(err)
	}
	gcpsmStore(t, ns, project, key)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "gcp"}, esv1.ReasonStoreValid)
	pw, user := randomValue("push-pw-"), randomValue("push-user-")
	h.Create(sourceSecret(ns, "src", map[string]string{"password": pw, "user": user}))
	ps := pushSecret(ns, "app", "gcp", "src", pushEntry("password", "app-password", ""),
		pushEntry("", "app-all", ""), pushEntry("user", "app-conf", "user"))
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	h.Create(ps)
	pkey := types.NamespacedName{Namespace: ns, Name: "app"}
	got := h.WaitPushed(pkey)

	want := map[string]string{"app-password": pw, "app-all": `{"password":"` + pw + `","user":"` + user + `"}`,
		"app-conf": `{"user":"` + user + `"}`}
	for id, v := range want {
		labels, values, ok := gsm.Secret(project, "", id)
		if !ok || len(values) != 1 || values[0] != v {
			t.Errorf("%s: found %v, %d versions; want one version with the pushed value", id, ok, len(values))
		}
		if labels[providers.ManagedByKey] != providers.ManagedByValue {
			t.Errorf("%s: labels %v, want managed-by=external-secrets", id, labels)
		}
	}
	if synced := got.Status.SyncedPushSecrets["SecretStore/gcp"]; len(synced) != 3 {
		t.Errorf("status.syncedPushSecrets = %v, want three remote keys under SecretStore/gcp", got.Status.SyncedPushSecrets)
	}

	h.ForcePush(pkey)
	h.WaitPushedSince(pkey, got.Status.SyncedResourceVersion)
	if _, values, _ := gsm.Secret(project, "", "app-password"); len(values) != 1 {
		t.Errorf("a push of an unchanged value added a version (%d versions)", len(values))
	}

	foreign := randomValue("foreign-")
	gsm.Put(project, "", "foreign", nil, foreign)
	keep := pushSecret(ns, "keep", "gcp", "src", pushEntry("password", "foreign", ""))
	keep.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(keep)
	h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "keep"})
	if _, values, _ := gsm.Secret(project, "", "foreign"); len(values) != 1 || values[0] != foreign {
		t.Error("updatePolicy IfNotExists wrote to a secret that existed")
	}

	h.Delete(got)
	for id := range want {
		if _, _, ok := gsm.Secret(project, "", id); ok {
			t.Errorf("%s: deleting the PushSecret (deletionPolicy Delete) did not delete it", id)
		}
	}
}

// Keyless stores through the controller: GKE Workload Identity (the ServiceAccount's token
// exchanged at STS for the cluster's identity namespace, then for its annotated Google
// service account at IAM Credentials) and Workload Identity Federation with
// serviceAccountRef (a pool provider's audience, gcpServiceAccountEmail) both sync an
// ExternalSecret; a ServiceAccount whose principal may not impersonate the account leaves
// its store not Ready with the role to grant.
func TestGCPSM_WorkloadIdentity(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	project := "p-" + ns
	gsa := "eso@" + project + ".iam.gserviceaccount.com"
	if _, err := gsm.ServiceAccount(gsa, project); err != nil {
		t.Fatal(err)
	}
	gsm.AddGKECluster(project, "europe-west1", "vigil")
	aud := gsm.AddPoolProvider(project, "k8s", "vigil")
	gsm.AllowImpersonation(gsa, "serviceAccount:"+project+".svc.id.goog["+ns+"/eso]")
	gsm.AllowImpersonation(gsa, "principal:"+strings.TrimSuffix(aud, "/providers/vigil")+
		"/subject/system:serviceaccount:"+ns+":eso")
	value := randomValue("wi-")
	gsm.Put(project, "", "app-token", nil, value)

	sa := func(name string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Annotations: map[string]string{"iam.gke.io/gcp-service-account": gsa}}}
	}
	wi := func(name, ksa string) *esv1.SecretStore {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: project, Auth: esv1.GCPSMAuth{
				WorkloadIdentity: &esv1.GCPWorkloadIdentity{ServiceAccountRef: esv1.ServiceAccountSelector{Name: ksa},
					ClusterProjectID: project, ClusterLocation: "europe-west1", ClusterName: "vigil"}}}}}}
	}
	wif := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wif"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: project, Auth: esv1.GCPSMAuth{
			WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{Audience: aud, GCPServiceAccountEmail: gsa,
				ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "eso"}}}}}}}
	h.Create(sa("eso"), sa("intruder"), wi("wi", "eso"), wif, wi("denied", "intruder"))

	for _, store := range []string{"wi", "wif"} {
		h.Create(&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: store}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app-token"}}},
		}})
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: store}, esv1.ReasonSecretSynced)
		if got := h.Secret(ns, store).Data["token"]; string(got) != value {
			t.Errorf("store %s: the Secret does not hold the value (%d bytes)", store, len(got))
		}
	}
	got := waitStoreMessage(t, types.NamespacedName{Namespace: ns, Name: "denied"}, "roles/iam.workloadIdentityUser")
	if msg := conditionMessage(got.Status.Conditions); !strings.Contains(msg, "PERMISSION_DENIED") ||
		!strings.Contains(msg, "serviceAccount:"+project+".svc.id.goog["+ns+"/intruder]") {
		t.Errorf("store message %q: want PERMISSION_DENIED and the federated principal", msg)
	}
}
