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
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// `vigil controller --shard-count=2` processes split the ExternalSecrets: each is synced by
// exactly one process, none is left out, each process caches only its shard's
// ExternalSecrets and Secrets, and a shard changes hands without a drop or a double sync
// when a process leaves (stops), joins and is killed. The processes run with their own
// controller class, so the suite's in-process controller leaves their stores alone.
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
	running := map[string]*harness.Process{}
	start := func(name string) *harness.Process {
		p, err := cp.StartVigil(filepath.Join(logDir, name+".log"), flags...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitReady(ctx, waitTimeout); err != nil {
			t.Fatal(err)
		}
		running[name] = p
		return p
	}
	t.Cleanup(func() {
		for _, p := range running {
			p.Stop()
		}
		if t.Failed() {
			for _, n := range []string{"a", "b", "c"} {
				if out, err := os.ReadFile(filepath.Join(logDir, n+".log")); err == nil {
					t.Logf("process %s log:\n%s", n, lastLines(string(out), 40))
				}
			}
		}
	})
	a, b := start("a"), start("b")

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
	// Each ExternalSecret and its Secret carry the shard of the hash of namespace/name, and
	// each process holds in memory only the objects of the shard it leads.
	checkShardLabels(t, ctx, ns, names)
	waitCachesSplit(t, ctx, ns, names, a, b)

	// A tenant relabels an ExternalSecret to move it to the other shard: the label is put
	// back, and the ExternalSecret is still synced by its own shard's leader.
	moved := types.NamespacedName{Namespace: ns, Name: names[0]}
	right := sharding.LabelValue(moved, 2)
	wrong := sharding.LabelValue(types.NamespacedName{Namespace: ns, Name: otherShardName(ns, names, right)}, 2)
	setShardLabel(t, ctx, moved, wrong)
	waitLabel(t, ctx, moved, right)
	syncRound(t, h, ns, names[:1])

	// Leave: b stops, a takes over b's shard: it caches and syncs every ExternalSecret.
	b.Stop()
	delete(running, "b")
	waitShardHolders(t, ctx, leaseNS, func(h []string) bool { return h[0] == h[1] && h[0] != "" })
	waitCachesSplit(t, ctx, ns, names, a)
	if once := exactlyOnce(t, ns, names, func() { syncRound(t, h, ns, names) }, a); len(once[a]) != n {
		t.Errorf("after b stopped, a synced %d of %d ExternalSecrets once", len(once[a]), n)
	}
	var s corev1.Secret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: names[0]}, &s); err != nil || string(s.Data["v"]) != "sharded value" {
		t.Errorf("Secret after the takeover: %v %q", err, s.Data["v"])
	}

	// Join: c starts and takes one shard from a; each ExternalSecret is synced by one of them.
	c := start("c")
	waitShardHolders(t, ctx, leaseNS, func(h []string) bool { return h[0] != "" && h[1] != "" && h[0] != h[1] })
	waitCachesSplit(t, ctx, ns, names, a, c)
	once := exactlyOnce(t, ns, names, func() { syncRound(t, h, ns, names) }, a, c)
	if len(once[a]) == 0 || len(once[c]) == 0 {
		t.Errorf("after c joined, a synced %d and c %d; want both some", len(once[a]), len(once[c]))
	}

	// Kill: c dies without releasing its Lease; a takes its shard when the Lease expires.
	c.Kill()
	delete(running, "c")
	waitShardHolders(t, ctx, leaseNS, func(h []string) bool { return h[0] == h[1] && h[0] != "" })
	waitCachesSplit(t, ctx, ns, names, a)
	if once := exactlyOnce(t, ns, names, func() { syncRound(t, h, ns, names) }, a); len(once[a]) != n {
		t.Errorf("after c was killed, a synced %d of %d ExternalSecrets", len(once[a]), n)
	}
}

// syncRound force-syncs the ExternalSecrets and waits until each has synced again.
func syncRound(t *testing.T, h *harness.T, ns string, names []string) {
	t.Helper()
	previous := map[string]string{}
	for _, name := range names {
		key := types.NamespacedName{Namespace: ns, Name: name}
		es := &esv1.ExternalSecret{}
		if err := cp.Client.Get(t.Context(), key, es); err != nil {
			t.Fatal(err)
		}
		previous[name] = es.Status.SyncedResourceVersion
		h.ForceSync(key)
	}
	for _, name := range names {
		es := h.WaitSyncedSince(types.NamespacedName{Namespace: ns, Name: name}, previous[name])
		if c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s not ready: %s", name, harness.Conditions(es.Status.Conditions))
		}
	}
}

