package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
)

// ReportName is the name of the PolicyReport (per namespace) and ClusterPolicyReport Vigil
// writes.
const ReportName = "vigil-policy"

var (
	reportGroupVersion     = schema.GroupVersion{Group: "wgpolicyk8s.io", Version: "v1alpha2"}
	policyReportGVK        = reportGroupVersion.WithKind("PolicyReport")
	clusterPolicyReportGVK = reportGroupVersion.WithKind("ClusterPolicyReport")
)

// policyReport mirrors the part of wgpolicyk8s.io/v1alpha2 PolicyReport and
// ClusterPolicyReport that Vigil writes (sigs.k8s.io/wg-policy-prototypes is not a Go
// module one can depend on). It is converted to unstructured for the server-side apply, so
// that neither kind needs registering in the scheme.
type policyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Summary           reportSummary  `json:"summary"`
	Results           []reportResult `json:"results"`
}

// reportSummary counts the results by outcome; pass counts the objects with no finding.
type reportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// reportResult is one finding on one object.
type reportResult struct {
	Policy     string                   `json:"policy"`
	Rule       string                   `json:"rule"`
	Result     string                   `json:"result"`
	Message    string                   `json:"message"`
	Source     string                   `json:"source"`
	Timestamp  metav1.Timestamp         `json:"timestamp"`
	Resources  []corev1.ObjectReference `json:"resources"`
	Properties map[string]string        `json:"properties"`
}

// Report results (wgpolicyk8s.io's enum) of each action.
const (
	resultFail = "fail"
	resultWarn = "warn"
)

var resultOf = map[policy.Action]string{policy.Deny: resultFail, policy.Warn: resultWarn, policy.Audit: resultWarn}

// writeReports writes one PolicyReport per namespace that has stores, ExternalSecrets or
// PushSecrets (an empty one when all pass) and the ClusterPolicyReport.
func (a *Auditor) writeReports(
	ctx context.Context, results []result, audited map[string]int, namespaces []string,
) error {
	if !a.policyReportsServed(ctx) {
		return nil
	}
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
		errs = append(errs, a.writeReport(ctx, buildReport(policyReportGVK, ns, audited[ns], byNS[ns], time.Now())))
	}
	if !a.NoClusterStores {
		errs = append(errs, a.writeReport(ctx, buildReport(clusterPolicyReportGVK, "", audited[""], byNS[""], time.Now())))
	}
	return errors.Join(errs...)
}

// buildReport is the report of one namespace ("" for the ClusterPolicyReport): its results
// and their summary.
func buildReport(
	gvk schema.GroupVersionKind, namespace string, audited int, results []result, now time.Time,
) *policyReport {
	flagged := map[string]bool{}
	for _, r := range results {
		flagged[r.kind+"/"+r.name] = true
	}
	report := &policyReport{
		TypeMeta: metav1.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: ReportName, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "vigil"}},
		Summary: reportSummary{Pass: audited - len(flagged)},
		Results: make([]reportResult, 0, len(results)),
	}
	for _, r := range results {
		res := resultOf[r.v.Action]
		if res == resultFail {
			report.Summary.Fail++
		} else {
			report.Summary.Warn++
		}
		report.Results = append(report.Results, reportResult{
			Policy: r.v.Policy, Rule: r.v.Rule, Result: res, Message: r.v.Message, Source: "vigil",
			Timestamp: metav1.Timestamp{Seconds: now.Unix()},
			Resources: []corev1.ObjectReference{{APIVersion: apiVersionOf(r.kind), Kind: r.kind, Name: r.name,
				Namespace: r.namespace, UID: types.UID(r.uid)}},
			Properties: map[string]string{"action": string(r.v.Action), "path": r.v.Path},
		})
	}
	return report
}

// apiVersionOf is the API version a report names an object of kind by: PushSecrets are
// served in v1alpha1 only.
func apiVersionOf(kind string) string {
	if kind == policy.PushSecretKind {
		return esv1alpha1.GroupVersion.String()
	}
	return esv1.GroupVersion.String()
}

// writeReport server-side applies a report, owning all of it.
func (a *Auditor) writeReport(ctx context.Context, report *policyReport) error {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(report)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: obj}
	// Patch(client.Apply), deprecated for client.Apply: the report is converted from a typed struct,
	// which ApplyConfigurationFromUnstructured is documented not to take (zero values look set).
	//nolint:staticcheck // SA1019: see above
	if err := a.Client.Patch(ctx, u, client.Apply, client.FieldOwner("vigil-audit"), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing %s %s/%s: %w", report.Kind, report.Namespace, ReportName, err)
	}
	return nil
}
