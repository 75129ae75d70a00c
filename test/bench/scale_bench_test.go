package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// Sizes of the scale benchmark; VIGIL_BENCH_SMALL=1 divides them by ten for a quick look.
var (
	coldSmall, coldLarge = 1000, 10000
	unrelatedSecrets     = 50000
	awsExternalSecrets   = 1000
	awsKeys              = 100
)

// floorRounds is how many times the floor and the cold start of 1,000 are measured in
// turn.
const floorRounds = 3

// writers is how many goroutines the benchmark itself writes with, the controller's
// default worker count.
const writers = 16

// BenchmarkScale prints the scale table of docs/performance.md: the API server's write
// floor measured in this run, cold starts of 1,000 and 10,000 ExternalSecrets against it,
// a new ExternalSecret's time to sync while 10,000 refreshes are due (against an idle
// controller), peak memory with and without 50,000 unrelated Secrets, and Secrets Manager
// calls per refresh cycle. The controller runs as its own process (`vigil controller`
// with its shipped defaults), as in a cluster.
func BenchmarkScale(b *testing.B) {
	if os.Getenv("VIGIL_BENCH_SMALL") != "" {
		coldSmall, coldLarge, unrelatedSecrets, awsExternalSecrets = coldSmall/10, coldLarge/10, unrelatedSecrets/10, awsExternalSecrets/10
	}
	ctx := context.Background()
	moto, err := harness.StartMoto()
	if err != nil {
		b.Fatal(err)
	}
	defer moto.Close()
	fmt.Fprintln(os.Stderr, "bench: building vigil (under a minute with a warm Go build cache)")
	if _, err := harness.VigilBinary(); err != nil {
		b.Fatal(err)
	}
	logDir := benchLogDir(b)
	t := &table{}
	step := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

	// Cold starts: the ExternalSecrets exist before the controller starts. coldCalls is
	// what the last one cost the API server per ExternalSecret.
	// cg nil: no memory limit; else the controller runs in that memory cgroup.
	var coldCalls string
	coldStart := func(b *testing.B, n int, name string, cg *harness.MemoryCgroup) (time.Duration, *harness.Process, string) {
		ns := namespace(b, ctx, fmt.Sprintf("cold-%d", n))
		// Emptied at the end of b whatever happens, after its controller stops (cleanups
		// run last first); emptying it again is harmless.
		b.Cleanup(func() { deleteAll(b, ctx, ns) })
		fakeStore(b, ctx, ns, 100)
		step("creating %d ExternalSecrets (controller stopped)", n)
		createExternalSecrets(b, ctx, ns, n, "fake", time.Hour, func(i int) string { return fmt.Sprintf("k%d", i%100) })
		step("cold start of %d ExternalSecrets", n)
		before := apiRequests(b, ctx)
		start := time.Now()
		p := startVigilIn(b, ctx, cg, logDir, name)
		waitAll(b, whileRunning(ctx, p), ns, n, "synced", synced)
		d := time.Since(start)
		coldCalls = perExternalSecret(before, apiRequests(b, ctx), n)
		return d, p, ns
	}
	// The floor, what one process can write to this API server (one Secret create and one
	// status patch per ExternalSecret, with as many writers as the controller's workers),
	// and the cold start of 1,000, in turn, floorRounds times: on two shared cores one
	// measure of a few seconds varies by a tenth either way (floors of 281-351 syncs/s in
	// one process), so the table has the medians, and the cold start's ratio is the median
	// of each round's, which the row lists.
	var floors, colds []time.Duration
	var coldRatios []float64
	for round := range floorRounds {
		step("measuring the API server's write floor (%d Secret creates + status patches), round %d of %d", coldSmall, round+1, floorRounds)
		floorNS := namespace(b, ctx, "floor")
		createExternalSecrets(b, ctx, floorNS, coldSmall, "none", time.Hour, nil)
		floor := measureFloor(b, ctx, floorNS, coldSmall)
		deleteAll(b, ctx, floorNS)
		d1k, p, ns1k := coldStart(b, coldSmall, fmt.Sprintf("cold-%d-%d", coldSmall, round), nil)
		if round == 0 {
			profileHeap(pprofOf[p], fmt.Sprintf("cold-%d", coldSmall))
		}
		p.Stop()
		deleteAll(b, ctx, ns1k)
		floors, colds = append(floors, floor), append(colds, d1k)
		coldRatios = append(coldRatios, float64(d1k)/float64(floor))
	}
	perSync := median(floors) / time.Duration(coldSmall)
	t.row(fmt.Sprintf("%.0f syncs/s (%.0f writes/s)", float64(time.Second)/float64(perSync), 2*float64(time.Second)/float64(perSync)),
		"baseline (median of "+strconv.Itoa(floorRounds)+")", "API write floor (Secret create + status patch, %d writers, seen through a watch)", writers)
	t.row(median(colds).Round(10*time.Millisecond).String(), fmt.Sprintf("%.2f× the floor (median of %s, each against its round's floor)", median(coldRatios), ratios(coldRatios)),
		"cold start, %d ExternalSecrets (fake provider)", coldSmall)

	// The same cold start as in a container with the chart's memory limit (and any other
	// limits asked for), before the unlimited one, whose ExternalSecrets stay for the passes.
	var limitedColdRows []func(d10k time.Duration, rssCold int64)
	limited(b, func(name string, limit int64) {
		what := fmt.Sprintf("cold start, %d ExternalSecrets, in a %s memory limit", coldLarge, mib(limit))
		var d time.Duration
		var rss int64
		row := inLimit(b, t, name, limit, logDir, what, func(b *testing.B, cg *harness.MemoryCgroup) {
			var p *harness.Process
			d, p, _ = coldStart(b, coldLarge, name, cg)
			rss = peakRSS(b, p)
		})
		limitedColdRows = append(limitedColdRows, func(d10k time.Duration, rssCold int64) {
			row(d, rss, fmt.Sprintf("%.2f× the unlimited cold start's time; RSS %+.1f%%", float64(d)/float64(d10k), 100*(float64(rss)/float64(rssCold)-1)))
		})
	})

	d10k, p, ns10k := coldStart(b, coldLarge, fmt.Sprintf("cold-%d", coldLarge), nil)
	rssCold := peakRSS(b, p)
	profileHeap(pprofOf[p], fmt.Sprintf("cold-%d", coldLarge))
	p.Stop()
	t.row(d10k.Round(10*time.Millisecond).String(), ratio(d10k, perSync*time.Duration(coldLarge)), "cold start, %d ExternalSecrets (fake provider)", coldLarge)
	t.row(coldCalls, "floor: 2 (POST secrets, PATCH externalsecrets/status)", "API requests per ExternalSecret, cold start of %d", coldLarge)
	for _, row := range limitedColdRows {
		row(d10k, rssCold)
	}

	// Every refresh due at once, then a new ExternalSecret: the priority lane.
	// cg nil: no memory limit; else the controller runs in that memory cgroup.
	// passCalls is what the last pass cost the API server per ExternalSecret.
	var passCalls string
	refreshPass := func(b *testing.B, name string, cg *harness.MemoryCgroup) (newSync, idleSync, pass time.Duration, rss int64) {
		step("making %d refreshes due", coldLarge)
		since := ageRefreshTimes(b, ctx, ns10k)
		before := apiRequests(b, ctx)
		start := time.Now()
		p := startVigilIn(b, ctx, cg, logDir, name)
		defer p.Stop()
		running := whileRunning(ctx, p)
		newSync = syncOneNew(b, running, ns10k, name+"-new")
		waitAll(b, running, ns10k, coldLarge+1, "refreshed", func(es *esv1.ExternalSecret) bool { return !es.Status.RefreshTime.Time.Before(since) })
		pass = time.Since(start)
		passCalls = perExternalSecret(before, apiRequests(b, ctx), coldLarge)
		idleSync = syncOneNew(b, running, ns10k, name+"-idle")
		rss = peakRSS(b, p)
		profileHeap(pprofOf[p], name)
		return newSync, idleSync, pass, rss
	}
	newSync, idleSync, pass0, rss0 := refreshPass(b, "due-0", nil)
	t.row(newSync.Round(time.Millisecond).String(), fmt.Sprintf("%.1f× an idle controller's %v", float64(newSync)/float64(idleSync), idleSync.Round(time.Millisecond)), "new ExternalSecret synced while %d refreshes are due", coldLarge)
	t.row(pass0.Round(10*time.Millisecond).String(), ratio(pass0, perSync/2*time.Duration(coldLarge))+" (floor: one status patch each)", "refresh pass over %d ExternalSecrets (restart, all due)", coldLarge)
	t.row(passCalls, "floor: 1 (PATCH externalsecrets/status)", "API requests per ExternalSecret, refresh pass")

	// The same pass as in a container with the chart's memory limit (and any other limits
	// asked for), once before the unrelated Secrets exist and once after, so that what they
	// cost is read in the limit the 150 MB target is about.
	type passResult struct {
		pass time.Duration
		rss  int64
	}
	limitedPasses := map[string]passResult{}
	passesInLimits := func(unrelatedN int, suffix string, vs func(name string, r passResult) string) {
		limited(b, func(name string, limit int64) {
			what := fmt.Sprintf("refresh pass, %d unrelated Secrets, in a %s memory limit", unrelatedN, mib(limit))
			var r passResult
			row := inLimit(b, t, name+suffix, limit, logDir, what, func(b *testing.B, cg *harness.MemoryCgroup) {
				_, _, r.pass, r.rss = refreshPass(b, name+suffix, cg)
			})
			row(r.pass, r.rss, vs(name, r))
			limitedPasses[name] = r
		})
	}
	passesInLimits(0, "-pass", func(_ string, r passResult) string {
		return fmt.Sprintf("%.2f× the unlimited pass's time; RSS %+.1f%% than without a limit",
			float64(r.pass)/float64(pass0), 100*(float64(r.rss)/float64(rss0)-1))
	})

	step("creating %d unrelated Secrets", unrelatedSecrets)
	unrelated := namespace(b, ctx, "unrelated")
	createUnrelated(b, ctx, unrelated, unrelatedSecrets)
	_, _, _, rss50k := refreshPass(b, "due-50k", nil)
	noLimit := "no memory limit: the GC's room above the live heap (the 150 MB target: the rows in a memory limit)"
	t.row(mib(rssCold), noLimit, "peak RSS, %d ExternalSecrets, cold start", coldLarge)
	t.row(mib(rss0), "baseline; "+noLimit, "peak RSS, %d ExternalSecrets, refresh pass, 0 unrelated Secrets", coldLarge)
	t.row(mib(rss50k), fmt.Sprintf("%+.1f%%", 100*(float64(rss50k)/float64(rss0)-1)), "peak RSS, same with %d unrelated Secrets", unrelatedSecrets)

	passesInLimits(unrelatedSecrets, "-pass-50k", func(name string, r passResult) string {
		base := limitedPasses[name]
		if base.pass == 0 {
			return "the same limit's pass without them did not finish"
		}
		return fmt.Sprintf("%.2f× the time; RSS %+.1f%% than the same limit's pass without them",
			float64(r.pass)/float64(base.pass), 100*(float64(r.rss)/float64(base.rss)-1))
	})
	deleteAll(b, ctx, ns10k)

	// Secrets Manager calls per refresh cycle, N ExternalSecrets over K keys.
	awsCalls(b, ctx, moto, logDir, t, step)

	fmt.Println()
	fmt.Printf("Vigil scale benchmark (%s, %d CPUs; controller: vigil controller with its defaults)\n", hostInfo(), runtime.NumCPU())
	t.print()
}

