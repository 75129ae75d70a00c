// Package esobench compares Vigil with the External Secrets Operator on the same work
// (`make bench-eso`): 1,000 ExternalSecrets over 100 Secrets Manager keys in moto, cold and
// over refresh cycles. ESO is built from its Go module at the release hack/tools/eso pins
// (`hack/test-assets.sh eso`), with all its providers, and runs with the flags its users
// tune; Vigil runs with its defaults. Each runs alone against a control plane of its own,
// with its own CRDs, and both reach moto through one counting proxy, so the Secrets Manager
// calls are counted the same way for both.
package esobench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// The work: N ExternalSecrets over K keys, refreshed every interval. VIGIL_BENCH_SMALL=1
// divides N and K by ten for a quick look.
var (
	externalSecrets = 1000
	keys            = 100
	interval        = 30 * time.Second
)

// esoFlags are the flags ESO's users raise for a thousand ExternalSecrets (its defaults are
// one worker and 50 requests/s to the API server), set to Vigil's defaults, so that both
// sides have the same workers and API budget.
var esoFlags = []string{"--concurrent=16", "--client-qps=1000", "--client-burst=2000"}

// writers is how many goroutines create the benchmark's objects.
const writers = 16

type result struct {
	name                   string
	cold                   time.Duration
	coldCalls              int64
	cycleCalls             float64 // the mean of three cycles
	rssCold, rssAfterCycle int64
}

// contender is one controller under test: the CRDs it serves and how it starts.
type contender struct {
	name    string
	crdDirs []string
	start   func(cp *harness.ControlPlane, logPath, awsURL string) (*harness.Process, error)
}

func BenchmarkESOComparison(b *testing.B) {
	log.SetLogger(logr.Discard())
	if os.Getenv("VIGIL_BENCH_SMALL") != "" {
		externalSecrets, keys = externalSecrets/10, keys/10
	}
	esoBin, esoCRDs := esoAssets(b)
	ctx := context.Background()
	moto, err := harness.StartMoto()
	if err != nil {
		b.Fatal(err)
	}
	defer moto.Close()
	proxy := newCountingProxy(b, moto.URL)
	defer proxy.Close()
	createKeys(b, ctx, moto)
	fmt.Fprintln(os.Stderr, "bench-eso: building vigil (under a minute with a warm Go build cache)")
	if _, err := harness.VigilBinary(); err != nil {
		b.Fatal(err)
	}
	logDir := b.TempDir()
	contenders := []contender{
		{name: "Vigil (defaults)", crdDirs: []string{filepath.Join(harness.RepoRoot(), "config", "crd")}, start: startVigil},
		{name: "ESO " + esoVersion(b) + " (" + strings.Join(esoFlags, " ") + ")", crdDirs: []string{esoCRDs},
			start: func(cp *harness.ControlPlane, logPath, awsURL string) (*harness.Process, error) {
				return startESO(cp, esoBin, logPath, awsURL)
			}},
	}
	var results []result
	for _, c := range contenders {
		results = append(results, run(b, ctx, c, proxy, logDir))
	}
	printResults(results)
}

