// Package audit keeps the policies current and reports what already exists against them.
//
// PolicyReconciler (policies.go) compiles the ClusterSecretPolicies into the policy.Set that
// every enforcement point reads; a policy that does not compile is marked Ready=False with
// the compiler's message and leaves the current set in force. Auditor (auditor.go)
// re-evaluates every store, ExternalSecret and PushSecret when the policies change and
// periodically, and writes the results as wgpolicyk8s.io PolicyReports (per namespace) and a
// ClusterPolicyReport (report.go), as the vigil_policy_violations metric, and as each
// policy's status.violations (policystatus.go).
package audit

// +kubebuilder:rbac:groups=vigil.dev,resources=clustersecretpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=vigil.dev,resources=clustersecretpolicies/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=wgpolicyk8s.io,resources=policyreports;clusterpolicyreports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets,verbs=get;list;watch