// awsCalls measures the Secrets Manager calls of a cold start and of one steady refresh
// cycle of N ExternalSecrets over K keys (refreshInterval 30s).
func awsCalls(b *testing.B, ctx context.Context, moto *harness.Moto, logDir string, t *table, step func(string, ...any)) {
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	for i := range awsKeys {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("bench/k%d", i)), SecretString: aws.String(fmt.Sprintf(`{"v":"%d"}`, i))}); err != nil {
			b.Fatal(err)
		}
	}
	ns := namespace(b, ctx, "aws")
	// Keys of its own: a store without auth would borrow the controller's identity, which
	// the store-ambient-credentials rule refuses.
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-creds"}, StringData: map[string]string{"id": "testing", "secret": "testing"}}
	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{AccessKeyID: esv1.SecretKeySelector{Name: "aws-creds", Key: "id"}, SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"}}}}}},
	}
	for _, o := range []client.Object{creds, store} {
		if err := cp.Client.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	interval := 30 * time.Second
	n := awsExternalSecrets
	createExternalSecrets(b, ctx, ns, n, "aws", interval, func(i int) string { return fmt.Sprintf("bench/k%d", i%awsKeys) })
	step("cold start of %d ExternalSecrets over %d Secrets Manager keys (moto)", n, awsKeys)
	p := startVigil(b, ctx, logDir, "aws")
	defer p.Stop()
	waitAll(b, ctx, ns, n, "synced", synced)
	calls := func() float64 {
		v, err := p.Metric(metrics.ProviderAPICalls, map[string]string{"provider": "AWS/SecretsManager"})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	cold := calls()
	// A cycle's calls come in a burst when the store's grid point is due. Counting from a
	// pause after a burst over three whole intervals, and dividing by three, counts whole
	// cycles: a window that starts at an arbitrary time can hold two bursts or none.
	step("waiting for the refreshes to settle on the store's grid (up to %v), then counting three cycles", 3*interval)
	time.Sleep(interval)
	if !harness.WaitForPause(calls, 5*time.Second, 2*interval) {
		b.Fatalf("Secrets Manager calls did not pause for 5s within %v: the refreshes are not aligned on the store's grid", 2*interval)
	}
	before, requestsBefore := calls(), apiRequests(b, ctx)
	time.Sleep(3 * interval)
	cycle := (calls() - before) / 3
	// The same cycles cost the API server this much per ExternalSecret and cycle: the
	// steady state of a running controller, whose refreshes find their cached copies as
	// its last writes left them.
	perCycle := perExternalSecret(requestsBefore, apiRequests(b, ctx), 3*n)
	target := math.Ceil(float64(awsKeys)/20) + 1
	t.row(fmt.Sprintf("%.0f", cold), fmt.Sprintf("ESO: %d", n), "Secrets Manager calls, cold start, %d ExternalSecrets over %d keys", n, awsKeys)
	t.row(fmt.Sprintf("%.1f", cycle), fmt.Sprintf("target ≤ %.0f (⌈K/20⌉+stores); ESO: %d", target, n), "Secrets Manager calls per refresh cycle, %d ExternalSecrets over %d keys", n, awsKeys)
	t.row(perCycle, "floor: 1 (PATCH externalsecrets/status)", "API requests per ExternalSecret and refresh cycle, %d refreshed every %v", n, interval)
}

// goMemLimitLog is the controller's log line that says it set GOMEMLIMIT from its cgroup.
var goMemLimitLog = regexp.MustCompile(`"Go memory limit set from the container's","GOMEMLIMIT":(\d+)`)

// limited runs f for each limit of VIGIL_BENCH_MEMORY_LIMIT (quantities separated by
// commas, e.g. 143Mi,192Mi) or else the chart's default resources.limits.memory.
func limited(b *testing.B, f func(name string, limit int64)) {
	limits, err := benchMemoryLimits()
	if err != nil {
		b.Fatal(err)
	}
	for i, limit := range limits {
		f(fmt.Sprintf("limited-%d", i), limit)
	}
}

// inLimit runs phase as the sub-benchmark name, with the controller in a memory cgroup of
// its own with limit, so that the phase has its own peak. The controller reads the limit
// from its cgroup and sets GOMEMLIMIT to its --memory-limit-ratio of it. It returns what
// adds the phase's row to the table, once the time and peak RSS phase measured can be
// compared (vs). A limit too small for the work is a result too: the sub-benchmark's
// failure (the controller OOM-killed, or too starved to start) is a "did not finish" row,
// and fails the run after the rest is measured.
func inLimit(b *testing.B, t *table, name string, limit int64, logDir, what string, phase func(b *testing.B, cg *harness.MemoryCgroup)) func(d time.Duration, rss int64, vs string) {
	skipped := func(time.Duration, int64, string) {}
	cg, err := harness.NewMemoryCgroup(fmt.Sprintf("vigil-bench-%d-%s", os.Getpid(), name), limit)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: not measuring under a memory limit: %v\n", err)
		return skipped
	}
	var usage int64
	ok := b.Run(name, func(b *testing.B) {
		phase(b, cg)
		what += " (GOMEMLIMIT " + goMemLimitOf(b, filepath.Join(logDir, name+".log"), limit) + ")"
		if n, err := cg.OOMKills(); err != nil || n > 0 {
			b.Fatalf("the controller was OOM-killed %d times in its %s limit (%v)", n, mib(limit), err)
		}
		if usage, err = cg.PeakUsage(); err != nil {
			b.Fatal(err)
		}
	})
	kills, _ := cg.OOMKills()
	if err := cg.Remove(); err != nil {
		b.Errorf("removing the memory cgroup of %s: %v", name, err)
	}
	if !ok {
		return func(time.Duration, int64, string) {
			t.row("did not finish", fmt.Sprintf("%d OOM kills; the failure is above", kills), "%s", what)
		}
	}
	return func(d time.Duration, rss int64, vs string) {
		t.row(fmt.Sprintf("%s, peak RSS %s (cgroup peak %s)", d.Round(10*time.Millisecond), mib(rss), mib(usage)), vs, "%s", what)
	}
}

