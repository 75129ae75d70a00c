package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// restartCount ExternalSecrets, each writing three keys: enough that a sync pass takes a
// few seconds, so that a fault lands in the middle of it.
const restartCount = 300

// The controller is killed (SIGKILL) in the middle of a sync pass and started again: every
// ExternalSecret converges, and every Secret exists once, whole, owned by its
// ExternalSecret.
func TestRestart_ControllerKilledMidSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := restartScenario(t, "killed")
	logDir := t.TempDir()
	// Each process watches the test's namespace only: a store without spec.controller is
	// served by every controller class (ESO's rule), so a cluster-wide one would take up
	// the ExternalSecrets of the tests running alongside.
	first, err := cp.StartVigil(filepath.Join(logDir, "first.log"), "--controller-class=killed", "--namespace="+ns)
	if err != nil {
		t.Fatal(err)
	}
	synced := waitSomeSynced(t, ctx, ns)
	first.Kill()
	t.Logf("killed the controller with %d of %d synced", synced, restartCount)
	second, err := cp.StartVigil(filepath.Join(logDir, "second.log"), "--controller-class=killed", "--namespace="+ns)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	assertConverged(t, ctx, ns)
}

// The API server goes away in the middle of a sync pass (every connection cut, new ones
// refused for a while, as in a restart: the controller reaches it through a TCP proxy that
// goes down and comes back; etcd keeps the state as it does across a real restart): every
// ExternalSecret converges, and every Secret exists once, whole, owned by its
// ExternalSecret.
func TestRestart_APIServerGoneMidSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := restartScenario(t, "apigone")
	proxy, err := harness.StartTCPProxy("apiserver", cp.APIServerAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	kubeconfig, err := cp.KubeconfigVia(proxy.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartVigilWith(kubeconfig, filepath.Join(t.TempDir(), "vigil.log"), "--controller-class=apigone", "--namespace="+ns)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	synced := waitSomeSynced(t, ctx, ns)
	failedBefore, err := p.Metric("rest_client_requests_total", map[string]string{"code": "<error>"})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	t.Logf("API server gone with %d of %d synced", synced, restartCount)
	// The outage lasts until the controller has felt it: several of its requests failed
	// (client-go's own retries did not hide it), not for a fixed time.
	env.T(t).Eventually("requests of the controller failing while the API server is gone", func(context.Context) (bool, error) {
		failed, err := p.Metric("rest_client_requests_total", map[string]string{"code": "<error>"})
		return failed >= failedBefore+3, err
	})
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	assertConverged(t, ctx, ns)
}

// restartScenario creates a fake store of the given controller class and restartCount
// ExternalSecrets that read three keys from it, and returns the namespace.
func restartScenario(t *testing.T, class string) string {
	t.Helper()
	h := env.T(t)
	ns := h.NewNamespace()
	h.Create(&esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fake"},
		Spec: esv1.SecretStoreSpec{Controller: class, Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{
			{Key: "user", Value: "app"}, {Key: "password", Value: "restart-password"}, {Key: "host", Value: "db.internal"},
		}}}},
	})
	for i := range restartCount {
		h.Create(&esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("es-%03d", i)},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: "fake"},
				RefreshInterval: &metav1.Duration{Duration: time.Hour},
				Data: []esv1.ExternalSecretData{
					{SecretKey: "user", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "user"}},
					{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "password"}},
					{SecretKey: "host", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "host"}},
				},
			},
		})
	}
	return ns
}

// waitSomeSynced waits until at least one ExternalSecret of ns is synced and returns how
// many are.
func waitSomeSynced(t *testing.T, ctx context.Context, ns string) int {
	t.Helper()
	n := 0
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		var list esv1.ExternalSecretList
		if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		n = 0
		for _, es := range list.Items {
			if c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
				n++
			}
		}
		return n > 0, nil
	})
	if err != nil {
		t.Fatalf("waiting for the first syncs: %v", err)
	}
	if n == restartCount {
		t.Logf("every ExternalSecret synced before the fault; the fault hit an idle controller")
	}
	return n
}

// assertConverged waits until every ExternalSecret of ns is synced and checks what a user
// would: one Secret per ExternalSecret, with all three keys and their values, owned by it.
func assertConverged(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	var list esv1.ExternalSecretList
	err := harness.WaitFor(ctx, 2*waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, es := range list.Items {
			if c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); c == nil || c.Reason != esv1.ReasonSecretSynced {
				return false, nil
			}
		}
		return len(list.Items) == restartCount, nil
	})
	if err != nil {
		t.Fatalf("not every ExternalSecret converged: %v", err)
	}
	var secrets corev1.SecretList
	if err := cp.Client.List(ctx, &secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	byName := map[string]corev1.Secret{}
	for _, s := range secrets.Items {
		if _, dup := byName[s.Name]; dup {
			t.Errorf("Secret %s listed twice", s.Name)
		}
		byName[s.Name] = s
	}
	want := map[string]string{"user": "app", "password": "restart-password", "host": "db.internal"}
	for _, es := range list.Items {
		s, ok := byName[es.Name]
		if !ok {
			t.Errorf("Secret %s is missing", es.Name)
			continue
		}
		if len(s.Data) != len(want) {
			t.Errorf("Secret %s has %d keys, want %d", s.Name, len(s.Data), len(want))
		}
		for k, v := range want {
			if string(s.Data[k]) != v {
				t.Errorf("Secret %s key %s is wrong or missing", s.Name, k)
			}
		}
		if owners := s.OwnerReferences; len(owners) != 1 || owners[0].UID != es.UID {
			t.Errorf("Secret %s owners %v, want only ExternalSecret %s", s.Name, owners, es.UID)
		}
	}
	if len(byName) != restartCount {
		t.Errorf("%d Secrets in the namespace, want %d", len(byName), restartCount)
	}
}
