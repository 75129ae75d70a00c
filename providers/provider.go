// Package providers defines the one small interface every secret backend implements, the
// registry that cmd/ builds explicitly from the providers it wires in, and the helpers all
// providers share (property selection, decoding, the client cache).
//
// A provider only fetches raw values by key and version. Selecting a JSON property,
// extracting a JSON object and decoding happen once, here, for every provider: that keeps
// each provider small and lets the reconciler fetch a key that several entries use only once.
package providers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Provider builds clients for stores of one kind.
type Provider interface {
	// Name is the provider's field name in spec.provider, e.g. "aws".
	Name() string
	// ValidateStore checks a store's configuration without any I/O. An error means the
	// configuration can never work as written: it is reported as InvalidProviderConfig and
	// not retried.
	ValidateStore(store esv1.GenericStore) error
	// NewClient resolves credentials and returns a client for the store. namespace is the
	// namespace of the object that uses the store: for a ClusterSecretStore it is where
	// credential references without a namespace are looked up.
	NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string) (Client, error)
}

// Ref names one remote value.
type Ref struct {
	Key     string
	Version string
}

func (r Ref) String() string {
	if r.Version == "" {
		return fmt.Sprintf("%q", r.Key)
	}
	return fmt.Sprintf("%q (version %q)", r.Key, r.Version)
}

// Client reads from one store. Clients are reused across reconciles (see ClientCache) and
// must be safe for concurrent use.
type Client interface {
	// GetSecret returns the raw value of a remote secret. A value that does not exist
	// returns an error that wraps ErrNotFound.
	GetSecret(ctx context.Context, ref Ref) ([]byte, error)
	// Validate checks that the store can be used: credentials resolve and, where that
	// needs no extra permission, the backend answers.
	Validate(ctx context.Context) error
}

// Closer is implemented by clients that hold something worth giving back when they are
// replaced (a Vault token Vigil logged in for). The ClientCache calls Close a while after
// a client is replaced, so that reads in flight finish first.
type Closer interface {
	Close()
}

// CallObserver is told about every call a provider makes to its backend, for metrics.
// provider and call use ESO's names, e.g. "AWS/SecretsManager" and "GetSecretValue".
type CallObserver func(provider, call string, err error, took time.Duration)

// FindRef selects many remote secrets (dataFrom.find): by path prefix, by a regular
// expression on the name, and by tags. An empty field does not filter.
type FindRef struct {
	Path string
	Name string // regular expression
	Tags map[string]string
}

// Finder is implemented by clients that can list and read many secrets at once. It returns
// remote name -> raw value.
type Finder interface {
	Find(ctx context.Context, ref FindRef) (map[string][]byte, error)
}

// MetadataGetter is implemented by clients that can read a remote secret's metadata (tags):
// metadataPolicy Fetch.
type MetadataGetter interface {
	GetMetadata(ctx context.Context, ref Ref) (map[string]string, error)
}

// MetadataDocumentGetter is implemented by clients whose metadata is not one flat map of
// tags (GCP's labels and annotations): metadataPolicy Fetch reads the JSON object it
// returns instead of GetMetadata's tags, so that property selects in it as in ESO.
type MetadataDocumentGetter interface {
	GetMetadataDocument(ctx context.Context, ref Ref) ([]byte, error)
}

// ErrNotFound is wrapped by errors for remote values that do not exist.
var ErrNotFound = errors.New("remote secret does not exist")

// NotFound returns an error for a missing remote value that wraps ErrNotFound.
func NotFound(ref Ref, cause error) error {
	if cause == nil {
		return fmt.Errorf("key %s: %w", ref, ErrNotFound)
	}
	return fmt.Errorf("key %s: %w: %v", ref, ErrNotFound, cause)
}

// ConfigError marks a store configuration that cannot work as written (terminal).
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// Configf returns a ConfigError.
func Configf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// Generator produces new values on every call (generators.external-secrets.io kinds such
// as Password), for dataFrom[].sourceRef.generatorRef.
type Generator interface {
	// Kind is the generator's kind, e.g. "Password".
	Kind() string
	// Generate reads the generator object name in namespace and returns the generated data.
	Generate(ctx context.Context, kube client.Client, namespace, name string) (map[string][]byte, error)
}