// goMemLimitOf is the GOMEMLIMIT the controller logged it set from its cgroup's limit, and
// its share of the limit.
func goMemLimitOf(b *testing.B, logPath string, limit int64) string {
	l, err := os.ReadFile(logPath)
	m := goMemLimitLog.FindSubmatch(l)
	if err != nil || m == nil {
		b.Fatalf("the controller did not set GOMEMLIMIT from its cgroup's limit (log: %v)", err)
	}
	set, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return fmt.Sprintf("%s, %.0f%% of it", mib(set), 100*float64(set)/float64(limit))
}

// benchMemoryLimits are the limits of VIGIL_BENCH_MEMORY_LIMIT or the chart's default one.
func benchMemoryLimits() ([]int64, error) {
	v := os.Getenv("VIGIL_BENCH_MEMORY_LIMIT")
	if v == "" {
		raw, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "charts/vigil/values.yaml"))
		if err != nil {
			return nil, err
		}
		var values struct {
			Resources struct {
				Limits struct {
					Memory string `json:"memory"`
				} `json:"limits"`
			} `json:"resources"`
		}
		if err := yaml.Unmarshal(raw, &values); err != nil {
			return nil, fmt.Errorf("reading the chart's resources.limits.memory: %w", err)
		}
		v = values.Resources.Limits.Memory
	}
	var limits []int64
	for q := range strings.SplitSeq(v, ",") {
		limit, err := resource.ParseQuantity(strings.TrimSpace(q))
		if err != nil {
			return nil, fmt.Errorf("memory limit %q: %w", q, err)
		}
		limits = append(limits, limit.Value())
	}
	return limits, nil
}

