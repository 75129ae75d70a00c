package providers

import (
	"context"
	"net/http"
	"strings"
)

// The audit trail: backends record who asked for a value. Clients are built per namespace
// (ClientCache), so the namespace travels with the client; the ExternalSecret a read is
// made for travels in the context, and reaches the backends that take a header per
// request (Vault). See docs/audit-trail.md.

type requesterKey struct{}

// Requester is the ExternalSecret a read is made for.
type Requester struct {
	Namespace, Name string
}

// WithRequester returns a context whose backend calls are made for the ExternalSecret
// namespace/name.
func WithRequester(ctx context.Context, namespace, name string) context.Context {
	return context.WithValue(ctx, requesterKey{}, Requester{Namespace: namespace, Name: name})
}

// RequesterFrom returns the ExternalSecret a context's calls are made for, if any.
func RequesterFrom(ctx context.Context) (Requester, bool) {
	r, ok := ctx.Value(requesterKey{}).(Requester)
	return r, ok
}

// Headers sent to backends that record request headers in their audit logs (Vault).
const (
	NamespaceHeader      = "X-Vigil-Namespace"
	ExternalSecretHeader = "X-Vigil-External-Secret"
)

// maxAuditName bounds a name sent in a header: Kubernetes names are at most 253
// characters; anything longer is not a Kubernetes name and is cut.
const maxAuditName = 253

// AuditName returns a tenant-chosen name fit for a header or a user agent: characters
// outside [A-Za-z0-9._-] become '-', and it is cut to 253 characters. Kubernetes names pass
// unchanged.
func AuditName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
	if len(s) > maxAuditName {
		s = s[:maxAuditName]
	}
	return s
}

// RequesterHeaders wraps a transport so that every request made with a context from
// WithRequester carries ExternalSecretHeader ("<namespace>/<name>").
func RequesterHeaders(next http.RoundTripper) http.RoundTripper {
	return requesterTransport{next}
}

type requesterTransport struct{ next http.RoundTripper }

func (t requesterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r, ok := RequesterFrom(req.Context())
	if !ok {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	req.Header.Set(ExternalSecretHeader, AuditName(r.Namespace)+"/"+AuditName(r.Name))
	return t.next.RoundTrip(req)
}
