package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/test/harness"
)

const workloads = 1000

// BenchmarkRollout_OneSecretThousandWorkloads: one managed Secret consumed by 1,000
// opted-in Deployments changes; it reports the time from the change to each workload's
// patch (p50, p99) and the controller's API calls per change, against a baseline of the
// same 1,000 patches sent straight to the API server in this run.
func BenchmarkRollout_OneSecretThousandWorkloads(b *testing.B) {
	ctx := context.Background()
	ns := "bench-rollout"
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db", Labels: map[string]string{esv1.LabelManaged: esv1.LabelManagedValue}},
		Data:       map[string][]byte{"password": []byte("v1")},
	}
	if err := cp.Client.Create(ctx, secret); err != nil {
		b.Fatal(err)
	}
	names := createDeployments(b, ctx, ns, "w", map[string]string{rollout.ReloaderAuto: "true"})

	// Baseline: the raw write rate for the same patches, 5 at a time as Vigil's default
	// rollout concurrency allows.
	baseline := timePatches(b, ctx, ns, names, 5)

	// Vigil, with no debounce so that the delay measured is the controller's own.
	calls := &callCounter{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.Wrap(calls.wrap)
	o := harness.TestOptions()
	o.KubeQPS, o.KubeBurst = 1000, 2000 // measure the controller, not client-go's limiter
	o.Rollout = rollout.Options{Debounce: 0, MinInterval: 0, MaxPerHour: 10, MaxConcurrent: 5}
	rec := harness.Metrics()
	stop, err := harness.StartController(cfg, harness.Registry(rec), rec, o)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	waitBaselines(b, ctx, ns, len(names))

	watcher, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	w, err := watcher.Watch(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	calls.reset()
	b.ResetTimer()
	changed := time.Now()
	secret.Data["password"] = []byte("v2")
	if err := cp.Client.Update(ctx, secret); err != nil {
		b.Fatal(err)
	}
	delays := collectPatches(b, w, len(names), changed)
	b.StopTimer()
	total := calls.total()

	slices.Sort(delays)
	p50, p99 := delays[len(delays)/2], delays[len(delays)*99/100]
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(p99.Seconds(), "p99-s")
	b.ReportMetric(baseline.Seconds(), "baseline-s")
	b.ReportMetric(p99.Seconds()/baseline.Seconds(), "p99/baseline")
	b.ReportMetric(float64(total)/float64(workloads), "api-calls/workload")
	fmt.Printf("rollout: %d workloads, Secret change -> patch p50 %s, p99 %s; baseline (the same %d patches sent directly, 5 at a time) %s; p99/baseline %.2f; controller API calls %d (%s)\n",
		workloads, p50.Round(time.Millisecond), p99.Round(time.Millisecond), workloads, baseline.Round(time.Millisecond), p99.Seconds()/baseline.Seconds(), total, calls.summary())
}

func createDeployments(b *testing.B, ctx context.Context, ns, prefix string, annotations map[string]string) []string {
	var names []string
	var wg sync.WaitGroup
	errs := make(chan error, workloads)
	sem := make(chan struct{}, 20)
	for i := range workloads {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		names = append(names, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			one := int32(1)
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
				Spec: appsv1.DeploymentSpec{
					Replicas: &one,
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
							EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}}}},
					},
				},
			}
			if err := cp.Client.Create(ctx, d); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return names
}

// timePatches patches a pod-template annotation of every Deployment, n at a time, and
// returns how long that took; then it removes the annotation again (not timed).
func timePatches(b *testing.B, ctx context.Context, ns string, names []string, n int) time.Duration {
	patch := func(value string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, n)
		for _, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
				raw := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"bench/baseline":%s}}}}}`, value)
				if err := cp.Client.Patch(ctx, d, client.RawPatch("application/merge-patch+json", []byte(raw))); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	took := patch(`"1"`)
	patch("null")
	return took
}

// waitBaselines waits until the controller recorded the hashes of every workload.
func waitBaselines(b *testing.B, ctx context.Context, ns string, n int) {
	err := harness.WaitFor(ctx, 5*time.Minute, func(ctx context.Context) (bool, error) {
		var list appsv1.DeploymentList
		if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		done := 0
		for _, d := range list.Items {
			if d.Annotations[rollout.AnnotationSecretHashes] != "" {
				done++
			}
		}
		return done == n, nil
	})
	if err != nil {
		b.Fatalf("the controller did not record every baseline: %v", err)
	}
}

// collectPatches returns, for each Deployment, the time from the change to the watch event
// that shows its pod template patched.
func collectPatches(b *testing.B, w watch.Interface, n int, changed time.Time) []time.Duration {
	seen := map[string]time.Duration{}
	timeout := time.After(10 * time.Minute)
	for len(seen) < n {
		select {
		case ev := <-w.ResultChan():
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			if _, done := seen[d.Name]; !done && d.Spec.Template.Annotations[rollout.AnnotationSecretHashes] != "" {
				seen[d.Name] = time.Since(changed)
			}
		case <-timeout:
			b.Fatalf("only %d of %d workloads were rolled", len(seen), n)
		}
	}
	out := make([]time.Duration, 0, n)
	for _, d := range seen {
		out = append(out, d)
	}
	return out
}

// callCounter counts the controller's API requests by verb and resource.
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
	n      atomic.Int64
}

func (c *callCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("watch") != "true" {
			c.n.Add(1)
			key := r.Method + " " + resourceOf(r.URL.Path)
			c.mu.Lock()
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			c.counts[key]++
			c.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (c *callCounter) reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.mu.Unlock()
	c.n.Store(0)
}

func (c *callCounter) total() int64 { return c.n.Load() }

func (c *callCounter) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c.counts[k]))
	}
	return strings.Join(parts, ", ")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resourceOf returns the resource of an API path: /api/v1/namespaces/x/secrets/y -> secrets.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			return parts[i+2]
		}
	}
	return parts[len(parts)-1]
}
