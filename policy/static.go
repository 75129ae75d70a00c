package policy

import (
	"context"
	"fmt"
)

// StaticIAM serves role policies from memory: `vigil lint` reads them from files
// (--aws-role-policy ROLE_ARN=FILE.json) instead of asking AWS.
type StaticIAM map[string][]IAMPolicy

// RolePolicies implements RolePolicies.
func (s StaticIAM) RolePolicies(_ context.Context, roleARN string) ([]IAMPolicy, error) {
	ps, ok := s[roleARN]
	if !ok {
		return nil, &IAMUnknownError{Reason: fmt.Sprintf("no --aws-role-policy was given for %s", roleARN)}
	}
	return ps, nil
}
