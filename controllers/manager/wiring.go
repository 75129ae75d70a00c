package manager

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/audit"
	"github.com/vigil-dev/vigil/controllers/clusterexternalsecret"
	"github.com/vigil-dev/vigil/controllers/externalsecret"
	"github.com/vigil-dev/vigil/controllers/internal/render"
	"github.com/vigil-dev/vigil/controllers/pushsecret"
	"github.com/vigil-dev/vigil/controllers/secretstore"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// wiring is what New hands each setup step: the manager and the parts the reconcilers
// share.
type wiring struct {
	mgr      ctrl.Manager
	o        Options
	rec      *metrics.Recorder
	direct   client.Client // uncached
	clients  *providers.ClientCache
	policies *policy.Holder
	// gate is the reconcilers' policy gate (operation RECONCILE).
	gate *policy.Gate
	// ctrlOpts and rolloutOpts are the controllers' options; with sharding, their queues
	// take only this replica's shards.
	ctrlOpts, rolloutOpts controller.Options
	shards                *sharding.Shards // nil without sharding
	caches                *sharding.Caches // nil without sharding
	// events returns the event recorder of a reporting controller (events.go).
	events func(name string) events.EventRecorder
}

// setupStores registers one store reconciler per store kind served.
func (w *wiring) setupStores(_ context.Context) error {
	kinds := []func() esv1.GenericStore{func() esv1.GenericStore { return &esv1.SecretStore{} }}
	if w.o.ClusterStores {
		kinds = append(kinds, func() esv1.GenericStore { return &esv1.ClusterSecretStore{} })
	}
	for _, newStore := range kinds {
		r := &secretstore.Reconciler{
			Client: w.mgr.GetClient(), Events: w.events("vigil-" + strings.ToLower(newStore().GetKind())),
			Providers: w.clients, NewStore: newStore, ControllerClass: w.o.ControllerClass, Metrics: w.rec, Gate: w.gate,
		}
		if err := r.SetupWithManager(w.mgr, w.ctrlOpts); err != nil {
			return err
		}
	}
	return nil
}

// setupExternalSecrets registers the ExternalSecret reconciler.
func (w *wiring) setupExternalSecrets(ctx context.Context) error {
	es := &externalsecret.Reconciler{
		Client:          w.mgr.GetClient(),
		APIReader:       w.mgr.GetAPIReader(),
		Events:          w.events("vigil-externalsecret"),
		Providers:       w.clients,
		Jitter:          w.o.RefreshJitter,
		Clock:           clock.RealClock{},
		ControllerClass: w.o.ControllerClass,
		Metrics:         w.rec,
		Gate:            w.gate,
		Templates:       externalsecret.NewTemplateEngine(w.o.TemplateTimeout),
		NoClusterStores: !w.o.ClusterStores,
		ShardCount:      w.o.ShardCount,
	}
	if w.shards != nil {
		w.shards.OnLose(es.ForgetShard)
	}
	return es.SetupWithManager(ctx, w.mgr, w.ctrlOpts)
}

// setupPushSecrets registers the PushSecret reconciler. It shares the provider clients and
// the template engine's limits with the ExternalSecret reconciler.
func (w *wiring) setupPushSecrets(ctx context.Context) error {
	ps := &pushsecret.Reconciler{
		Client:          w.mgr.GetClient(),
		APIReader:       w.mgr.GetAPIReader(),
		Events:          w.events("vigil-pushsecret"),
		Providers:       w.clients,
		Clock:           clock.RealClock{},
		ControllerClass: w.o.ControllerClass,
		Metrics:         w.rec,
		Gate:            w.gate,
		Templates:       render.NewEngine(w.o.TemplateTimeout),
		NoClusterStores: !w.o.ClusterStores,
	}
	return ps.SetupWithManager(ctx, w.mgr, w.ctrlOpts)
}

// setupClusterExternalSecrets registers the ClusterExternalSecret reconciler when it is on.
func (w *wiring) setupClusterExternalSecrets(_ context.Context) error {
	if !w.o.ClusterExternalSecrets {
		return nil
	}
	return (&clusterexternalsecret.Reconciler{Client: w.everyShard()}).SetupWithManager(w.mgr, w.ctrlOpts)
}

// setupPolicies registers the policy controller and the auditor. The auditor has a gate of
// its own, whose inputs say operation AUDIT.
func (w *wiring) setupPolicies(ctx context.Context) error {
	auditGate := &policy.Gate{Builder: w.gate.Builder, Policies: w.policies, Op: policy.OpAudit}
	auditor := audit.NewAuditor(w.mgr.GetClient(), auditGate, w.rec, w.o.AuditInterval)
	if w.caches != nil { // this replica caches its shards' ExternalSecrets only
		auditor.ExternalSecrets = w.direct
	}
	auditor.NoClusterStores, auditor.NoPolicyStatus = !w.o.ClusterStores, w.o.Namespace != ""
	if w.shards != nil {
		auditor.Active = func() bool { return w.shards.Leads(0) }
		w.shards.OnLose(func(shard int) { forgetShard(ctx, w.mgr.GetClient(), w.rec, shard, w.o.ShardCount) })
	}
	if err := w.mgr.Add(auditor); err != nil {
		return err
	}
	policies := &audit.PolicyReconciler{Client: w.mgr.GetClient(), Policies: w.policies, Audit: auditor}
	return policies.SetupWithManager(w.mgr)
}

// startInformersEarly registers, before the manager starts, the informers that the first
// syncs wait for and that no index registers early: the kinds the ExternalSecret controller
// watches besides ExternalSecrets, ClusterSecretPolicies, which the policy gate lists
// before its first judgement, and ClusterExternalSecrets. They then start and sync with the
// manager's cache, not when the controllers start. A controller's start waits for every
// informer of the cache, not only its own (controller-runtime's Kind source): one informer
// registered late (ClusterExternalSecrets were, by their controller) held every controller
// back until it had listed. Registered here, they are also the informers the cache's sync
// waits on without polling (promptCache). A standby replica holds them too. With
// sharding, managed Secrets are cached per shard, when the shard is won.
func (w *wiring) startInformersEarly(ctx context.Context) error {
	kinds := []client.Object{&esv1.SecretStore{}, &corev1.Namespace{}, &policyv1alpha1.ClusterSecretPolicy{}}
	if w.o.ClusterStores {
		kinds = append(kinds, &esv1.ClusterSecretStore{})
	}
	if w.o.ClusterExternalSecrets {
		kinds = append(kinds, &esv1.ClusterExternalSecret{})
	}
	if w.shards == nil {
		kinds = append(kinds, &corev1.Secret{})
	}
	for _, obj := range kinds {
		if _, err := w.mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("registering the %T informer: %w", obj, err)
		}
	}
	return nil
}
