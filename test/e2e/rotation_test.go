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
	ctx := context.Background()
	ns, key := setupDB(t, ctx, "old-1", nil)
	es := waitReason(t, ctx, key, esv1.ReasonSecretSynced)
	waitSecretValue(t, ctx, ns, "db", "password", "old-1")

	putRemote(t, ctx, ns+"/db", `{"password":"new-2"}`)
	forceSync(t, ctx, key)
	waitSyncedSince(t, ctx, key, es.Status.SyncedResourceVersion)
	waitSecretValue(t, ctx, ns, "db", "password", "new-2")
}

func TestRotation_ReachesSecretOnRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, _ := setupDB(t, ctx, "old-1", func(es *esv1.ExternalSecret) {
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Second}
	})
	waitSecretValue(t, ctx, ns, "db", "password", "old-1")

	putRemote(t, ctx, ns+"/db", `{"password":"new-2"}`)
	// Nothing touches the ExternalSecret: the periodic refresh brings the new value.
	waitSecretValue(t, ctx, ns, "db", "password", "new-2")
}

func TestRotation_UnchangedValueWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, key := setupDB(t, ctx, "same", nil)
	es := waitReason(t, ctx, key, esv1.ReasonSecretSynced)
	before := getSecret(t, ctx, ns, "db").ResourceVersion

	for range 3 {
		forceSync(t, ctx, key)
		es = waitSyncedSince(t, ctx, key, es.Status.SyncedResourceVersion)
	}
	if after := getSecret(t, ctx, ns, "db").ResourceVersion; after != before {
		t.Errorf("Secret resourceVersion changed from %s to %s after syncs of an unchanged value", before, after)
	}
}

// A Secret edited or deleted by hand is restored from the remote value.
func TestSecret_RestoredAfterDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, _ := setupDB(t, ctx, "v1", nil)
	s := waitSecretValue(t, ctx, ns, "db", "password", "v1")
	if err := cp.Client.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, s)
	waitSecretValue(t, ctx, ns, "db", "password", "v1")

	s = getSecret(t, ctx, ns, "db")
	s.Data["password"] = []byte("edited by hand")
	if err := cp.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitSecretValue(t, ctx, ns, "db", "password", "v1")
}

// A version stage reads that version: AWSPREVIOUS holds the value before the rotation.
func TestVersion_ReadsStage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t, ctx)
	putRemote(t, ctx, ns+"/db", "first")
	putRemote(t, ctx, ns+"/db", "second")
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"previous": ""})
	es.Spec.Data[0].RemoteRef.Version = "AWSPREVIOUS"
	es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: "current", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/db"}})
	create(t, ctx, awsStore(ns, "store"), es)
	waitSecretValue(t, ctx, ns, "db", "previous", "first")
	waitSecretValue(t, ctx, ns, "db", "current", "second")
}

// A store with a role assumes it (with its external ID) on top of the base credentials.
func TestRole_AssumedWithExternalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t, ctx)
	putRemote(t, ctx, ns+"/db", `{"password":"via-role-1"}`)
	store := awsStore(ns, "store")
	store.Spec.Provider.AWS.Role = "arn:aws:iam::123456789012:role/reader-" + ns
	store.Spec.Provider.AWS.ExternalID = "ext-" + ns
	create(t, ctx, store, externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"}))
	waitSecretValue(t, ctx, ns, "db", "password", "via-role-1")

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
	ctx := context.Background()
	ns, _ := setupDB(t, ctx, "ev-1", nil)
	waitSecretValue(t, ctx, ns, "db", "password", "ev-1")
	putRemote(t, ctx, ns+"/db", `{"password":"ev-2"}`)
	forceSync(t, ctx, types.NamespacedName{Namespace: ns, Name: "db"})
	waitSecretValue(t, ctx, ns, "db", "password", "ev-2")
	for _, reason := range []string{"Created", "Updated"} {
		waitEvent(t, ctx, ns, "db", reason)
	}
}