type table struct{ rows [][3]string }

// row adds a measure: a description (format with args), its value and what it is
// compared with.
func (t *table) row(value, vs, format string, args ...any) {
	r := [3]string{fmt.Sprintf(format, args...), value, vs}
	t.rows = append(t.rows, r)
	// Printed at once too: a later step that fails on an overloaded machine (a 10,000-object
	// delete timing out) does not lose the figures measured so far.
	fmt.Fprintf(os.Stderr, "bench: | %s | %s | %s |\n", r[0], r[1], r[2])
}

func (t *table) print() {
	fmt.Println("| measure | value | against |")
	fmt.Println("|---|---|---|")
	for _, r := range t.rows {
		fmt.Printf("| %s | %s | %s |\n", r[0], r[1], r[2])
	}
}

// apiRequests reads the API server's request counters by verb and resource.
func apiRequests(b *testing.B, ctx context.Context) map[string]float64 {
	calls, err := cp.APIRequests(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return calls
}

// perExternalSecret says what a pass over n ExternalSecrets cost the API server, from two
// readings of its counters: the requests per ExternalSecret, in all and by verb and
// resource. Watches are left out (one per informer, not per object), and so is what comes
// to less than 0.01 per ExternalSecret (discovery, leases, the benchmark's own list).
func perExternalSecret(before, after map[string]float64, n int) string {
	var parts []string
	total := 0.0
	for _, k := range slices.Sorted(maps.Keys(after)) {
		per := (after[k] - before[k]) / float64(n)
		if strings.HasPrefix(k, "WATCH ") || per < 0.01 {
			continue
		}
		total += per
		parts = append(parts, fmt.Sprintf("%s %.2f", k, per))
	}
	return fmt.Sprintf("%.2f (%s)", total, strings.Join(parts, ", "))
}

// median is the middle value of vs (the upper one of an even count).
func median[T time.Duration | float64](vs []T) T {
	sorted := slices.Clone(vs)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// ratios lists ratios as the table writes them: "1.41×, 1.38×, 1.52×".
func ratios(rs []float64) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%.2f×", r)
	}
	return strings.Join(out, ", ")
}