// run measures one contender on a control plane of its own.
func run(b *testing.B, ctx context.Context, c contender, proxy *countingProxy, logDir string) result {
	step := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench-eso: %s: "+format+"\n", append([]any{c.name}, args...)...)
	}
	step("starting a control plane with its CRDs")
	cp, err := harness.StartControlPlaneWithCRDs(c.crdDirs...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ns := setupStore(b, ctx, cp)
	step("creating %d ExternalSecrets over %d keys (controller stopped)", externalSecrets, keys)
	createExternalSecrets(b, ctx, cp, ns)
	r := result{name: c.name}
	proxy.reset()
	start := time.Now()
	p, err := c.start(cp, filepath.Join(logDir, strings.Fields(c.name)[0]+".log"), proxy.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	step("cold start: waiting for %d Ready", externalSecrets)
	waitAllSynced(b, ctx, cp, ns, externalSecrets)
	r.cold, r.coldCalls, r.rssCold = time.Since(start), proxy.calls(), peakRSS(b, p)
	step("waiting a refresh cycle (%v) to settle and a pause in the calls, then counting %d cycles", interval, countedCycles)
	time.Sleep(interval)
	// A controller that refreshes in bursts (Vigil: a store's refreshes share grid points)
	// starts the count right after a burst, so that whole intervals hold whole bursts; one
	// whose calls never pause (ESO: each ExternalSecret refreshes an interval after its own
	// last sync, spread over the cycle) counts whole cycles in whole intervals from any start.
	harness.WaitForPause(func() float64 { return float64(proxy.calls()) }, 5*time.Second, interval)
	before := proxy.calls()
	time.Sleep(countedCycles * interval)
	r.cycleCalls, r.rssAfterCycle = float64(proxy.calls()-before)/countedCycles, peakRSS(b, p)
	return r
}

// countedCycles is how many refresh intervals the calls per cycle are the mean of.
const countedCycles = 3

func printResults(results []result) {
	fmt.Println()
	fmt.Printf("Vigil vs ESO, %d ExternalSecrets over %d Secrets Manager keys (moto), refreshInterval %v (%d CPUs)\n",
		externalSecrets, keys, interval, runtime.NumCPU())
	fmt.Println("| controller | cold start to all Ready | Secrets Manager calls, cold | calls per refresh cycle (mean of 3) | peak RSS, cold | peak RSS, after the cycles |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %v | %d | %.1f | %s | %s |\n", r.name, r.cold.Round(10*time.Millisecond), r.coldCalls, r.cycleCalls,
			mib(r.rssCold), mib(r.rssAfterCycle))
	}
	if len(results) == 2 {
		v, e := results[0], results[1]
		fmt.Printf("\nVigil/ESO: cold start %.2f×, calls cold %.2f×, calls per cycle %.2f×, peak RSS %.2f×\n",
			ratio(float64(v.cold), float64(e.cold)), ratio(float64(v.coldCalls), float64(e.coldCalls)),
			ratio(v.cycleCalls, e.cycleCalls), ratio(float64(v.rssAfterCycle), float64(e.rssAfterCycle)))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// esoAssets returns ESO's binary and CRDs as `hack/test-assets.sh eso` links them.
func esoAssets(b *testing.B) (bin, crds string) {
	bin = filepath.Join(harness.RepoRoot(), "bin", "eso", "external-secrets")
	crds = filepath.Join(harness.RepoRoot(), "bin", "eso", "crds")
	for _, p := range []string{bin, crds} {
		if _, err := os.Stat(p); err != nil {
			b.Fatalf("%s is missing: run `make bench-eso`, which builds ESO first (hack/test-assets.sh eso)", p)
		}
	}
	return bin, crds
}

// esoVersion is the ESO release the benchmark built (hack/tools/eso/go.mod).
func esoVersion(b *testing.B) string {
	v, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "bin", "eso", "VERSION"))
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

func startVigil(cp *harness.ControlPlane, logPath, awsURL string) (*harness.Process, error) {
	os.Setenv("AWS_ENDPOINT_URL", awsURL) // the Vigil process inherits it
	return cp.StartVigil(logPath)
}

// startESO runs ESO's controller (its root command) against cp, with its AWS endpoints at
// awsURL (ESO's own variables) and no leader election, webhook or cert controller.
func startESO(cp *harness.ControlPlane, bin, logPath, awsURL string) (*harness.Process, error) {
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--metrics-addr=" + metricsAddr, "--loglevel=error"}, esoFlags...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "AWS_SECRETSMANAGER_ENDPOINT="+awsURL,
		"AWS_STS_ENDPOINT="+awsURL, "AWS_SSM_ENDPOINT="+awsURL, "AWS_REGION=us-east-1")
	return harness.StartProcess(cmd, logPath, "http://"+metricsAddr+"/metrics")
}

// countingProxy forwards to moto and counts the Secrets Manager calls that pass.
type countingProxy struct {
	*httptest.Server
	n atomic.Int64
}

func newCountingProxy(b *testing.B, upstream string) *countingProxy {
	u, err := url.Parse(upstream)
	if err != nil {
		b.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.") {
			p.n.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	return p
}

func (p *countingProxy) reset()       { p.n.Store(0) }
func (p *countingProxy) calls() int64 { return p.n.Load() }

func createKeys(b *testing.B, ctx context.Context, moto *harness.Moto) {
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	for i := range keys {
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("bench/k%d", i)),
			SecretString: aws.String(fmt.Sprintf(`{"v":"%d"}`, i))})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// setupStore creates a namespace with an AWS SecretStore on static keys (the same manifest
// for both controllers) and returns the namespace.
func setupStore(b *testing.B, ctx context.Context, cp *harness.ControlPlane) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-eso-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "aws-creds"},
		StringData: map[string]string{"id": "testing", "secret": "testing"}}
	store := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "aws"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "aws-creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"}}}}}},
	}
	for _, o := range []client.Object{creds, store} {
		if err := cp.Client.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	return ns.Name
}

func createExternalSecrets(b *testing.B, ctx context.Context, cp *harness.ControlPlane, ns string) {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < externalSecrets; i = int(next.Add(1) - 1) {
				err := cp.Client.Create(ctx, &esv1.ExternalSecret{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("es-%05d", i)},
					Spec: esv1.ExternalSecretSpec{
						SecretStoreRef:  esv1.SecretStoreRef{Name: "aws", Kind: esv1.SecretStoreKind},
						RefreshInterval: &metav1.Duration{Duration: interval},
						Data: []esv1.ExternalSecretData{{SecretKey: "value",
							RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: fmt.Sprintf("bench/k%d", i%keys), Property: "v"}}},
					},
				})
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// waitAllSynced polls the ExternalSecrets of ns until n are Ready with reason SecretSynced
// (ESO's and Vigil's reason alike), printing progress.
func waitAllSynced(b *testing.B, ctx context.Context, cp *harness.ControlPlane, ns string, n int) {
	lastPrint := time.Now()
	err := harness.WaitFor(ctx, 30*time.Minute, func(ctx context.Context) (bool, error) {
		var list esv1.ExternalSecretList
		if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		count := 0
		for i := range list.Items {
			c := apimeta.FindStatusCondition(list.Items[i].Status.Conditions, esv1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue && c.Reason == esv1.ReasonSecretSynced {
				count++
			}
		}
		if time.Since(lastPrint) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "bench-eso: %d of %d Ready\n", count, n)
			lastPrint = time.Now()
		}
		return count >= n, nil
	})
	if err != nil {
		b.Fatalf("waiting for %d ExternalSecrets to be Ready in %s: %v", n, ns, err)
	}
}

func peakRSS(b *testing.B, p *harness.Process) int64 {
	rss, err := p.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	return rss
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
