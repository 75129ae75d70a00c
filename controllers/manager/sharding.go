package manager

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/metrics"
)

// setupSharding splits the objects between replicas when ShardCount > 1: the controllers'
// queues take only the shards this replica leads, and its cache holds only their
// ExternalSecrets and managed Secrets (shardCaches), which a labeller keeps labelled.
func (w *wiring) setupSharding(_ context.Context) error {
	if w.o.ShardCount <= 1 {
		return nil
	}
	var err error
	if w.shards, err = newShards(w.mgr, w.o); err != nil {
		return err
	}
	// The rollouts' queue is not sharded: their events are (rolloutSharding).
	w.ctrlOpts.NewQueue = w.shards.NewQueue
	w.shards.OnAcquire(w.caches.Acquire)
	w.shards.OnRelease(w.caches.Release)
	labeller, err := w.caches.NewLabeller(w.shards, w.mgr.GetClient(), &esv1.ExternalSecret{})
	if err != nil {
		return err
	}
	if err := crmetrics.Registry.Register(w.caches); err != nil && !errors.As(err, &prometheus.AlreadyRegisteredError{}) {
		return err
	}
	return w.mgr.Add(labeller)
}

// shardCaches returns the cache that splits ExternalSecrets (and the Secrets Vigil writes,
// unless rollouts with scope all need every Secret) by shard; nil without sharding.
func shardCaches(o Options) *sharding.Caches {
	if o.ShardCount <= 1 {
		return nil
	}
	kinds := []client.Object{&esv1.ExternalSecret{}}
	if managedSecretsOnly(o) {
		kinds = append(kinds, &corev1.Secret{})
	}
	return sharding.NewCaches(o.ShardCount, kinds...)
}

// wholeView reads ExternalSecrets from the API server, for the few readers that need those
// of every shard (ClusterExternalSecrets' children) while this replica's
// cache holds only its own shards'. Other reads and all writes go to the cache's client.
type wholeView struct {
	client.Client
	direct client.Reader
}

func (v wholeView) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*esv1.ExternalSecret); ok {
		return v.direct.Get(ctx, key, obj, opts...)
	}
	return v.Client.Get(ctx, key, obj, opts...)
}

func (v wholeView) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*esv1.ExternalSecretList); ok {
		return v.direct.List(ctx, list, opts...)
	}
	return v.Client.List(ctx, list, opts...)
}

// rolloutSharding makes each rollout event reconciled by one replica (rollout.Shards), and
// the rollouts read the ExternalSecrets and managed Secrets of every shard from the API
// server (a workload's may be in any shard); nil without sharding.
func (w *wiring) rolloutSharding() func(*rollout.Reconciler) {
	if w.shards == nil {
		return nil
	}
	sources := rolloutSources{Reader: w.mgr.GetClient(), direct: w.direct, secrets: managedSecretsOnly(w.o)}
	return func(r *rollout.Reconciler) { r.Shards, r.Sources = w.shards, sources }
}

// rolloutSources lists ExternalSecrets, and the managed Secrets when the cache is sharded,
// from the API server (the Secrets by their managed label, as the cache selects them).
type rolloutSources struct {
	client.Reader
	direct  client.Reader
	secrets bool
}

func (r rolloutSources) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	switch list.(type) {
	case *esv1.ExternalSecretList:
		return r.direct.List(ctx, list, opts...)
	case *corev1.SecretList:
		if r.secrets {
			managed := client.MatchingLabels{esv1.LabelManaged: esv1.LabelManagedValue}
			return r.direct.List(ctx, list, append(opts, managed)...)
		}
	}
	return r.Reader.List(ctx, list, opts...)
}

// everyShard is the client of the readers that need the objects of every shard.
func (w *wiring) everyShard() client.Client {
	if w.caches == nil {
		return w.mgr.GetClient()
	}
	return wholeView{Client: w.mgr.GetClient(), direct: w.direct}
}

// newShards adds the shard elections to the manager. Their Leases live in the leader
// election namespace (the pod's own in a cluster).
func newShards(mgr ctrl.Manager, o Options) (*sharding.Shards, error) {
	so := o.ShardLease
	so.Count, so.Prefix = o.ShardCount, leaseName(o)
	if so.Namespace = o.LeaderElectNS; so.Namespace == "" {
		ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		if err != nil {
			return nil, errors.New("sharding needs a namespace for its Leases: pass --leader-election-namespace when " +
				"running outside a cluster")
		}
		so.Namespace = strings.TrimSpace(string(ns))
	}
	if so.LeaseDuration == 0 {
		so.LeaseDuration = 15 * time.Second
	}
	if so.RenewDeadline == 0 {
		so.RenewDeadline = 10 * time.Second
	}
	if so.RetryPeriod == 0 {
		so.RetryPeriod = 2 * time.Second
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	if so.Identity == "" {
		so.Identity = host + "_" + string(uuid.NewUUID())
	}
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	shards := sharding.New(so, cs, mgr.GetLogger().WithName("sharding"))
	return shards, mgr.Add(shards)
}

// forgetShard drops the metrics of the ExternalSecrets of a shard this replica no longer
// leads: their new leader reports them, and two series would double-count in alerts.
func forgetShard(ctx context.Context, c client.Client, rec *metrics.Recorder, shard, count int) {
	var list esv1.ExternalSecretList
	if err := c.List(ctx, &list); err != nil {
		return
	}
	for _, es := range list.Items {
		if key := client.ObjectKeyFromObject(&es); sharding.Of(key, count) == shard {
			rec.ForgetExternalSecret(key.Namespace, key.Name)
		}
	}
}
