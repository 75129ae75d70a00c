package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vigil-dev/vigil/test/harness"
)

// guardrails shows the audit's PolicyReport of the namespace, then vigil lint refusing the
// seed with a wildcard IAM policy, as it would in CI.
func (d *demo) guardrails() error {
	step("Guardrails: the audit's PolicyReport, and vigil lint on the seed with a wildcard IAM policy",
		"The seed's least-privilege role passes every rule; the same manifests with a Resource \"*\" policy fail lint.")
	fmt.Println("$ kubectl get policyreports -n payments")
	if err := waitReport(d.ctx, d.cp.Client); err != nil {
		return err
	}
	if err := printTable(d.ctx, d.cp, "/apis/wgpolicyk8s.io/v1alpha2/namespaces/payments/policyreports"); err != nil {
		return err
	}
	wildcard := filepath.Join(d.seed, "iam-policy-wildcard.json")
	args := []string{"lint", "--aws-role-policy", "arn:aws:iam::123456789012:role/" + roleName + "=" + wildcard, d.seed}
	fmt.Printf("\n$ vigil %s\n", strings.Join(args, " "))
	lint := exec.Command(filepath.Join(d.root, "bin", "vigil"), args...)
	lint.Stdout, lint.Stderr = os.Stdout, os.Stderr
	// Exit status 1 is lint's "a finding of the failing level"; anything else is not the
	// refusal the step is about.
	var exit *exec.ExitError
	if err := lint.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		return fmt.Errorf("vigil lint did not refuse a wildcard IAM policy with exit status 1 (%v)", err)
	}
	fmt.Println("    exit status 1: a Deny finding fails CI")
	return nil
}

// waitReport waits for the audit's PolicyReport in payments.
func waitReport(ctx context.Context, c client.Client) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("wgpolicyk8s.io/v1alpha2")
	u.SetKind("PolicyReport")
	return harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, key("vigil-policy"), u)
		return err == nil, client.IgnoreNotFound(err)
	})
}

// printDone says how to look around while everything keeps running.
func (d *demo) printDone() {
	step("Done. Look around with kubectl:", "Everything above is still running until the demo stops.")
	fmt.Printf("    export KUBECONFIG=%s\n    kubectl get es,ss,deploy,rs -n payments\n", d.kubeconfig)
	fmt.Printf("    kubectl describe es %s -n payments\n", dbSecret)
	fmt.Printf("    curl -s %s | grep externalsecret\n", d.vigil.MetricsURL)
}