func ratio(d, floor time.Duration) string {
	return fmt.Sprintf("%.2f× the floor (%v)", float64(d)/float64(floor), floor.Round(10*time.Millisecond))
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func hostInfo() string {
	if out, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "model name") {
				return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
			}
		}
	}
	return "unknown CPU"
}

func namespace(b *testing.B, ctx context.Context, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + prefix + "-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	return ns.Name
}

func fakeStore(b *testing.B, ctx context.Context, ns string, keys int) {
	var data []esv1.FakeProviderData
	for i := range keys {
		data = append(data, esv1.FakeProviderData{Key: fmt.Sprintf("k%d", i), Value: fmt.Sprintf("value-%d", i)})
	}
	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fake"},
		Spec:       esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: data}}},
	}
	if err := cp.Client.Create(ctx, store); err != nil {
		b.Fatal(err)
	}
}

// parallel runs f(0..n-1) on the benchmark's writers.
func parallel(b *testing.B, n int, f func(i int) error) {
	if err := parallelErr(n, f); err != nil {
		b.Fatal(err)
	}
}

// parallelErr is parallel for a goroutine other than the benchmark's: it returns the
// error of a failed f.
func parallelErr(n int, f func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	err, _ := failed.Load().(error)
	return err
}

func createExternalSecrets(b *testing.B, ctx context.Context, ns string, n int, store string, interval time.Duration, key func(int) string) {
	if key == nil {
		key = func(int) string { return "k0" }
	}
	parallel(b, n, func(i int) error {
		return cp.Client.Create(ctx, &esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("es-%05d", i)},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: store},
				RefreshInterval: &metav1.Duration{Duration: interval},
				Data:            []esv1.ExternalSecretData{{SecretKey: "value", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key(i)}}},
			},
		})
	})
}

