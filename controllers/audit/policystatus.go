package audit

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

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
