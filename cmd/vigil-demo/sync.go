package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

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
		objs, err := d.env.Apply(d.ctx, f)
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
		if err := d.waitSynced(name, ""); err != nil {
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

// forceSync sets ESO's force-sync annotation, as `kubectl annotate` does.
func (d *demo) forceSync(name string) error {
	fmt.Printf("$ kubectl annotate es %s -n %s %s=$(date +%%s) --overwrite\n", name, namespace, esv1.AnnotationForceSync)
	return d.env.ForceSync(d.ctx, key(name))
}

// waitSynced waits until the ExternalSecret reports SecretSynced and, when oldHash is
// set, its Secret's data hash differs from oldHash.
func (d *demo) waitSynced(name, oldHash string) error {
	if err := d.waitReason(name, esv1.ReasonSecretSynced); err != nil || oldHash == "" {
		return err
	}
	err := harness.WaitFor(d.ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		hash, err := secretHash(ctx, d.cp.Client, name)
		return err == nil && hash != oldHash, err
	})
	if err != nil {
		return fmt.Errorf("secret/%s still holds the data it had before the rotation: %w", name, err)
	}
	return nil
}

// waitReason waits until the ExternalSecret's Ready condition has the reason.
func (d *demo) waitReason(name, reason string) error {
	fmt.Printf("    waiting for externalsecret/%s to report %s ...\n", name, reason)
	if _, err := d.env.WaitReason(d.ctx, key(name), reason); err != nil {
		return fmt.Errorf("externalsecret/%s: %w", name, err)
	}
	return nil
}

// seedManifests are the seed's YAML files in the order kubectl apply -f would take them.
func seedManifests(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	slices.Sort(files)
	return files, err
}
