package audit

import (
	"context"
	"errors"
	"fmt"
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
	// ExternalSecrets, when set, is where the audit reads ExternalSecrets, pageSize at a time,
	// and judges each page before it reads the next: the API server, when this replica's
	// cache holds only its own shards' ExternalSecrets. A list of every ExternalSecret in one
	// response would cost the auditing replica the memory sharding saves. Nil reads them from
	// Client's cache, without copying them.
	ExternalSecrets client.Reader
	pageSize        int64 // 0: defaultPageSize
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

// defaultPageSize is how many ExternalSecrets the audit reads from the API server at a time:
// the API server's own default page for kubectl, small enough that a page of the largest
// ExternalSecrets (templates up to the CRD's limits) stays a few megabytes.
const defaultPageSize = 500

// result is one violation of one object.
type result struct {
	v         policy.Violation
	kind      string
	namespace string
	name      string
	uid       string
}

// inventory is what one audit looks at, but for the ExternalSecrets, which are read page by
// page while they are judged (eachExternalSecret).
type inventory struct {
	stores  esv1.SecretStoreList
	cstores esv1.ClusterSecretStoreList
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
	errs := []error{a.writeReports(ctx, results, audited, namespacesOf(audited))}
	if !a.NoPolicyStatus {
		errs = append(errs, a.writePolicyStatus(ctx, results))
	}
	return errors.Join(errs...)
}

// list reads the stores and PushSecrets to audit.
func (a *Auditor) list(ctx context.Context) (*inventory, error) {
	inv := &inventory{}
	lists := []client.ObjectList{&inv.stores}
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
	err := a.eachExternalSecret(ctx, func(es *esv1.ExternalSecret) error {
		vs, err := a.Gate.ExternalSecret(ctx, es, nil)
		if err != nil {
			return err
		}
		add(es, esv1.ExternalSecretKind, vs)
		return nil
	})
	if err != nil {
		return nil, nil, err
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

// eachExternalSecret calls fn with every ExternalSecret, read as the ExternalSecrets field
// says. fn must not keep or change the object: a page is dropped once judged, and the cache's
// objects are not copied for it.
func (a *Auditor) eachExternalSecret(ctx context.Context, fn func(*esv1.ExternalSecret) error) error {
	each := func(l *esv1.ExternalSecretList) error {
		for i := range l.Items {
			if err := fn(&l.Items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if a.ExternalSecrets == nil {
		var l esv1.ExternalSecretList
		if err := a.Client.List(ctx, &l, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		return each(&l)
	}
	limit := a.pageSize
	if limit == 0 {
		limit = defaultPageSize
	}
	for cont := ""; ; {
		var l esv1.ExternalSecretList
		err := a.ExternalSecrets.List(ctx, &l, client.Limit(limit), client.Continue(cont))
		if next, ok := expiredContinue(err); ok && cont != "" && next != cont {
			// The audit took longer than etcd keeps the revision it started at (at a
			// cluster's size, starting over would expire again): go on from where it was,
			// at the current revision, as the API server offers.
			cont = next
			continue
		}
		if err != nil {
			return fmt.Errorf("listing ExternalSecrets (a page of %d): %w", limit, err)
		}
		if err := each(&l); err != nil {
			return err
		}
		if cont = l.Continue; cont == "" {
			return nil
		}
	}
}

// expiredContinue returns the continue token that an API server's 410 answer to an expired
// one carries: it goes on with the next page at the current revision.
func expiredContinue(err error) (string, bool) {
	var status apierrors.APIStatus
	if !apierrors.IsResourceExpired(err) || !errors.As(err, &status) {
		return "", false
	}
	next := status.Status().Continue
	return next, next != ""
}

// namespacesOf returns the namespaces that had an object audited (those of audited but the
// cluster scope's "").
func namespacesOf(audited map[string]int) []string {
	var nss []string
	for ns := range audited {
		if ns != "" {
			nss = append(nss, ns)
		}
	}
	slices.Sort(nss)
	return nss
}

// record sets vigil_policy_violations from scratch, so that fixed objects drop out.
func (a *Auditor) record(results []result) {
	counts := map[[4]string]float64{}
	for _, r := range results {
		counts[[4]string{r.v.Rule, string(r.v.Action), r.kind, r.namespace}]++
	}
	a.Metrics.PolicyViolations(counts)
}
