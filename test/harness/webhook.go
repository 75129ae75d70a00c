package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// WebhookConfiguration is Vigil's ValidatingWebhookConfiguration pointed at a URL (the
// chart points it at the Service). Its CA bundle is left for the controller to inject.
func WebhookConfiguration(name, url string, failurePolicy admissionregistrationv1.FailurePolicyType) *admissionregistrationv1.ValidatingWebhookConfiguration {
	none := admissionregistrationv1.SideEffectClassNone
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.vigil.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url},
			FailurePolicy:           &failurePolicy,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			Rules: []admissionregistrationv1.RuleWithOperations{
				{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{"external-secrets.io"}, APIVersions: []string{"*"}, Resources: []string{"secretstores", "clustersecretstores", "externalsecrets"}}},
				{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{"vigil.dev"}, APIVersions: []string{"*"}, Resources: []string{"clustersecretpolicies"}}},
			},
		}},
	}
}
