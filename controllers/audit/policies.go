package audit

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/status"
	"github.com/vigil-dev/vigil/policy"
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
func (r *PolicyReconciler) markCompiled(
	ctx context.Context, p *policyv1alpha1.ClusterSecretPolicy, compileErr error,
) error {
	before := p.DeepCopy()
	if compileErr != nil {
		status.SetReady(&p.Status.Conditions, p.Generation, metav1.ConditionFalse, policyv1alpha1.ReasonCompileFailed,
			compileErr.Error())
	} else {
		status.SetReady(&p.Status.Conditions, p.Generation, metav1.ConditionTrue, policyv1alpha1.ReasonCompiled,
			"the policy compiled and is in force")
	}
	return status.Patch(ctx, r.Client, before, p, policyStatus)
}

func policyStatus(p *policyv1alpha1.ClusterSecretPolicy) policyv1alpha1.ClusterSecretPolicyStatus {
	return p.Status
}

// SetupWithManager registers the policy controller.
func (r *PolicyReconciler) SetupWithManager(mgr manager.Manager) error {
	return ctrl.ControllerManagedBy(mgr).Named("clustersecretpolicy").For(&policyv1alpha1.ClusterSecretPolicy{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).Complete(r)
}
