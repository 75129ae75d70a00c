package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// Two `vigil controller --shard-count=2` processes split the ExternalSecrets: each is
// synced by exactly one process, none is left out, and when one process stops the other
// takes over its shard. The processes run with their own controller class, so the
// suite's in-process controller leaves their stores alone.
func TestSharding_TwoProcessesSplitAndTakeOver(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	leaseNS := h.NewNamespace()
	logDir := t.TempDir()
	// The processes watch the test's namespace only: a store without spec.controller is
	// served by every controller class (ESO's rule), so cluster-wide processes would take up
	// the ExternalSecrets of the tests running alongside.
	flags := []string{"--shard-count=2", "--controller-class=sharded", "--namespace=" + ns, "--leader-election-namespace=" + leaseNS, "--zap-log-level=info"}
	start := func(name string) *harness.Process {
		p, err := cp.StartVigil(filepath.Join(logDir, name+".log"), flags...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitReady(ctx, waitTimeout); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := start("a"), start("b")
	stopped := map[*harness.Process]bool{}
	t.Cleanup(func() {
		for _, p := range []*harness.Process{a, b} {
			if !stopped[p] {
				p.Stop()
			}
		}
		if t.Failed() {
			for _, n := range []string{"a", "b"} {
				if out, err := os.ReadFile(filepath.Join(logDir, n+".log")); err == nil {
					t.Logf("process %s log:\n%s", n, lastLines(string(out), 40))
				}
			}
		}
	})

	// Each process leads one shard before any ExternalSecret exists.
	holders := waitShardHolders(t, ctx, leaseNS, func(h []string) bool { return h[0] != "" && h[1] != "" && h[0] != h[1] })
	t.Logf("shard leaders: %v", holders)

	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fake"},
		Spec: esv1.SecretStoreSpec{Controller: "sharded", Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
			Data: []esv1.FakeProviderData{{Key: "k", Value: "sharded value"}}}}},
	}
	h.Create(store)
	const n = 40
	var names []string
	for i := range n {
		name := fmt.Sprintf("es-%02d", i)
		names = append(names, name)
		es := &esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: "fake"},
				RefreshInterval: &metav1.Duration{Duration: time.Hour},
				Data:            []esv1.ExternalSecretData{{SecretKey: "v", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k"}}},
			},
		}
		h.Create(es)
	}
	for _, name := range names {
		h.WaitSecretValue(ns, name, "v", "sharded value")
	}

	// No overlap, no gap: every ExternalSecret was synced by one process.
	syncedA, syncedB := syncedBy(t, a, ns), syncedBy(t, b, ns)
	for _, name := range names {
		if syncedA[name] == syncedB[name] {
			t.Errorf("%s synced by a: %v, by b: %v; want exactly one", name, syncedA[name], syncedB[name])
		}
	}
	if len(syncedA) == 0 || len(syncedB) == 0 {
		t.Fatalf("one process synced everything (a: %d, b: %d)", len(syncedA), len(syncedB))
	}
	t.Logf("a synced %d, b synced %d of %d", len(syncedA), len(syncedB), n)

	// b stops: a takes over b's shard and syncs its ExternalSecrets.
	b.Stop()
	stopped[b] = true
	waitShardHolders(t, ctx, leaseNS, func(h []string) bool { return h[0] == h[1] && h[0] != "" })
	previous := map[string]string{}
	for _, name := range names {
		key := types.NamespacedName{Namespace: ns, Name: name}
		es := &esv1.ExternalSecret{}
		if err := cp.Client.Get(ctx, key, es); err != nil {
			t.Fatal(err)
		}
		previous[name] = es.Status.SyncedResourceVersion
		h.ForceSync(key)
	}
	for _, name := range names {
		es := h.WaitSyncedSince(types.NamespacedName{Namespace: ns, Name: name}, previous[name])
		if c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s not ready after the takeover: %s", name, harness.Conditions(es.Status.Conditions))
		}
	}
	if after := syncedBy(t, a, ns); len(after) != n {
		t.Errorf("after b stopped, a synced %d of %d ExternalSecrets", len(after), n)
	}
	var s corev1.Secret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: names[0]}, &s); err != nil || string(s.Data["v"]) != "sharded value" {
		t.Errorf("Secret after the takeover: %v %q", err, s.Data["v"])
	}
}

// waitShardHolders waits until the holders of the two shard Leases satisfy ok.
func waitShardHolders(t *testing.T, ctx context.Context, ns string, ok func([]string) bool) []string {
	t.Helper()
	holders := make([]string, 2)
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		for i := range holders {
			var l coordinationv1.Lease
			holders[i] = ""
			if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("vigil.dev-controller-shard-%d-of-2", i)}, &l); err == nil && l.Spec.HolderIdentity != nil {
				holders[i] = *l.Spec.HolderIdentity
			}
		}
		return ok(holders), nil
	})
	if err != nil {
		t.Fatalf("waiting for the shard leaders (now %v): %v", holders, err)
	}
	return slices.Clone(holders)
}

// syncedBy returns the ExternalSecrets of ns that a process has synced, from its metrics.
func syncedBy(t *testing.T, p *harness.Process, ns string) map[string]bool {
	t.Helper()
	families, err := p.Scrape(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, s := range families.Series(metrics.ExternalSecretSyncCalls, map[string]string{"namespace": ns}) {
		if s.Value != 0 {
			out[s.Labels["name"]] = true
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
