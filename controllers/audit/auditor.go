package audit

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
)

// Auditor evaluates everything that exists against the current policies.
type Auditor struct {
	Client client.Client
	// Gate evaluates with operation policy.OpAudit.
	Gate     *policy.Gate
	Metrics  *metrics.Recorder
	Interval time.Duration
	// Active reports whether this replica audits; nil always does. With sharding, the
	// leader of shard 0 does (the manager's leader election is off).
	Active func() bool
	// NoClusterStores: ClusterSecretStores are not reconciled (an installation scoped to
	// one namespace cannot read them); they are not audited and no ClusterPolicyReport is
	// written.
	NoClusterStores bool
	// NoPolicyStatus: this installation sees one namespace only, so its violation counts
	// would overwrite the cluster-wide ones in ClusterSecretPolicy status.violations; it
	// reports through PolicyReports and metrics only.
	NoPolicyStatus bool
	trigger        chan struct{}
	reportCRD      reportCRD // whether the PolicyReport CRD was missing (reportcrd.go)
}

// NewAuditor returns an auditor that runs every interval and when triggered.
func NewAuditor(c client.Client, gate *policy.Gate, rec *metrics.Recorder, interval time.Duration) *Auditor {
	return &Auditor{Client: c, Gate: gate, Metrics: rec, Interval: interval, trigger: make(chan struct{}, 1)}
}

// Trigger asks for an audit soon (coalesced).
func (a *Auditor) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// NeedLeaderElection: one replica audits.
func (a *Auditor) NeedLeaderElection() bool { return true }

// Start runs the audit loop until ctx ends (manager.Runnable).
func (a *Auditor) Start(ctx context.Context) error {
	// The first audit waits a little (at most a minute): after a restart, the sync pass
	// over every ExternalSecret goes first, and an audit of thousands of objects would
	// compete with it for the CPU. Triggers meanwhile are kept and run then.
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(min(a.Interval, time.Minute)):
	}
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	a.Trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-a.trigger:
		}
		if a.Active != nil && !a.Active() {
			continue
		}
		if err := a.Run(ctx); err != nil {
			log.FromContext(ctx).Error(err, "policy audit")
		}
	}
}

// result is one violation of one object.
type result struct {
	v         policy.Violation
	kind      string
	namespace string
	name      string
	uid       string
}

// inventory is what one audit looks at.
type inventory struct {
	stores  esv1.SecretStoreList
	cstores esv1.ClusterSecretStoreList
	ess     esv1.ExternalSecretList
	pss     esv1alpha1.PushSecretList
}

// Run audits once: list, evaluate, then record the metric, the reports and the policies'
// status.
func (a *Auditor) Run(ctx context.Context) error {
	inv, err := a.list(ctx)
	if err != nil {
		return err
	}
	results, audited, err := a.evaluate(ctx, inv)
	if err != nil {
		return err
	}
	a.record(results)
	// A report that cannot be written does not keep the others, or the policy status, back.
	errs := []error{a.writeReports(ctx, results, audited, namespacesOf(inv))}
	if !a.NoPolicyStatus {
		errs = append(errs, a.writePolicyStatus(ctx, results))
	}
	return errors.Join(errs...)
}

// list reads the stores, ExternalSecrets and PushSecrets to audit.
func (a *Auditor) list(ctx context.Context) (*inventory, error) {
	inv := &inventory{}
	lists := []client.ObjectList{&inv.stores, &inv.ess}
	if !a.NoClusterStores {
		lists = append(lists, &inv.cstores)
	}
	for _, l := range lists {
		if err := a.Client.List(ctx, l); err != nil {
			return nil, err
		}
	}
	// A cluster whose CRDs predate PushSecrets has none to audit; the rest is audited. (A
	// CRD deleted after the client mapped it answers NotFound instead of NoMatch.)
	if err := a.Client.List(ctx, &inv.pss); err != nil && !apimeta.IsNoMatchError(err) && !apierrors.IsNotFound(err) {
		return nil, err
	}
	return inv, nil
}

// evaluate judges every object of the inventory. It returns the violations and how many
// objects were audited per namespace ("" for cluster-scoped ones). An ExternalSecret is
// judged without its store's violations: the store is reported once, on its own.
func (a *Auditor) evaluate(ctx context.Context, inv *inventory) ([]result, map[string]int, error) {
	var results []result
	audited := map[string]int{}
	add := func(obj client.Object, kind string, vs []policy.Violation) {
		audited[obj.GetNamespace()]++
		for _, v := range vs {
			results = append(results, result{
				v: v, kind: kind, namespace: obj.GetNamespace(), name: obj.GetName(), uid: string(obj.GetUID()),
			})
		}
	}
	var stores []esv1.GenericStore
	for i := range inv.stores.Items {
		stores = append(stores, &inv.stores.Items[i])
	}
	for i := range inv.cstores.Items {
		stores = append(stores, &inv.cstores.Items[i])
	}
	for _, s := range stores {
		vs, err := a.Gate.Store(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		add(s, s.GetKind(), vs)
	}
	for i := range inv.ess.Items {
		vs, err := a.Gate.ExternalSecret(ctx, &inv.ess.Items[i], nil)
		if err != nil {
			return nil, nil, err
		}
		add(&inv.ess.Items[i], esv1.ExternalSecretKind, vs)
	}
	for i := range inv.pss.Items {
		vs, err := a.Gate.PushSecret(ctx, &inv.pss.Items[i], nil)
		if err != nil {
			return nil, nil, err
		}
		add(&inv.pss.Items[i], policy.PushSecretKind, vs)
	}
	return results, audited, nil
}

func namespacesOf(inv *inventory) []string {
	set := map[string]bool{}
	for _, s := range inv.stores.Items {
		set[s.Namespace] = true
	}
	for _, e := range inv.ess.Items {
		set[e.Namespace] = true
	}
	for _, p := range inv.pss.Items {
		set[p.Namespace] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// record sets vigil_policy_violations from scratch, so that fixed objects drop out.
func (a *Auditor) record(results []result) {
	counts := map[[4]string]float64{}
	for _, r := range results {
		counts[[4]string{r.v.Rule, string(r.v.Action), r.kind, r.namespace}]++
	}
	a.Metrics.PolicyViolations(counts)
}
