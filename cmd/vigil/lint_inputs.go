package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"k8s.io/apimachinery/pkg/runtime"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
)

// lintPolicies compiles the built-in policies with those of the ClusterSecretPolicy files.
func lintPolicies(ctx context.Context, files []string) (*policy.Set, error) {
	var policies []policyv1alpha1.ClusterSecretPolicy
	docs, err := (&reader{}).read(files)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if d.obj.GetKind() != "ClusterSecretPolicy" {
			return nil, fmt.Errorf("%s: %s is not a ClusterSecretPolicy", d.where(), d.obj.GetKind())
		}
		var p policyv1alpha1.ClusterSecretPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.obj.Object, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", d.where(), err)
		}
		policies = append(policies, p)
	}
	return policy.NewSet(ctx, policies)
}

// isRoleARN: s is an IAM role's ARN (arn:PARTITION:iam::ACCOUNT:role/NAME), read by the AWS
// SDK's ARN parser (the guardrails read only such roles from IAM).
func isRoleARN(s string) bool {
	a, err := arn.Parse(s)
	return err == nil && a.Service == "iam" && strings.HasPrefix(a.Resource, "role/")
}

// readRolePolicies reads the IAM policies (--aws-role-policy) and permissions boundaries
// (--aws-role-boundary) of roles, as the guardrails would read them from IAM.
func readRolePolicies(specs, boundaries []string) (policy.StaticIAM, error) {
	iam := policy.StaticIAM{}
	for i, s := range append(append([]string{}, specs...), boundaries...) {
		flagName, boundary := "--aws-role-policy", i >= len(specs)
		if boundary {
			flagName = "--aws-role-boundary"
		}
		role, file, ok := strings.Cut(s, "=")
		if !ok || !isRoleARN(role) {
			return nil, fmt.Errorf("%s %q: want ROLE_ARN=FILE.json, e.g. arn:aws:iam::123456789012:role/app=policy.json",
				flagName, s)
		}
		doc, err := readIAMDocument(flagName, file)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(file)
		if boundary {
			name = "boundary/" + name
		}
		iam[role] = append(iam[role], policy.IAMPolicy{Name: name, Document: doc, Boundary: boundary})
	}
	return iam, nil
}

// readIAMDocument reads a JSON policy document and refuses one IAM would refuse.
func readIAMDocument(flagName, file string) (map[string]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s is not a JSON policy document: %w", flagName, file, err)
	}
	if err := policy.CheckIAMDocument(doc); err != nil {
		return nil, fmt.Errorf("%s: %s is not a policy IAM accepts (MalformedPolicyDocument): %w", flagName, file, err)
	}
	return doc, nil
}