// measureFloor times what a sync writes, straight to the API server: the Secret and the
// ExternalSecret's status, until the benchmark's watch has seen every status written, as it
// sees the controller's syncs (waitAll). The observer costs the API server an event per
// status written, encoded for it; without it in the floor, the measures would charge it to
// the controller.
func measureFloor(b *testing.B, ctx context.Context, ns string, n int) time.Duration {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writes := make(chan error, 1)
	go func() { writes <- floorWrites(ctx, cancel, ns, n) }()
	waitAll(b, ctx, ns, n, "written (floor)", func(es *esv1.ExternalSecret) bool {
		return es.Status.SyncedResourceVersion == floorVersion
	})
	if err := <-writes; err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// floorVersion marks the status the floor writes.
const floorVersion = "1-floor"

// floorWrites writes the floor's Secrets and statuses; a failure cancels ctx, which ends
// the floor's wait.
func floorWrites(ctx context.Context, cancel func(), ns string, n int) error {
	err := parallelErr(n, func(i int) error {
		name := fmt.Sprintf("es-%05d", i)
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{esv1.LabelManaged: esv1.LabelManagedValue}},
			Data:       map[string][]byte{"value": []byte("value-0")},
		}
		if err := cp.Client.Create(ctx, s); err != nil {
			return err
		}
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		patch := client.MergeFrom(es.DeepCopy())
		es.Status.RefreshTime = metav1.Now()
		es.Status.SyncedResourceVersion = floorVersion
		es.Status.Conditions = []metav1.Condition{{Type: esv1.ConditionReady, Status: metav1.ConditionTrue, Reason: esv1.ReasonSecretSynced, Message: "Secret was synced", LastTransitionTime: metav1.Now()}}
		return cp.Client.Status().Patch(ctx, es, patch)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: a floor write failed:", err)
		cancel()
	}
	return err
}

