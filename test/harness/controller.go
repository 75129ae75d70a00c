package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/builtin"
)

// Metrics returns the process's metrics recorder, registered with controller-runtime's
// registry as `vigil controller` does (one per process; later calls share it).
func Metrics() *metrics.Recorder {
	rec, err := metrics.New(crmetrics.Registry)
	if err != nil {
		panic(err)
	}
	return rec
}

// Registry is the provider registry `vigil controller` ships.
func Registry(rec *metrics.Recorder) *providers.Registry {
	return RegistryWithEndpointTimeout(rec, "", 0)
}

// LoopbackHTTP is what the test controllers allow over plain http: the Vault dev server
// listens on http://127.0.0.1 (`--allow-insecure-store-hosts=127.0.0.1`). Every other host
// must still be https, as in production.
var LoopbackHTTP = []string{"127.0.0.1"}

// RegistryForControlPlane is Registry for a controller that talks to apiServer (its
// rest.Config Host): Kubernetes stores that name that server may send it tokens with the
// API server's own audience.
// Options, when given, change the registry's options further (a suite's local GCP
// endpoint).
func RegistryForControlPlane(rec *metrics.Recorder, apiServer string,
	options ...func(*builtin.Options)) *providers.Registry {
	o := builtin.Options{Observe: rec.ProviderCall, AllowHTTPHosts: LoopbackHTTP, LocalAPIServer: apiServer,
		AzureTransport: azureTransport()}
	for _, f := range options {
		f(&o)
	}
	return builtin.Registry(o)
}

// RegistryWithEndpoint is Registry with the AWS provider pinned to one endpoint.
func RegistryWithEndpoint(rec *metrics.Recorder, url string) *providers.Registry {
	return RegistryWithEndpointTimeout(rec, url, 0)
}

// RegistryWithEndpointTimeout is RegistryWithEndpoint with each AWS request bounded by
// timeout (`vigil controller --provider-request-timeout`).
func RegistryWithEndpointTimeout(rec *metrics.Recorder, url string, timeout time.Duration) *providers.Registry {
	o := builtin.Options{Observe: rec.ProviderCall, RequestTimeout: timeout, AllowHTTPHosts: LoopbackHTTP,
		AzureTransport: azureTransport()}
	if url != "" {
		o.AWSLoadOptions = []func(*config.LoadOptions) error{config.WithBaseEndpoint(url)}
	}
	return builtin.Registry(o)
}

// azureTransport is the shared local Key Vault's transport (SharedAzureKV), started with the
// first registry; nil (the default transport) if it cannot start.
func azureTransport() http.RoundTripper {
	kv, err := SharedAzureKV()
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness: local Azure Key Vault:", err)
		return nil
	}
	return kv.Transport()
}

// TestOptions are the controller options for tests: no metrics or probe ports, and short
// backoff so that recovery after a fault is seen within seconds.
func TestOptions() manager.Options {
	o := manager.Defaults()
	o.MetricsAddr = "0"
	o.ProbeAddr = "0"
	o.RetryBaseDelay = 100 * time.Millisecond
	o.RetryMaxDelay = 2 * time.Second
	o.SkipNameValidation = true
	// Wide enough that a burst of twenty Secret writes falls into one window even on a
	// loaded two-core machine.
	o.Rollout.Debounce = 3 * time.Second
	o.Rollout.MinInterval = 0
	o.Rollout.MaxPerHour = 4
	o.AuditInterval = 2 * time.Second
	return o
}

// StartController runs Vigil's manager in this process until the returned stop is called.
func StartController(cfg *rest.Config, registry *providers.Registry, rec *metrics.Recorder,
	o manager.Options) (stop func(), err error) {
	manager.SetStreamingLists(false) // as `vigil controller` starts by default
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := manager.New(ctx, cfg, registry, rec, o)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "controller stopped with error: %v\n", err)
		}
	}, nil
}

// ReadManifests decodes every object of a multi-document YAML file, as kubectl would.
func ReadManifests(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// Apply creates the objects of a manifest file unchanged (server-side apply).
func Apply(ctx context.Context, c client.Client, path string) ([]*unstructured.Unstructured, error) {
	objs, err := ReadManifests(path)
	if err != nil {
		return nil, err
	}
	for _, u := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("vigil-test"),
			client.ForceOwnership); err != nil {
			return nil, fmt.Errorf("applying %s %s from %s: %w", u.GetKind(), u.GetName(), path, err)
		}
	}
	return objs, nil
}
