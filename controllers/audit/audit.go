// Package audit keeps the policies current and reports what already exists against them.
//
// PolicyReconciler compiles the ClusterSecretPolicies into the policy.Set that every
// enforcement point reads; a policy that does not compile is marked Ready=False with the
// compiler's message and leaves the current set in force. Auditor re-evaluates every store
// and ExternalSecret when the policies change and periodically, and writes the results as
// wgpolicyk8s.io PolicyReports (per namespace) and a ClusterPolicyReport, as the
// vigil_policy_violations metric, and as each policy's status.violations.
package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
)

// +kubebuilder:rbac:groups=vigil.dev,resources=clustersecretpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=vigil.dev,resources=clustersecretpolicies/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=wgpolicyk8s.io,resources=policyreports;clusterpolicyreports,verbs=get;list;watch;create;update;patch;delete

// ReportName is the name of the PolicyReport (per namespace) and ClusterPolicyReport Vigil
// writes.
const ReportName = "vigil-policy"

var (
	policyReportGVK        = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"}
	clusterPolicyReportGVK = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "ClusterPolicyReport"}
)

// PolicyReconciler rebuilds the policy set whenever a ClusterSecretPolicy changes.
type PolicyReconciler struct {
	Client   client.Client
	Policies *policy.Holder
	Audit    *Auditor
}

// Reconcile compiles every policy; one that does not compile is marked and left out of
// force (the previous set stays). The new set is put in force before any policy says
// Ready=True, so that "Ready" means the policy already applies to the next admission and
// reconcile.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var list policyv1alpha1.ClusterSecretPolicyList
	if err := r.Client.List(ctx, &list); err != nil {
		return reconcile.Result{}, err
	}
	var good []policyv1alpha1.ClusterSecretPolicy
	compileErrs := make([]error, len(list.Items))
	for i := range list.Items {
		if compileErrs[i] = policy.CheckPolicy(ctx, list.Items[i]); compileErrs[i] == nil {
			good = append(good, list.Items[i])
		}
	}
	set, err := policy.NewSet(ctx, good)
	if err != nil {
		return reconcile.Result{}, err
	}
	r.Policies.Set(set)
	r.Audit.Trigger()
	var errs []error
	for i := range list.Items {
		errs = append(errs, r.markCompiled(ctx, &list.Items[i], compileErrs[i]))
	}
	return reconcile.Result{}, errors.Join(errs...)
}

// markCompiled writes a policy's Ready condition: Compiled, or CompileFailed with the
// compiler's message.
func (r *PolicyReconciler) markCompiled(ctx context.Context, p *policyv1alpha1.ClusterSecretPolicy, compileErr error) error {
	cond := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Compiled", Message: "the policy compiled and is in force", ObservedGeneration: p.Generation}
	if compileErr != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "CompileFailed", compileErr.Error()
	}
	before := p.DeepCopy()
	apimeta.SetStatusCondition(&p.Status.Conditions, cond)
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, p, client.MergeFrom(before)))
}

