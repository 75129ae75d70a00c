package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// esPath is what `kubectl get externalsecrets -n payments` asks for.
const esPath = "/apis/external-secrets.io/v1/namespaces/payments/externalsecrets"

// applySeed applies every manifest of the seed, unchanged.
func (d *demo) applySeed() error {
	step("Applying the seed manifests unchanged (external-secrets.io/v1beta1)",
		"The same files an ESO user has: a namespace, a ServiceAccount for IRSA, a SecretStore, two ExternalSecrets.")
	files, err := seedManifests(d.seed)
	if err != nil {
		return err
	}
	for _, f := range files {
		objs, err := harness.Apply(d.ctx, d.cp.Client, f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			fmt.Printf("    %s/%s %s applied\n", strings.ToLower(o.GetKind()), o.GetName(), o.GetAPIVersion())
		}
	}
	return nil
}

// showSynced waits for both ExternalSecrets and prints what kubectl shows of them.
func (d *demo) showSynced() error {
	step("Waiting for both ExternalSecrets to report SecretSynced",
		"kubectl shows ESO's columns and reasons; the Secrets hold the keys (their values are never printed).")
	for _, name := range []string{dbSecret, appConfig} {
		if err := waitSynced(d.ctx, d.cp.Client, name, ""); err != nil {
			return err
		}
	}
	fmt.Println("\n$ kubectl get externalsecrets -n payments")
	if err := printTable(d.ctx, d.cp, esPath); err != nil {
		return err
	}
	fmt.Println("\n$ kubectl get secretstores -n payments")
	if err := printTable(d.ctx, d.cp, "/apis/external-secrets.io/v1/namespaces/payments/secretstores"); err != nil {
		return err
	}
	for _, name := range []string{dbSecret, appConfig} {
		if _, err := printSecret(d.ctx, d.cp.Client, name); err != nil {
			return err
		}
	}
	return nil
}

// forceSync sets ESO's force-sync annotation, as `kubectl annotate` would.
func (d *demo) forceSync(name string) error {
	fmt.Printf("$ kubectl annotate es %s -n %s %s=$(date +%%s) --overwrite\n", name, namespace, esv1.AnnotationForceSync)
	var es esv1.ExternalSecret
	if err := d.cp.Client.Get(d.ctx, key(name), &es); err != nil {
		return err
	}
	patch := client.MergeFrom(es.DeepCopy())
	if es.Annotations == nil {
		es.Annotations = map[string]string{}
	}
	es.Annotations[esv1.AnnotationForceSync] = fmt.Sprint(time.Now().UnixNano())
	return d.cp.Client.Patch(d.ctx, &es, patch)
}

// waitSynced waits until the ExternalSecret reports SecretSynced and, when oldHash is
// set, its Secret's data hash differs from oldHash.
func waitSynced(ctx context.Context, c client.Client, name, oldHash string) error {
	fmt.Printf("    waiting for externalsecret/%s ...\n", name)
	var es esv1.ExternalSecret
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key(name), &es); err != nil {
			return false, err
		}
		if reason(&es) != esv1.ReasonSecretSynced {
			return false, nil
		}
		if oldHash == "" {
			return true, nil
		}
		var s corev1.Secret
		if err := c.Get(ctx, key(name), &s); err != nil {
			return false, err
		}
		return s.Annotations[esv1.AnnotationDataHash] != oldHash, nil
	})
	if err != nil {
		msg := reason(&es)
		if ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); ready != nil {
			msg += ": " + ready.Message
		}
		return fmt.Errorf("externalsecret/%s did not sync (%s): %w", name, msg, err)
	}
	return nil
}

// waitReason waits until the ExternalSecret's Ready condition has the reason.
func waitReason(ctx context.Context, c client.Client, name, want string) error {
	fmt.Printf("    waiting for externalsecret/%s to report %s ...\n", name, want)
	var es esv1.ExternalSecret
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key(name), &es); err != nil {
			return false, err
		}
		return reason(&es) == want, nil
	})
	if err != nil {
		return fmt.Errorf("externalsecret/%s still reports %q, not %s: %w", name, reason(&es), want, err)
	}
	return nil
}

// reason is the reason of the Ready condition ("" without one).
func reason(es *esv1.ExternalSecret) string {
	if ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); ready != nil {
		return ready.Reason
	}
	return ""
}

// seedManifests are the seed's YAML files in the order kubectl apply -f would take them.
func seedManifests(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	slices.Sort(files)
	return files, err
}
