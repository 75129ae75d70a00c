// Package manager wires Vigil's reconcilers into a controller-runtime manager. cmd/vigil
// and the test harness both call it, so the tests run the controller exactly as shipped;
// the provider registry is built by the caller and passed in.
package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	esv1beta1 "github.com/vigil-dev/vigil/api/externalsecrets/v1beta1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// Leader election needs leases (and records an event on them) only in the controller's own
// namespace: controller-gen emits this as a Role, which the chart binds in the release
// namespace. Sharding also lists the replicas' member Leases and deletes those of replicas
// killed long ago.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;create;update;delete,namespace=vigil-system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=vigil-system

// Options configure the controller. The zero value is not useful; start from Defaults.
type Options struct {
	MetricsAddr   string
	ProbeAddr     string
	PprofAddr     string // Go's pprof endpoints; "" or "0" turns them off
	LeaderElect   bool
	LeaderElectNS string
	// LeaderElectID names the leader Lease and prefixes the shard Leases ("" is
	// vigil.dev-controller); ESO's --leader-election-id.
	LeaderElectID string
	Namespace     string // "" watches every namespace
	// ControllerClass selects the stores this controller handles (spec.controller).
	ControllerClass string
	Concurrent      int
	// KubeQPS and KubeBurst bound the controller's requests to the API server.
	KubeQPS   float64
	KubeBurst int
	ClientTTL time.Duration // how long a provider client is reused
	// Reads configure every store's read path: its token bucket and batching window.
	Reads          providers.ReaderOptions
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	RefreshJitter  float64
	// TemplateTimeout is the deadline of all the templates of one ExternalSecret.
	TemplateTimeout time.Duration
	// SkipNameValidation lets one process run several managers (tests).
	SkipNameValidation bool
	// Rollouts turns the rollout controllers on; off, the controller needs no RBAC on
	// workloads (charts/vigil's rollouts.enabled).
	Rollouts bool
	// Rollout bounds the rollouts of workloads after Secret changes.
	Rollout rollout.Options
	// ClusterStores and ClusterExternalSecrets turn the reconcilers of these cluster-scoped
	// kinds on (ESO's --enable-cluster-store-reconciler and
	// --enable-cluster-external-secret-reconciler). An installation scoped to one namespace
	// with a Role turns both off: it cannot read them.
	ClusterStores          bool
	ClusterExternalSecrets bool
	// IAM reads role policies for the guardrails; nil reports IAM as unknown.
	IAM policy.RolePolicies
	// AuditInterval between full policy audits (they also run when policies change).
	AuditInterval time.Duration
	// Webhook serves the validating admission webhook.
	Webhook WebhookOptions
	// Shards splits the objects between replicas (ShardCount > 1); each shard has a
	// leader, and the manager-wide leader election is off.
	ShardCount int
	// ShardLease sets the Leases' timings, of the leader election and of the shards (ESO's
	// --leader-election-lease-duration, -renew-deadline, -retry-period); zero uses
	// controller-runtime's (15s, 10s, 2s).
	ShardLease sharding.Options
}

// WebhookOptions configure the admission webhook and its serving certificate.
type WebhookOptions struct {
	Enabled bool
	Host    string
	Port    int
	CertDir string
	// CertSecret (namespace/name), when set, makes the controller create and rotate the
	// serving certificate in that Secret (mounted at CertDir) and inject its CA into the
	// ValidatingWebhookConfiguration ConfigName. Empty: the certificate is provided (e.g. by
	// cert-manager).
	CertSecret string
	DNSName    string
	ConfigName string
}

// Defaults returns the options `vigil controller` starts from.
func Defaults() Options {
	return Options{
		MetricsAddr: ":8080",
		ProbeAddr:   ":8081",
		// Most of a sync is waiting on the API server and the backend, so workers are
		// cheap; 16 keep a 2-core API server busy (docs/performance.md).
		Concurrent: 16,
		// client-go's default (5 QPS, burst 10) would cap a cold start of 10,000
		// ExternalSecrets (two writes each) at over an hour, and 200 (the default until
		// 2026-12) held it at 200 a second while the benchmark's API server took 270: the
		// limit is a backstop against a runaway loop, and API Priority and Fairness, on in
		// every supported Kubernetes, shares the server among its clients.
		KubeQPS:                1000,
		KubeBurst:              2000,
		ClientTTL:              10 * time.Minute,
		Reads:                  providers.DefaultReaderOptions(),
		RetryBaseDelay:         500 * time.Millisecond,
		RetryMaxDelay:          5 * time.Minute,
		RefreshJitter:          0.05,
		TemplateTimeout:        2 * time.Second,
		ControllerClass:        "default",
		Rollouts:               true,
		Rollout:                rollout.DefaultOptions(),
		ClusterStores:          true,
		ClusterExternalSecrets: true,
		AuditInterval:          10 * time.Minute,
	}
}

