package manager

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/metrics"
)

// setupSharding splits the objects between replicas when ShardCount > 1: the controllers'
// queues take only the shards this replica leads.
func (w *wiring) setupSharding(_ context.Context) error {
	if w.o.ShardCount <= 1 {
		return nil
	}
	var err error
	if w.shards, err = newShards(w.mgr, w.o); err != nil {
		return err
	}
	w.ctrlOpts.NewQueue, w.rolloutOpts.NewQueue = w.shards.NewQueue, w.shards.NewQueue
	return nil
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