// exactlyOnce runs round and reports which ExternalSecrets each process synced during it
// (from its sync counters); it fails the test for one synced by none or by two.
func exactlyOnce(t *testing.T, ns string, names []string, round func(), ps ...*harness.Process) map[*harness.Process]map[string]bool {
	t.Helper()
	before := map[*harness.Process]map[string]float64{}
	for _, p := range ps {
		before[p] = syncCounts(t, p, ns)
	}
	round()
	out := map[*harness.Process]map[string]bool{}
	for _, p := range ps {
		out[p] = map[string]bool{}
		for name, v := range syncCounts(t, p, ns) {
			if v > before[p][name] {
				out[p][name] = true
			}
		}
	}
	for _, name := range names {
		by := 0
		for _, p := range ps {
			if out[p][name] {
				by++
			}
		}
		if by != 1 {
			t.Errorf("%s synced by %d processes in one round; want exactly one", name, by)
		}
	}
	return out
}

// checkShardLabels checks that each ExternalSecret and its Secret carry its shard.
func checkShardLabels(t *testing.T, ctx context.Context, ns string, names []string) {
	t.Helper()
	for _, name := range names {
		key := types.NamespacedName{Namespace: ns, Name: name}
		want := sharding.LabelValue(key, 2)
		var es esv1.ExternalSecret
		var s corev1.Secret
		if err := cp.Client.Get(ctx, key, &es); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		if es.Labels[sharding.Label] != want || s.Labels[sharding.Label] != want {
			t.Errorf("%s: shard label %q on the ExternalSecret, %q on the Secret; want %q", name, es.Labels[sharding.Label], s.Labels[sharding.Label], want)
		}
	}
}

// waitCachesSplit waits until the processes' caches hold, together, every ExternalSecret
// and Secret of ns once, each process only those of the shards it leads (from their
// vigil_shard_cached_objects metric).
func waitCachesSplit(t *testing.T, ctx context.Context, ns string, names []string, ps ...*harness.Process) {
	t.Helper()
	want := map[string]float64{}
	for _, name := range names {
		want[sharding.LabelValue(types.NamespacedName{Namespace: ns, Name: name}, 2)]++
	}
	var got []map[string]string
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		got = nil
		seen := map[string]int{}
		ok := true
		for _, p := range ps {
			families, err := p.Scrape(ctx)
			if err != nil {
				return false, err
			}
			held := map[string]string{}
			for _, kind := range []string{"ExternalSecret", "Secret"} {
				for _, s := range families.Series(sharding.CachedObjectsMetric, map[string]string{"kind": kind}) {
					held[kind+"/"+s.Labels["shard"]] = fmt.Sprint(s.Value)
					seen[kind+"/"+s.Labels["shard"]]++
					ok = ok && s.Value == want[s.Labels["shard"]]
				}
			}
			got = append(got, held)
		}
		for shard := range want {
			ok = ok && seen["ExternalSecret/"+shard] == 1 && seen["Secret/"+shard] == 1
		}
		return ok && len(seen) == 2*len(want), nil
	})
	if err != nil {
		t.Fatalf("caches per process (kind/shard: objects) %v, want each shard's %v held by one process: %v", got, want, err)
	}
}

// otherShardName returns a name of names whose shard label is not shard.
func otherShardName(ns string, names []string, shard string) string {
	for _, name := range names {
		if sharding.LabelValue(types.NamespacedName{Namespace: ns, Name: name}, 2) != shard {
			return name
		}
	}
	return names[0]
}

// setShardLabel sets an ExternalSecret's shard label, as a tenant with edit rights can.
func setShardLabel(t *testing.T, ctx context.Context, key types.NamespacedName, value string) {
	t.Helper()
	es := &esv1.ExternalSecret{}
	if err := cp.Client.Get(ctx, key, es); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(es.DeepCopy())
	es.Labels[sharding.Label] = value
	if err := cp.Client.Patch(ctx, es, patch); err != nil {
		t.Fatal(err)
	}
}

// waitLabel waits until an ExternalSecret's shard label is value.
func waitLabel(t *testing.T, ctx context.Context, key types.NamespacedName, value string) {
	t.Helper()
	got := ""
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		es := &esv1.ExternalSecret{}
		if err := cp.Client.Get(ctx, key, es); err != nil {
			return false, err
		}
		got = es.Labels[sharding.Label]
		return got == value, nil
	})
	if err != nil {
		t.Fatalf("shard label of %s is %q, want %q: %v", key.Name, got, value, err)
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
	out := map[string]bool{}
	for name, v := range syncCounts(t, p, ns) {
		if v != 0 {
			out[name] = true
		}
	}
	return out
}

// syncCounts returns a process's sync counter of each ExternalSecret of ns it reports.
func syncCounts(t *testing.T, p *harness.Process, ns string) map[string]float64 {
	t.Helper()
	families, err := p.Scrape(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range families.Series(metrics.ExternalSecretSyncCalls, map[string]string{"namespace": ns}) {
		out[s.Labels["name"]] = s.Value
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