// NewScheme returns a scheme with the Kubernetes types and every API Vigil serves.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adds := []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, esv1.AddToScheme, esv1beta1.AddToScheme, esv1alpha1.AddToScheme,
		policyv1alpha1.AddToScheme, genv1alpha1.AddToScheme,
	}
	for _, add := range adds {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// New builds a manager with every reconciler registered.
func New(
	ctx context.Context, cfg *rest.Config, registry *providers.Registry, rec *metrics.Recorder, o Options,
) (ctrl.Manager, error) {
	cfg = withClientLimits(cfg, o)
	caches := shardCaches(o)
	mgr, err := newManager(cfg, o, caches)
	if err != nil {
		return nil, err
	}
	// Providers read credential Secrets and mint tokens rarely (clients are cached), and
	// those Secrets are not in the label-filtered cache; nor is the webhook certificate
	// Secret. They are read through this one uncached client.
	direct, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	policies, err := policy.NewHolder(ctx)
	if err != nil {
		return nil, err
	}
	evs, err := eventRecorders(ctx, cfg, mgr.GetScheme())
	if err != nil {
		return nil, err
	}
	w := &wiring{
		mgr: mgr, o: o, rec: rec, direct: direct, policies: policies, caches: caches, events: evs,
		clients: providers.NewClientCache(registry, direct, o.ClientTTL, o.Reads),
		gate: &policy.Gate{
			Builder:  &policy.Builder{Client: mgr.GetClient(), IAM: o.IAM, Stores: &policy.StoreInputs{}},
			Policies: policies, Memo: policy.NewStoreMemo(storeVerdictTTL),
		},
		ctrlOpts:    controller.Options{MaxConcurrentReconciles: o.Concurrent, RateLimiter: rateLimiter(o)},
		rolloutOpts: controller.Options{MaxConcurrentReconciles: max(o.Rollout.MaxConcurrent, 1)},
	}
	steps := []func(context.Context) error{
		w.setupSharding, w.setupStores, w.setupExternalSecrets, w.setupClusterExternalSecrets,
		w.setupPushSecrets, w.setupRollouts, w.setupWebhook, w.setupPolicies, w.startInformersEarly,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

// storeVerdictTTL is how long the reconcilers reuse a store's policy verdict (at the same
// resourceVersion and policies): a cold start of 10,000 ExternalSecrets of one store judged
// the store 10,000 times, half the policy work.
const storeVerdictTTL = 10 * time.Second

// withClientLimits returns cfg with the controller's QPS and burst towards the API server.
func withClientLimits(cfg *rest.Config, o Options) *rest.Config {
	if o.KubeQPS <= 0 {
		return cfg
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeQPS), max(o.KubeBurst, 1)
	return cfg
}

// newManager builds the controller-runtime manager with its cache (split by shard when
// caches is not nil), leader election and health checks.
func newManager(cfg *rest.Config, o Options, caches *sharding.Caches) (ctrl.Manager, error) {
	if err := o.Rollout.Validate(); err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	mgrOpts := ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOptions(o),
		Client:                  clientOptions(o),
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElect && o.ShardCount <= 1,
		LeaderElectionID:        leaseName(o),
		LeaderElectionNamespace: o.LeaderElectNS,
		LeaseDuration:           nonZero(o.ShardLease.LeaseDuration),
		RenewDeadline:           nonZero(o.ShardLease.RenewDeadline),
		RetryPeriod:             nonZero(o.ShardLease.RetryPeriod),
		Controller: config.Controller{SkipNameValidation: &o.SkipNameValidation,
			CacheSyncTimeout: cacheSyncTimeout},
	}
	mgrOpts.NewCache = promptly(cache.New)
	if caches != nil {
		mgrOpts.NewCache = caches.NewCache
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready means able to serve: the informer caches have synced (the webhook and the
	// reconcilers read from them), and with the webhook on, it is serving (see setupWebhook).
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr.GetCache())); err != nil {
		return nil, err
	}
	return mgr, nil
}

// cacheSyncTimeout is how long a controller waits for its informers' first sync before the
// process gives up and exits. controller-runtime's two minutes were too short in a tight
// memory limit: 10,000 ExternalSecrets in 143 MiB synced slowly while the kernel re-read the
// binary's pages, and the exit threw that work away for a restart that lists everything
// again (docs/performance.md, Memory). Readiness (the informers check) still reports a
// controller that has not synced.
const cacheSyncTimeout = 10 * time.Minute

// cacheOptions: what the informer cache holds.
func cacheOptions(o Options) cache.Options {
	cacheOpts := cache.Options{
		// Managed fields are a large share of each object and Vigil never reads them.
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{}}
	cacheOpts.ByObject[&corev1.Secret{}] = secretCache(o)
	cacheOpts.ByObject[&esv1.ExternalSecret{}] = externalSecretCache()
	if o.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
		// Namespaces are cluster-scoped: without this the cache would list them all, which a
		// namespace-scoped installation's RBAC (get on its own namespace) does not allow.
		own := fields.OneTermEqualSelector("metadata.name", o.Namespace)
		cacheOpts.ByObject[&corev1.Namespace{}] = cache.ByObject{Field: own}
	}
	return cacheOpts
}

// managedSecretsOnly: the cache holds only the Secrets Vigil writes, unless rollouts with
// scope all read every Secret a workload references.
func managedSecretsOnly(o Options) bool { return !o.Rollouts || o.Rollout.Scope != rollout.ScopeAll }

// secretCache: the Secrets the cache holds, and what of them. Only those Vigil writes:
// clusters have many large Secrets (Helm releases, tokens) that the controller never reads;
// rollouts with scope all read every Secret a workload references, as Reloader does. And of
// each, its metadata and the hash of its values, never the values or keys: the controllers
// compare hashes, and code that needs values reads the API server. Secrets with the same
// labels share one map of them (labelSets).
func secretCache(o Options) cache.ByObject {
	strip := cache.TransformStripManagedFields()
	sets := &labelSets{}
	c := cache.ByObject{Transform: func(obj any) (any, error) {
		obj, err := strip(obj)
		if err != nil {
			return obj, err
		}
		if s, ok := obj.(*corev1.Secret); ok {
			s.Labels = sets.shared(s.Labels)
		}
		return secrethash.StripValues(obj)
	}}
	if managedSecretsOnly(o) {
		c.Label = labels.SelectorFromSet(labels.Set{esv1.LabelManaged: esv1.LabelManagedValue})
	}
	return c
}

// externalSecretCache: ExternalSecrets are cached without kubectl's
// last-applied-configuration annotation, a second copy of the whole object that client-side
// apply (kubectl apply, Argo CD's default) writes on each and that the controller never
// reads (it is left out of status.syncedResourceVersion too).
func externalSecretCache() cache.ByObject {
	strip := cache.TransformStripManagedFields()
	return cache.ByObject{Transform: func(obj any) (any, error) {
		obj, err := strip(obj)
		if m, ok := obj.(metav1.Object); ok && err == nil {
			if a := m.GetAnnotations(); a != nil {
				delete(a, corev1.LastAppliedConfigAnnotation)
			}
		}
		return obj, err
	}}
}

// clientOptions keeps reads of ClusterSecretStores out of the cache when they are not
// reconciled: an ExternalSecret naming one then fails at once with the API server's answer
// (forbidden under a namespace's Role) instead of waiting on an informer that may not list.
func clientOptions(o Options) client.Options {
	if o.ClusterStores {
		return client.Options{}
	}
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&esv1.ClusterSecretStore{}}}}
}

// leaseName is the leader election Lease's name.
func leaseName(o Options) string {
	if o.LeaderElectID != "" {
		return o.LeaderElectID
	}
	return "vigil.dev-controller"
}

// nonZero is nil for zero (controller-runtime's default) and d otherwise.
func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// cacheSynced reports ready once every informer the manager started has synced. Before the
// manager starts its caches the wait ends with the request's short deadline.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced yet")
		}
		return nil
	}
}

// rateLimiter backs off failing objects per item, from RetryBaseDelay up to RetryMaxDelay.
// An outage of a backend used by thousands of ExternalSecrets does not become a retry storm
// against it: each store's token bucket (providers.Reader) paces its calls. There is no
// overall bucket here: the priority queue asks the limiter on every rate-limited add, also
// for objects already queued, so a shared bucket's delay grew without bound while many
// objects failed, and an object that could recover waited minutes for its turn
// (controller-runtime's own default for the priority queue has no bucket either).
func rateLimiter(o Options) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](o.RetryBaseDelay, o.RetryMaxDelay)
}
