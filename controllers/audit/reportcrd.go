package audit

import (
	"context"
	"sync/atomic"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// reportCRD remembers whether the cluster lacked the PolicyReport API at the last audit, so
// that a cluster without the wgpolicyk8s.io CRDs gets one clear log line (and another once
// they are installed) instead of a write error on every audit.
type reportCRD struct{ missing atomic.Bool }

// policyReportsServed reports whether the cluster serves wgpolicyk8s.io/v1alpha2
// PolicyReports, and logs when that changes. Only "no such kind" counts as missing: any
// other discovery error lets the writes run and report it.
func (a *Auditor) policyReportsServed(ctx context.Context) bool {
	_, err := a.Client.RESTMapper().RESTMapping(policyReportGVK.GroupKind(), policyReportGVK.Version)
	missing := apimeta.IsNoMatchError(err)
	switch was := a.reportCRD.missing.Swap(missing); {
	case missing && !was:
		log.FromContext(ctx).Info("PolicyReports are not written: the cluster has no wgpolicyk8s.io/v1alpha2 " +
			"PolicyReport CRD. The findings stay in the vigil_policy_violations metric and the " +
			"ClusterSecretPolicies' status; install the CRDs with the chart's policyReports.installCRD=true " +
			"(see docs/install.md) to get the reports.")
	case was && !missing:
		log.FromContext(ctx).Info("the PolicyReport CRD is installed now: the audit writes PolicyReports again")
	}
	return !missing
}