func startVigil(b *testing.B, ctx context.Context, logDir, name string) *harness.Process {
	return startVigilIn(b, ctx, nil, logDir, name)
}

// startVigilIn is startVigil in the memory cgroup cg (nil: none).
func startVigilIn(b *testing.B, ctx context.Context, cg *harness.MemoryCgroup, logDir, name string) *harness.Process {
	flags, addr := pprofFlags(b)
	logPath := filepath.Join(logDir, name+".log")
	var p *harness.Process
	var err error
	if cg == nil {
		p, err = cp.StartVigil(logPath, flags...)
	} else {
		p, err = cp.StartVigilIn(cg, logPath, flags...)
	}
	if err != nil {
		b.Fatal(err)
	}
	// Stopped at the end of b whatever happens (a cgroup is removed only once empty); a
	// second Stop is harmless.
	b.Cleanup(p.Stop)
	pprofOf[p] = addr
	profileCPU(addr, name)
	if err := p.WaitReady(ctx, 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	return p
}

func synced(es *esv1.ExternalSecret) bool {
	c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
	return c != nil && c.Reason == esv1.ReasonSecretSynced
}

// waitAll watches the ExternalSecrets of ns until n of them satisfy ok, printing progress.
func waitAll(b *testing.B, ctx context.Context, ns string, n int, what string, ok func(*esv1.ExternalSecret) bool) {
	deadline := time.Now().Add(30 * time.Minute)
	done := map[string]bool{}
	count := 0
	// A controller starved of memory can stop making progress without exiting: no change
	// for stallAfter ends the wait.
	lastChange, lastCount := time.Now(), 0
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	// A watch the API server closes (it closes a watcher that falls behind) resumes from the
	// last resourceVersion seen: starting over would have it send all n again, and under load
	// that costs the server more than the controller's work and slows the watch of the
	// benchmark's other measures (the priority lane's new ExternalSecret).
	rv := ""
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			b.Fatalf("waiting for %d ExternalSecrets %s in %s: the controller exited (%d done; see its log)", n, what, ns, count)
		}
		w, err := watcher(b).Watch(ctx, &esv1.ExternalSecretList{},
			&client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
		if err != nil {
			b.Fatal(err)
		}
	events:
		for {
			select {
			case ev, open := <-w.ResultChan():
				if !open {
					break events
				}
				if ev.Type == watch.Error {
					// 410 Gone: the resourceVersion left the server's window; start over.
					if st, isStatus := ev.Object.(*metav1.Status); isStatus && st.Code == http.StatusGone {
						rv = ""
					}
					w.Stop()
					break events
				}
				if o, isObject := ev.Object.(client.Object); isObject {
					rv = o.GetResourceVersion()
				}
				es, isES := ev.Object.(*esv1.ExternalSecret)
				if !isES || ev.Type == watch.Deleted || ev.Type == watch.Bookmark {
					continue
				}
				was, now := done[es.Name], ok(es)
				done[es.Name] = now
				switch {
				case now && !was:
					count++
				case was && !now:
					count--
				}
				if count >= n {
					w.Stop()
					return
				}
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "bench: %d of %d %s\n", count, n, what)
				if count != lastCount {
					lastChange, lastCount = time.Now(), count
				} else if time.Since(lastChange) > stallAfter {
					w.Stop()
					b.Fatalf("waiting for %d ExternalSecrets %s in %s: no progress for %v (%d done as the watch saw it, %s; see the controller's log)",
						n, what, ns, stallAfter, count, doneOnServer(ctx, ns, ok))
				} else if time.Since(lastChange) >= watchQuiet {
					// A watch the API server stopped feeding without closing it looks like no
					// progress (seen once: 9,637 counted while the server had all 10,001): start
					// it again from the last resourceVersion, which replays what it missed.
					w.Stop()
					break events
				}
			}
		}
	}
	b.Fatalf("waiting for %d ExternalSecrets %s in %s: timed out", n, what, ns)
}