// GeneratorAPIVersion is the API version of the generator kinds Vigil serves.
const GeneratorAPIVersion = "generators.external-secrets.io/v1alpha1"

// Registry holds the providers and generators a binary serves. It is built in cmd/ and
// passed to the reconcilers; there is no global registration.
type Registry struct {
	providers  map[string]Provider
	generators map[string]Generator
}

// NewRegistry returns a registry of the given providers.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{providers: make(map[string]Provider, len(ps)), generators: map[string]Generator{}}
	for _, p := range ps {
		r.providers[p.Name()] = p
	}
	return r
}

// WithGenerators adds generators to the registry and returns it.
func (r *Registry) WithGenerators(gs ...Generator) *Registry {
	for _, g := range gs {
		r.generators[g.Kind()] = g
	}
	return r
}

// Generator returns the generator of a kind, or a ConfigError that lists the served kinds.
func (r *Registry) Generator(apiVersion, kind string) (Generator, error) {
	if apiVersion != "" && apiVersion != GeneratorAPIVersion {
		return nil, Configf("generatorRef.apiVersion %q is not served; use %s", apiVersion, GeneratorAPIVersion)
	}
	g, ok := r.generators[kind]
	if !ok {
		return nil, Configf("generator kind %q is not implemented by Vigil (implemented: %s); see docs/providers.md", kind,
			strings.Join(slices.Sorted(maps.Keys(r.generators)), ", "))
	}
	return g, nil
}

// ForStore returns the provider that serves a store, or a ConfigError that says which
// provider is missing.
func (r *Registry) ForStore(store esv1.GenericStore) (Provider, error) {
	name := store.GetSpec().Provider.Name()
	if name == "" {
		return nil, Configf("spec.provider sets no provider")
	}
	if err := Unimplemented(store.GetSpec().Provider); err != nil {
		return nil, err
	}
	p, ok := r.providers[name]
	if !ok {
		return nil, Configf("provider %q is not available in this version of Vigil (available: %s)", name, r.names())
	}
	return p, nil
}

func (r *Registry) names() string {
	return strings.Join(slices.Sorted(maps.Keys(r.providers)), ", ")
}

// ErrNamespaceUnknown is returned (wrapped) when a ClusterSecretStore's credential
// reference has no namespace and the store is looked at on its own, not from an
// ExternalSecret: the credentials can only be resolved per namespace of use.
var ErrNamespaceUnknown = errors.New(
	"credential reference has no namespace; it is resolved in the namespace of each ExternalSecret")

// StoreNamespace returns the namespace in which a store's credential references are
// resolved: a SecretStore's own namespace; for a ClusterSecretStore the reference's
// namespace, else the namespace of the object that uses the store.
func StoreNamespace(store esv1.GenericStore, refNamespace *string, usedFrom string) (string, error) {
	if store.GetKind() == esv1.SecretStoreKind {
		if err := CheckRefNamespace(store, refNamespace, "a credential reference"); err != nil {
			return "", err
		}
		return store.GetNamespace(), nil
	}
	if refNamespace != nil && *refNamespace != "" {
		return *refNamespace, nil
	}
	if usedFrom == "" {
		return "", ErrNamespaceUnknown
	}
	return usedFrom, nil
}

// CheckRefNamespace refuses a SecretStore reference (field) to a Secret or ServiceAccount in
// another namespace: a namespaced store may only use what its own namespace holds, or any
// namespace's credentials would be one SecretStore away.
func CheckRefNamespace(store esv1.GenericStore, refNamespace *string, field string) error {
	if store.GetKind() != esv1.SecretStoreKind || refNamespace == nil || *refNamespace == "" ||
		*refNamespace == store.GetNamespace() {
		return nil
	}
	return Configf(
		"%s names namespace %q, but a SecretStore may only use Secrets and ServiceAccounts of its own namespace %q: remove "+
			"the namespace, or use a ClusterSecretStore", field, *refNamespace, store.GetNamespace())
}
