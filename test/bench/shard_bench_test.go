package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/test/harness"
)

// BenchmarkShards prints the sharding table of docs/performance.md: the peak memory of each
// replica when 1, 2 and 4 replicas (--shard-count) share the ExternalSecrets, against an
// idle controller (the part that does not depend on the objects) measured in the same run.
// Each count of replicas makes one refresh pass over every ExternalSecret (all due at
// start), after a cold start that is not measured, with the shard labels of that count
// (labelShards): the steady state of an installation that runs with it. VIGIL_BENCH_SHARDS sets the number of
// ExternalSecrets (10,000; VIGIL_BENCH_SMALL=1 divides it by ten).
func BenchmarkShards(b *testing.B) {
	n := coldLarge
	if os.Getenv("VIGIL_BENCH_SMALL") != "" {
		n /= 10
	}
	if v, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_SHARDS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	if _, err := harness.VigilBinary(); err != nil {
		b.Fatal(err)
	}
	logDir := benchLogDir(b)
	step := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
	t := &table{}

	step("an idle controller (no ExternalSecret in its namespace)")
	idleNS := namespace(b, ctx, "shard-idle")
	p := startWith(b, ctx, logDir, "shard-idle", "--namespace="+idleNS)
	idle := peakRSS(b, p)
	p.Stop()
	t.row(mib(idle), "baseline", "peak RSS, idle controller (no ExternalSecret)")

	ns := namespace(b, ctx, "shards")
	leases := namespace(b, ctx, "shard-leases")
	fakeStore(b, ctx, ns, 100)
	step("creating %d ExternalSecrets", n)
	createExternalSecrets(b, ctx, ns, n, "fake", time.Hour, func(i int) string { return fmt.Sprintf("k%d", i%100) })
	step("cold start of %d ExternalSecrets on one replica (not measured)", n)
	p = startWith(b, ctx, logDir, "shard-warmup", "--namespace="+ns)
	waitAll(b, ctx, ns, n, "synced", synced)
	p.Stop()

	var one int64
	for _, replicas := range []int{1, 2, 4} {
		step("refresh pass of %d ExternalSecrets on %d replicas", n, replicas)
		rss, cached := shardPass(b, ctx, logDir, ns, leases, n, replicas)
		worst, sum := int64(0), int64(0)
		for _, r := range rss {
			worst, sum = max(worst, r), sum+r
		}
		if replicas == 1 {
			one = worst
		}
		vs := fmt.Sprintf("objects part %.2f of one replica's (1/N = %.2f); mean %s; ExternalSecrets cached per replica ≤ %d",
			float64(worst-idle)/float64(one-idle), 1/float64(replicas), mib(sum/int64(replicas)), cached)
		t.row(mib(worst), vs, "peak RSS per replica (max), %d ExternalSecrets, %d replica(s)", n, replicas)
	}
	deleteAll(b, ctx, ns)

	fmt.Println()
	fmt.Printf("Vigil sharding benchmark (%s, %d CPUs; vigil controller --shard-count=N on N replicas, defaults otherwise)\n", hostInfo(), runtime.NumCPU())
	t.print()
}

// shardPass makes every ExternalSecret of ns due, runs `replicas` controllers until each
// ExternalSecret has refreshed and every shard's objects are cached by one replica, and
// returns each replica's peak RSS and the most ExternalSecrets one replica cached.
func shardPass(b *testing.B, ctx context.Context, logDir, ns, leases string, n, replicas int) ([]int64, int) {
	flags := []string{"--namespace=" + ns, "--leader-election-namespace=" + leases}
	if replicas > 1 {
		flags = append(flags, "--shard-count="+strconv.Itoa(replicas))
		labelShards(b, ctx, ns, replicas)
	}
	since := ageRefreshTimes(b, ctx, ns)
	// Started together, as a Deployment's pods are.
	var procs []*harness.Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for i := range replicas {
		p, err := cp.StartVigil(filepath.Join(logDir, fmt.Sprintf("shards-%d-%d.log", replicas, i)), flags...)
		if err != nil {
			b.Fatal(err)
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.WaitReady(ctx, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(b, ctx, ns, n, "refreshed", func(es *esv1.ExternalSecret) bool { return !es.Status.RefreshTime.Time.Before(since) })
	most := n
	if replicas > 1 {
		most = waitCached(b, ctx, procs, n)
	}
	var rss []int64
	for _, p := range procs {
		rss = append(rss, peakRSS(b, p))
	}
	return rss, most
}

// labelShards writes on every ExternalSecret of ns and its Secret the shard label of count
// shards, as the replicas of an installation running with count shards have left them.
// Without it a pass would start with the previous pass's labels: with 4 shards, the
// ExternalSecrets labelled 0 and 1 by 2 shards would first be cached by the leaders of
// shards 0 and 1, which move them (that change of --shard-count is not what the table
// measures).
func labelShards(b *testing.B, ctx context.Context, ns string, count int) {
	var list esv1.ExternalSecretList
	if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	parallel(b, len(list.Items), func(i int) error {
		key := client.ObjectKeyFromObject(&list.Items[i])
		patch := client.RawPatch(types.MergePatchType,
			fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, sharding.Label, sharding.LabelValue(key, count)))
		if err := cp.Client.Patch(ctx, &list.Items[i], patch); err != nil {
			return err
		}
		// The bench's ExternalSecrets write a Secret of their own name.
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		return client.IgnoreNotFound(cp.Client.Patch(ctx, secret, patch))
	})
}

// waitCached waits until the replicas together cache the n ExternalSecrets (each shard by
// one replica) and returns the most one replica caches.
func waitCached(b *testing.B, ctx context.Context, procs []*harness.Process, n int) int {
	most := 0
	err := harness.WaitFor(ctx, 5*time.Minute, func(ctx context.Context) (bool, error) {
		total, top := 0, 0
		for _, p := range procs {
			v, err := p.Metric(sharding.CachedObjectsMetric, map[string]string{"kind": esv1.ExternalSecretKind})
			if err != nil {
				return false, err
			}
			total, top = total+int(v), max(top, int(v))
		}
		most = top
		return total == n, nil
	})
	if err != nil {
		b.Fatalf("waiting for the replicas to cache the %d ExternalSecrets once: %v", n, err)
	}
	return most
}

// startWith is startVigil with flags.
func startWith(b *testing.B, ctx context.Context, logDir, name string, flags ...string) *harness.Process {
	p, err := cp.StartVigil(filepath.Join(logDir, name+".log"), flags...)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.WaitReady(ctx, 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	return p
}