// SetupWithManager registers the policy controller.
func (r *PolicyReconciler) SetupWithManager(mgr manager.Manager) error {
	return ctrl.ControllerManagedBy(mgr).Named("clustersecretpolicy").For(&policyv1alpha1.ClusterSecretPolicy{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).Complete(r)
}

// Auditor evaluates everything that exists against the current policies.
type Auditor struct {
	Client   client.Client
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

// Run audits once.
func (a *Auditor) Run(ctx context.Context) error {
	var results []result
	var stores esv1.SecretStoreList
	var cstores esv1.ClusterSecretStoreList
	var ess esv1.ExternalSecretList
	lists := []client.ObjectList{&stores, &ess}
	if !a.NoClusterStores {
		lists = append(lists, &cstores)
	}
	for _, l := range lists {
		if err := a.Client.List(ctx, l); err != nil {
			return err
		}
	}
	objects := map[string]int{} // objects audited, by namespace ("" for cluster-scoped)
	add := func(obj client.Object, kind string, vs []policy.Violation) {
		objects[obj.GetNamespace()]++
		for _, v := range vs {
			results = append(results, result{v: v, kind: kind, namespace: obj.GetNamespace(), name: obj.GetName(), uid: string(obj.GetUID())})
		}
	}
	for i := range stores.Items {
		vs, err := a.Gate.Store(ctx, &stores.Items[i])
		if err != nil {
			return err
		}
		add(&stores.Items[i], esv1.SecretStoreKind, vs)
	}
	for i := range cstores.Items {
		vs, err := a.Gate.Store(ctx, &cstores.Items[i])
		if err != nil {
			return err
		}
		add(&cstores.Items[i], esv1.ClusterSecretStoreKind, vs)
	}
	for i := range ess.Items {
		in, err := a.Gate.Builder.ForExternalSecret(ctx, &ess.Items[i], policy.OpAudit)
		if err != nil {
			return err
		}
		vs, err := a.Gate.Policies.Get().Evaluate(ctx, in)
		if err != nil {
			return err
		}
		add(&ess.Items[i], "ExternalSecret", vs)
	}
	a.record(results)
	// A report that cannot be written does not keep the others, or the policy status, back.
	errs := []error{a.writeReports(ctx, results, objects, namespacesOf(stores.Items, ess.Items))}
	if !a.NoPolicyStatus {
		errs = append(errs, a.writePolicyStatus(ctx, results))
	}
	return errors.Join(errs...)
}

func namespacesOf(stores []esv1.SecretStore, ess []esv1.ExternalSecret) []string {
	set := map[string]bool{}
	for _, s := range stores {
		set[s.Namespace] = true
	}
	for _, e := range ess {
		set[e.Namespace] = true
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

// writeReports writes one PolicyReport per namespace that has stores or ExternalSecrets
// (an empty one when all pass) and the ClusterPolicyReport.
func (a *Auditor) writeReports(ctx context.Context, results []result, objects map[string]int, namespaces []string) error {
	byNS := map[string][]result{}
	for _, r := range results {
		byNS[r.namespace] = append(byNS[r.namespace], r)
	}
	var errs []error
	for _, ns := range namespaces {
		var n corev1.Namespace
		if err := a.Client.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil || !n.DeletionTimestamp.IsZero() {
			continue // gone or going: nothing can be written there
		}
		errs = append(errs, a.writeReport(ctx, policyReportGVK, ns, objects[ns], byNS[ns]))
	}
	if !a.NoClusterStores {
		errs = append(errs, a.writeReport(ctx, clusterPolicyReportGVK, "", objects[""], byNS[""]))
	}
	return errors.Join(errs...)
}

var resultOf = map[policy.Action]string{policy.Deny: "fail", policy.Warn: "warn", policy.Audit: "warn"}

// writeReport writes one report. summary.pass counts the audited objects with no finding.
func (a *Auditor) writeReport(ctx context.Context, gvk schema.GroupVersionKind, namespace string, audited int, results []result) error {
	flagged := map[string]bool{}
	for _, r := range results {
		flagged[r.kind+"/"+r.name] = true
	}
	summary := map[string]any{"pass": int64(audited - len(flagged)), "fail": int64(0), "warn": int64(0), "error": int64(0), "skip": int64(0)}
	items := make([]any, 0, len(results))
	now := time.Now()
	for _, r := range results {
		res := resultOf[r.v.Action]
		summary[res] = summary[res].(int64) + 1
		items = append(items, map[string]any{
			"policy":     r.v.Policy,
			"rule":       r.v.Rule,
			"result":     res,
			"message":    r.v.Message,
			"source":     "vigil",
			"timestamp":  map[string]any{"seconds": now.Unix(), "nanos": int64(0)},
			"resources":  []any{map[string]any{"apiVersion": esv1.GroupVersion.String(), "kind": r.kind, "name": r.name, "namespace": r.namespace, "uid": r.uid}},
			"properties": map[string]any{"action": string(r.v.Action), "path": r.v.Path},
		})
	}
	u := &unstructured.Unstructured{Object: map[string]any{"summary": summary, "results": items}}
	u.SetGroupVersionKind(gvk)
	u.SetName(ReportName)
	u.SetNamespace(namespace)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "vigil"})
	//nolint:staticcheck // server-side apply of an unstructured object
	if err := a.Client.Patch(ctx, u, client.Apply, client.FieldOwner("vigil-audit"), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing %s %s/%s: %w", gvk.Kind, namespace, ReportName, err)
	}
	return nil
}

// writePolicyStatus sets each ClusterSecretPolicy's status.violations: the objects it flags.
func (a *Auditor) writePolicyStatus(ctx context.Context, results []result) error {
	flagged := map[string]map[string]bool{}
	for _, r := range results {
		if flagged[r.v.Policy] == nil {
			flagged[r.v.Policy] = map[string]bool{}
		}
		flagged[r.v.Policy][r.kind+"/"+r.namespace+"/"+r.name] = true
	}
	var list policyv1alpha1.ClusterSecretPolicyList
	if err := a.Client.List(ctx, &list); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		p := &list.Items[i]
		n := len(flagged[p.Name])
		if p.Status.Violations == n {
			continue
		}
		before := p.DeepCopy()
		p.Status.Violations = n
		errs = append(errs, client.IgnoreNotFound(a.Client.Status().Patch(ctx, p, client.MergeFrom(before))))
	}
	return errors.Join(errs...)
}