// doneOnServer says how many ExternalSecrets of ns satisfy ok as the API server has them
// now: a stalled wait tells a controller that stopped from a watch that did.
func doneOnServer(ctx context.Context, ns string, ok func(*esv1.ExternalSecret) bool) string {
	var list esv1.ExternalSecretList
	if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return fmt.Sprintf("listing them failed: %v", err)
	}
	done := 0
	for i := range list.Items {
		if ok(&list.Items[i]) {
			done++
		}
	}
	return fmt.Sprintf("%d as the API server lists them", done)
}

// benchLogDir is where the controllers' logs go: VIGIL_BENCH_LOGS when set (kept after the
// run, for a failure's "see its log"), else a directory removed after the benchmark.
func benchLogDir(b *testing.B) string {
	if d := os.Getenv("VIGIL_BENCH_LOGS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		return d
	}
	return b.TempDir()
}

// stallAfter is how long waitAll waits without any ExternalSecret changing; after
// watchQuiet without one it starts its watch again.
const (
	stallAfter = 3 * time.Minute
	watchQuiet = 20 * time.Second
)

// whileRunning is ctx, cancelled when p exits (killed for its memory, say), so that a wait
// for its work ends at once instead of at its deadline.
func whileRunning(ctx context.Context, p *harness.Process) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.Exited():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx
}

// ageRefreshTimes moves every status.refreshTime two intervals back, so that every
// ExternalSecret is due for a periodic refresh when the controller starts. It returns the
// time from which a refresh counts (refreshTime has second precision).
func ageRefreshTimes(b *testing.B, ctx context.Context, ns string) time.Time {
	var list esv1.ExternalSecretList
	if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	parallel(b, len(list.Items), func(i int) error {
		es := &list.Items[i]
		patch := client.MergeFrom(es.DeepCopy())
		es.Status.RefreshTime = metav1.NewTime(time.Now().Add(-2 * time.Hour))
		return cp.Client.Status().Patch(ctx, es, patch)
	})
	return time.Now().Truncate(time.Second)
}

// syncOneNew creates one ExternalSecret and returns the time until it is synced.
func syncOneNew(b *testing.B, ctx context.Context, ns, name string) time.Duration {
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "fake"},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			Data:            []esv1.ExternalSecretData{{SecretKey: "value", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k1"}}},
		},
	}
	w, err := watcher(b).Watch(ctx, &esv1.ExternalSecretList{}, client.InNamespace(ns), client.MatchingFields{"metadata.name": name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if err := cp.Client.Create(ctx, es); err != nil {
		b.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if got, ok := ev.Object.(*esv1.ExternalSecret); ok && synced(got) {
			d := time.Since(start)
			// The watch may deliver late when the API server is loaded: the object's own
			// times (second precision) say when the controller synced it.
			c := apimeta.FindStatusCondition(got.Status.Conditions, esv1.ConditionReady)
			fmt.Fprintf(os.Stderr, "bench: %s seen synced after %v; by its times on the API server, synced %v after its creation\n",
				name, d.Round(time.Millisecond), c.LastTransitionTime.Sub(got.CreationTimestamp.Time))
			return d
		}
	}
	b.Fatalf("watch of %s ended before it synced (the controller exited: %v)", name, ctx.Err() != nil)
	return 0
}

func createUnrelated(b *testing.B, ctx context.Context, ns string, n int) {
	payload := []byte(strings.Repeat("x", 1024)) // a small Helm release or token is bigger
	parallel(b, n, func(i int) error {
		return cp.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%05d", i)},
			Data:       map[string][]byte{"data": payload},
		})
	})
}

// deleteAll removes a namespace's ExternalSecrets and Secrets (no garbage collector runs
// in the benchmark's control plane).
// A collection delete of 10,000 objects can outlast the API server's request timeout on a
// loaded machine; the server goes on deleting, and the call is repeated (a few times).
func deleteAll(b *testing.B, ctx context.Context, ns string) {
	for _, obj := range []client.Object{&esv1.ExternalSecret{}, &corev1.Secret{}} {
		var err error
		for range 5 {
			if err = cp.Client.DeleteAllOf(ctx, obj, client.InNamespace(ns)); !apierrors.IsTimeout(err) && !apierrors.IsServerTimeout(err) {
				break
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func watcher(b *testing.B) client.WithWatch {
	w, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func peakRSS(b *testing.B, p *harness.Process) int64 {
	rss, err := p.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	return rss
}
