package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestRotation_ReachesSecretOnForceSync(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "old-1", nil)
	es := h.WaitReason(key, esv1.ReasonSecretSynced)
	h.WaitSecretValue(ns, "db", "password", "old-1")

	h.PutRemote(ns+"/db", `{"password":"new-2"}`)
	h.ForceSync(key)
	h.WaitSyncedSince(key, es.Status.SyncedResourceVersion)
	h.WaitSecretValue(ns, "db", "password", "new-2")
}

func TestRotation_ReachesSecretOnRefresh(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, _ := setupDB(t, "old-1", func(es *esv1.ExternalSecret) {
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Second}
	})
	h.WaitSecretValue(ns, "db", "password", "old-1")

	h.PutRemote(ns+"/db", `{"password":"new-2"}`)
	// Nothing touches the ExternalSecret: the periodic refresh brings the new value.
	h.WaitSecretValue(ns, "db", "password", "new-2")
}

func TestRotation_UnchangedValueWritesNothing(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, key := setupDB(t, "same", nil)
	es := h.WaitReason(key, esv1.ReasonSecretSynced)
	before := h.Secret(ns, "db").ResourceVersion

	for range 3 {
		h.ForceSync(key)
		es = h.WaitSyncedSince(key, es.Status.SyncedResourceVersion)
	}
	if after := h.Secret(ns, "db").ResourceVersion; after != before {
		t.Errorf("Secret resourceVersion changed from %s to %s after syncs of an unchanged value", before, after)
	}
}

// A Secret edited or deleted by hand is restored from the remote value.
func TestSecret_RestoredAfterDeletion(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, _ := setupDB(t, "v1", nil)
	s := h.WaitSecretValue(ns, "db", "password", "v1")
	if err := cp.Client.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	h.WaitGone(s)
	h.WaitSecretValue(ns, "db", "password", "v1")

	s = h.Secret(ns, "db")
	s.Data["password"] = []byte("edited by hand")
	if err := cp.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	h.WaitSecretValue(ns, "db", "password", "v1")
}

// A version stage reads that version: AWSPREVIOUS holds the value before the rotation.
func TestVersion_ReadsStage(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", "first")
	h.PutRemote(ns+"/db", "second")
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"previous": ""})
	es.Spec.Data[0].RemoteRef.Version = "AWSPREVIOUS"
	es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: "current", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/db"}})
	h.Create(awsStore(ns, "store"), es)
	h.WaitSecretValue(ns, "db", "previous", "first")
	h.WaitSecretValue(ns, "db", "current", "second")
}

// A store with a role assumes it (with its external ID) on top of the base credentials.
func TestRole_AssumedWithExternalID(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"via-role-1"}`)
	store := awsStore(ns, "store")
	store.Spec.Provider.AWS.Role = "arn:aws:iam::123456789012:role/reader-" + ns
	store.Spec.Provider.AWS.ExternalID = "ext-" + ns
	h.Create(store, externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"}))
	h.WaitSecretValue(ns, "db", "password", "via-role-1")

	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		form := formOf(r)
		if form.Get("Action") == "AssumeRole" && form.Get("RoleArn") == store.Spec.Provider.AWS.Role {
			if form.Get("ExternalId") != store.Spec.Provider.AWS.ExternalID {
				t.Errorf("AssumeRole ExternalId = %q, want %q", form.Get("ExternalId"), store.Spec.Provider.AWS.ExternalID)
			}
			return
		}
	}
	t.Fatalf("moto served no AssumeRole for %s", store.Spec.Provider.AWS.Role)
}

// Writes are announced as events: Created for the first write, Updated after a rotation.
func TestEvents_CreatedAndUpdated(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, _ := setupDB(t, "ev-1", nil)
	h.WaitSecretValue(ns, "db", "password", "ev-1")
	h.PutRemote(ns+"/db", `{"password":"ev-2"}`)
	h.ForceSync(types.NamespacedName{Namespace: ns, Name: "db"})
	h.WaitSecretValue(ns, "db", "password", "ev-2")
	for _, reason := range []string{"Created", "Updated"} {
		h.WaitEvent(ns, "ExternalSecret", "db", reason)
	}
}
