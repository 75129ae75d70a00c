package manager

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/vigil-dev/vigil/controllers/webhookcert"
	"github.com/vigil-dev/vigil/policy"
)

// setupWebhook serves the validating webhook at /validate. With a CertSecret, the serving
// certificate is created and rotated by controllers/webhookcert, and the server starts once
// the certificate is in place.
func (w *wiring) setupWebhook(ctx context.Context) error {
	if !w.o.Webhook.Enabled {
		return nil
	}
	mgr, o := w.mgr, w.o.Webhook
	// The webhook decides on what the API server holds now: a ServiceAccount or namespace
	// annotation written a moment before the store may not be in the cache yet, and judging
	// the store without it would admit a role the rules deny (the IRSA role lives on the
	// ServiceAccount). Admission is rare next to reconciles, so the direct reads cost little.
	v := &policy.Validator{Builder: &policy.Builder{Client: w.direct, IAM: w.o.IAM}, Policies: w.policies}
	server := webhook.NewServer(webhook.Options{Host: o.Host, Port: o.Port, CertDir: o.CertDir})
	server.Register("/validate", &webhook.Admission{Handler: v})
	// With failurePolicy Fail the API server refuses objects while no replica serves: a pod
	// is ready only once its webhook answers TLS with the current certificate.
	if err := mgr.AddReadyzCheck("webhook", server.StartedChecker()); err != nil {
		return err
	}
	if o.CertSecret == "" {
		return mgr.Add(server)
	}
	ns, name, ok := strings.Cut(o.CertSecret, "/")
	if !ok {
		return fmt.Errorf("webhook certificate Secret %q: want namespace/name", o.CertSecret)
	}
	ready := make(chan struct{})
	err := webhookcert.Add(ctx, mgr, w.direct, webhookcert.Options{
		Secret:     types.NamespacedName{Namespace: ns, Name: name},
		ConfigName: o.ConfigName, CertDir: o.CertDir, DNSName: o.DNSName,
	}, ready)
	if err != nil {
		return fmt.Errorf("setting up webhook certificate rotation: %w", err)
	}
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		select {
		case <-ready:
		case <-ctx.Done():
			return nil
		}
		return server.Start(ctx)
	}))
}
