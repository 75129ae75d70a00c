package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/test/harness"
)

// storeGoneWithin bounds how soon an ExternalSecret reports a deleted or broken store. Its
// refresh interval is an hour: only the store's events can bring it this soon.
const storeGoneWithin = 30 * time.Second

// Deleting a store fails every ExternalSecret that reads from it, with a condition naming
// the store, within seconds and without a force-sync; their Secrets stay exactly as they
// were; the not-synced metric and the shipped alert follow; recreating the store heals
// them. One ExternalSecret reads the deleted SecretStore as its own store (and is
// force-synced right after the delete, as in the bug report), the other reads a
// ClusterSecretStore only through a data[].sourceRef.storeRef.
func TestStoreDeleted_UsersFailNamingTheStoreThenHeal(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"store-gone-pw"}`)
	h.PutRemote(ns+"/shared", `{"token":"store-gone-token"}`)
	css := awsClusterStore(ns+"-shared", ns)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), awsClusterStore(css.Name, ns)) })

	own := externalSecret(ns, "own", "store", ns+"/db", map[string]string{"password": "password"})
	viaRef := externalSecret(ns, "via-ref", "keep", ns+"/db", map[string]string{"password": "password"})
	viaRef.Spec.Data = append(viaRef.Spec.Data, esv1.ExternalSecretData{
		SecretKey: "token",
		RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/shared", Property: "token"},
		SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Kind: esv1.ClusterSecretStoreKind, Name: css.Name}},
	})
	h.Create(awsStore(ns, "store"), awsStore(ns, "keep"), css, own, viaRef)
	keys := map[string]types.NamespacedName{
		`SecretStore "store"`:                   {Namespace: ns, Name: "own"},
		`ClusterSecretStore "` + css.Name + `"`: {Namespace: ns, Name: "via-ref"},
	}
	before := map[string]*corev1.Secret{}
	for _, key := range keys {
		h.WaitReason(key, esv1.ReasonSecretSynced)
		before[key.Name] = h.Secret(ns, key.Name)
	}

	deleteObj(t, ctx, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "store"}})
	deleteObj(t, ctx, &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: css.Name}})
	h.ForceSync(keys[`SecretStore "store"`])
	for store, key := range keys {
		es := waitReasonWithin(t, key, esv1.ReasonSecretSyncedError, storeGoneWithin)
		if msg := readyMessage(es); !strings.Contains(msg, store) || !strings.Contains(msg, "does not exist") {
			t.Errorf("%s: condition message %q does not say that %s is gone", key.Name, msg, store)
		}
		assertUntouched(t, before[key.Name])
		assertNotSyncedMetric(t, ctx, key)
	}
	assertAlerts(t, "store deleted", h.Scrape(), ns, "via-ref", map[string]bool{"VigilExternalSecretNotSynced": true})

	h.Create(awsStore(ns, "store"), awsClusterStore(css.Name, ns))
	for _, key := range keys {
		h.WaitReason(key, esv1.ReasonSecretSynced)
	}
	h.WaitSecretValue(ns, "own", "password", "store-gone-pw")
	h.WaitSecretValue(ns, "via-ref", "token", "store-gone-token")
}

// A store broken by a spec change (a configuration that cannot work, or credentials that
// do not exist) fails its users naming the store, within seconds and without a
// force-sync, although the client built from the old spec still worked; the Secret stays
// as it was; mending the spec heals them.
func TestStoreBrokenBySpecChange_UsersFailThenHeal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(*esv1.SecretStore)
		says   string
	}{
		{
			name: "credentials Secret missing",
			break_: func(s *esv1.SecretStore) {
				s.Spec.Provider.AWS.Auth.SecretRef = &esv1.AWSAuthSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "missing-creds", Key: "id"},
					SecretAccessKey: esv1.SecretKeySelector{Name: "missing-creds", Key: "secret"},
				}
			},
			says: "missing-creds",
		},
		{
			name: "invalid provider config",
			break_: func(s *esv1.SecretStore) {
				other := "kube-system"
				s.Spec.Provider.AWS.Auth.SecretRef = &esv1.AWSAuthSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id", Namespace: &other},
					SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret", Namespace: &other},
				}
			},
			says: "may only use Secrets and ServiceAccounts of its own namespace",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := env.T(t)
			ctx := context.Background()
			ns, key := setupDB(t, "broken-store-pw", nil)
			h.WaitReason(key, esv1.ReasonSecretSynced)
			before := h.WaitSecretValue(ns, "db", "password", "broken-store-pw")

			store := &esv1.SecretStore{}
			storeKey := types.NamespacedName{Namespace: ns, Name: "store"}
			patchStore(t, ctx, storeKey, store, tc.break_)
			es := waitReasonWithin(t, key, esv1.ReasonSecretSyncedError, storeGoneWithin)
			msg := readyMessage(es)
			for _, want := range []string{`SecretStore "store"`, tc.says} {
				if !strings.Contains(msg, want) {
					t.Errorf("condition message %q does not mention %q", msg, want)
				}
			}
			assertUntouched(t, before)
			assertNotSyncedMetric(t, ctx, key)

			patchStore(t, ctx, storeKey, store, func(s *esv1.SecretStore) { s.Spec.Provider.AWS.Auth.SecretRef = nil })
			h.WaitReason(key, esv1.ReasonSecretSynced)
			assertUntouched(t, before)
		})
	}
}

// awsClusterStore is awsStore as a ClusterSecretStore that admits namespace ns only (the
// built-in policy blocks one that admits every namespace).
func awsClusterStore(name, ns string) *esv1.ClusterSecretStore {
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: awsStore("", name).Spec}
	css.Spec.Conditions = []esv1.ClusterSecretStoreCondition{{Namespaces: []string{ns}}}
	return css
}

func deleteObj(t *testing.T, ctx context.Context, obj client.Object) {
	t.Helper()
	if err := cp.Client.Delete(ctx, obj); err != nil {
		t.Fatalf("deleting %T %s: %v", obj, obj.GetName(), err)
	}
	env.T(t).WaitGone(obj)
}

func patchStore(t *testing.T, ctx context.Context, key types.NamespacedName, store *esv1.SecretStore, change func(*esv1.SecretStore)) {
	t.Helper()
	if err := cp.Client.Get(ctx, key, store); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(store.DeepCopy())
	change(store)
	if err := cp.Client.Patch(ctx, store, patch); err != nil {
		t.Fatalf("changing store %s: %v", key, err)
	}
}

// waitReasonWithin is waitReason with a tighter bound: the reason must come this soon.
func waitReasonWithin(t *testing.T, key types.NamespacedName, reason string, within time.Duration) *esv1.ExternalSecret {
	t.Helper()
	start := time.Now()
	es := env.T(t).WaitReasonWithin(key, reason, within)
	t.Logf("%s reached %s after %s", key.Name, reason, time.Since(start).Round(time.Millisecond))
	return es
}

// assertNotSyncedMetric waits until /metrics says the ExternalSecret's Ready condition is
// False (ESO's externalsecret_status_condition) and Vigil's ready series carries the
// failure reason the shipped alert matches on.
func assertNotSyncedMetric(t *testing.T, ctx context.Context, key types.NamespacedName) {
	t.Helper()
	var last []series
	err := harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		last = seriesOf(env.T(t).Scrape(), key.Namespace, key.Name)
		notSynced, reason := false, false
		for _, s := range last {
			switch {
			case s.name == metrics.ExternalSecretStatusCondition && s.labels["condition"] == esv1.ConditionReady:
				notSynced = notSynced || (s.labels["status"] == "False" && s.value == 1)
			case s.name == metrics.Ready && s.labels["reason"] == esv1.ReasonSecretSyncedError:
				reason = s.value == 1
			}
		}
		return notSynced && reason, nil
	})
	if err != nil {
		t.Errorf("/metrics does not show %s as not synced: %v (series: %v)", key, err, seriesNames(last))
	}
}

// A backend's answers are input too: a hostile Vault that answers a read with an endless
// body is cut off at the response limit (the controller stops reading there), and a real
// Vault value larger than the value limit is refused; each fails only its own
// ExternalSecret, with a message naming the limit, while another ExternalSecret of the same
// namespace keeps syncing.
func TestBackendAnswers_CappedWhereTheyAreRead(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, okKey := setupDB(t, "capped-neighbour-pw", nil)
	var most atomic.Int64 // the most bytes one response handed over
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(`{"data":{"data":{"v":"`)); err != nil {
			return
		}
		written := int64(0)
		defer func() {
			for m := most.Load(); written > m && !most.CompareAndSwap(m, written); m = most.Load() {
			}
		}()
		for written < 256<<20 { // far more than any limit; stops when the reader hangs up
			if _, err := w.Write(chunk); err != nil {
				return
			}
			written += int64(len(chunk))
		}
	}))
	defer hostile.Close()

	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"root"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	rememberValue(tok.Auth.ClientToken)
	// Vault refuses one JSON string over 1 MiB: many fields make a value over the limit.
	huge := strings.Repeat("h", 768<<10)
	fields := map[string]any{}
	for i := range providers.MaxValueBytes/len(huge) + 1 {
		fields[fmt.Sprintf("f%d", i)] = huge
	}
	if err := vlt.KVv2Put(ctx, "secret", ns+"/huge", fields); err != nil {
		t.Fatal(err)
	}
	vaultStore := func(name, server string) *esv1.SecretStore {
		path := "secret"
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
			Server: server, Path: &path, Version: esv1.VaultKVStoreV2,
			Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}}}}}
	}
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": tok.Auth.ClientToken}}, vaultStore("hostile", hostile.URL), vaultStore("vault", vlt.URL), externalSecret(ns, "endless", "hostile", ns+"/endless", map[string]string{"v": "v"}), externalSecret(ns, "huge", "vault", ns+"/huge", map[string]string{"v": "f0"}))
	for _, tc := range []struct{ name, store, limit string }{
		{"endless", `SecretStore "hostile"`, fmt.Sprintf("larger than %d bytes", providers.MaxResponseBytes)},
		{"huge", `SecretStore "vault"`, fmt.Sprintf("more than the %d bytes", providers.MaxValueBytes)},
	} {
		es := waitReasonWithin(t, types.NamespacedName{Namespace: ns, Name: tc.name}, esv1.ReasonSecretSyncedError, storeGoneWithin)
		msg := readyMessage(es)
		for _, want := range []string{tc.store, tc.limit} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: condition message %q does not mention %q", tc.name, msg, want)
			}
		}
		assertNoValue(t, msg, huge[:64], strings.Repeat("x", 64))
	}
	// The controller stopped reading each response at the limit: the hostile server could
	// not hand over much more than that (socket buffers hold a little).
	t.Logf("the most one hostile response handed over: %d MiB (limit %d MiB)", most.Load()>>20, providers.MaxResponseBytes>>20)
	if w := most.Load(); w > providers.MaxResponseBytes+8<<20 {
		t.Errorf("the hostile backend wrote %d MiB in one response before the controller hung up; the limit is %d MiB", w>>20, providers.MaxResponseBytes>>20)
	}
	prev := h.WaitReason(okKey, esv1.ReasonSecretSynced).Status.SyncedResourceVersion
	h.ForceSync(okKey)
	h.WaitSyncedSince(okKey, prev)
}
