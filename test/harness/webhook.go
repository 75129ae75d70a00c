package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// MountSecret does what the kubelet does for a Secret volume: it keeps the Secret's keys
// as files in dir, until ctx ends. Out of cluster, the controller's certificate rotator
// writes the webhook certificate to a Secret and waits for it to appear as files.
func MountSecret(ctx context.Context, c client.Reader, key types.NamespacedName, dir string) {
	go func() {
		for {
			var s corev1.Secret
			if err := c.Get(ctx, key, &s); err == nil {
				for k, v := range s.Data {
					path := filepath.Join(dir, k)
					if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, v) {
						_ = os.WriteFile(path, v, 0o600)
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

// WebhookConfiguration reads the shipped config/webhook manifest and points it at a URL
// (out of cluster there is no Service) with the given failure policy, so that the tests
// exercise the configuration users install.
func WebhookConfiguration(url string, failurePolicy admissionregistrationv1.FailurePolicyType,
) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "webhook", "validatingwebhookconfiguration.yaml"))
	if err != nil {
		return nil, err
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(data, &vwc); err != nil {
		return nil, fmt.Errorf("config/webhook: %w", err)
	}
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
		vwc.Webhooks[i].FailurePolicy = &failurePolicy
	}
	return &vwc, nil
}
