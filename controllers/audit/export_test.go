package audit

// PolicyReportsServed lets the external tests (package audit_test, which may import the test
// harness) call policyReportsServed.
var PolicyReportsServed = (*Auditor).policyReportsServed
