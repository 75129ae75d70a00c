package audit

import "context"

// PolicyReportsServed lets the external tests (package audit_test, which may import the test
// harness) call policyReportsServed.
var PolicyReportsServed = (*Auditor).policyReportsServed

// AuditedObjects runs an audit's reading and judging with pages of pageSize ExternalSecrets
// and returns how many objects were audited per namespace.
func AuditedObjects(ctx context.Context, a *Auditor, pageSize int64) (map[string]int, error) {
	a.pageSize = pageSize
	inv, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	_, audited, err := a.evaluate(ctx, inv)
	return audited, err
}
