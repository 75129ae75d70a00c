// Package webhookcert creates and rotates the admission webhook's serving certificate and
// keeps the CA bundle of Vigil's own ValidatingWebhookConfiguration current, with RBAC
// limited to those two objects by name.
//
// It wraps cert-controller's rotator (the library Gatekeeper uses). The rotator reads the
// certificate Secret and the webhook configuration through an informer cache of its own,
// which lists and watches every Secret of the namespace and every ValidatingWebhookConfiguration
// of the cluster; RBAC's resourceNames cannot allow such lists. The API server does apply
// resourceNames to a list or watch whose field selector names one object
// (metadata.name=<name>), so the rotator's requests for these two resources get that field
// selector added (nameScoped): the controller then needs get/list/watch/update/patch on its
// own configuration and certificate Secret only, and cannot touch any other webhook
// configuration — a compromised controller could otherwise point every admission webhook of
// the cluster at itself or drop them.
package webhookcert

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The chart replaces these resourceNames with the release's names (charts/vigil/templates/rbac.yaml).
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;list;watch;update;patch,resourceNames=vigil
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;update;patch,resourceNames=vigil-webhook-cert,namespace=vigil-system

// Options name the certificate Secret and the webhook configuration.
type Options struct {
	// Secret holds the CA and the serving certificate; the controller fills it.
	Secret types.NamespacedName
	// ConfigName is the ValidatingWebhookConfiguration whose CA bundle is kept current.
	ConfigName string
	// CertDir is where the Secret is mounted; DNSName the name the certificate is for.
	CertDir string
	DNSName string
}

// Add registers the rotator with the manager. ready is closed once the certificate is in
// CertDir and the CA is in the webhook configuration. direct is an uncached client: the
// certificate Secret is not in the manager's cache, which has not started yet anyway.
func Add(ctx context.Context, mgr ctrl.Manager, direct client.Client, o Options, ready chan struct{}) error {
	if err := ensureSecret(ctx, direct, o.Secret); err != nil {
		return err
	}
	scoped := &scopedManager{Manager: mgr, cfg: nameScoped(mgr.GetConfig(), map[string]string{
		"validatingwebhookconfigurations": o.ConfigName,
		"secrets":                         o.Secret.Name,
	})}
	return rotator.AddRotator(scoped, &rotator.CertRotator{
		SecretKey:      o.Secret,
		CertDir:        o.CertDir,
		CAName:         "vigil-webhook-ca",
		CAOrganization: "vigil",
		DNSName:        o.DNSName,
		IsReady:        ready,
		Webhooks:       []rotator.WebhookInfo{{Name: o.ConfigName, Type: rotator.Validating}},
	})
}

// ensureSecret creates the certificate Secret empty when the chart has not (the rotator
// fills an existing one). It reads it first: with RBAC limited to its name, create is not
// granted (resourceNames cannot restrict create) and is not needed when it exists.
func ensureSecret(ctx context.Context, direct client.Client, key types.NamespacedName) error {
	if err := direct.Get(ctx, key, &corev1.Secret{}); err == nil || !apierrors.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("reading webhook certificate Secret %s: %w", key, err)
		}
		return nil
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := direct.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating webhook certificate Secret %s: %w", key, err)
	}
	return nil
}

// scopedManager hands the rotator a rest.Config whose list and watch requests name one
// object; everything else is the manager's.
type scopedManager struct {
	ctrl.Manager
	cfg *rest.Config
}

func (m *scopedManager) GetConfig() *rest.Config { return m.cfg }

// nameScoped returns a copy of cfg whose collection requests (list, watch) for the given
// resources carry fieldSelector=metadata.name=<name>, so that the informers built on it
// see only that object and the API server authorizes them against resourceNames.
func nameScoped(cfg *rest.Config, names map[string]string) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if name, ok := names[collectionResource(req)]; ok {
				req = req.Clone(req.Context())
				q := req.URL.Query()
				q.Set("fieldSelector", "metadata.name="+name)
				req.URL.RawQuery = q.Encode()
			}
			return rt.RoundTrip(req)
		})
	})
	return out
}

// collectionResource returns the resource of a GET on a collection
// (/api/v1/namespaces/ns/secrets, /apis/group/version/resource), else "".
func collectionResource(req *http.Request) string {
	if req.Method != http.MethodGet {
		return ""
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:] // api/v1/...
	case len(parts) >= 4 && parts[0] == "apis":
		parts = parts[3:] // apis/group/version/...
	default:
		return ""
	}
	if len(parts) == 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) != 1 {
		return "" // a named object or a subresource
	}
	return parts[0]
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
