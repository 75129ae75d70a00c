package providers

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// BackendError is a backend's refusal or failure described by typed facts only: the
// operation, the backend's error code and HTTP status, the key, the resource and permission
// the call needed, and the identity it ran as. Its message never carries the backend's (or
// its SDK's) own error text: such text is another component's and may echo anything,
// including a value. Providers return it for every failed backend call.
type BackendError struct {
	// Backend names the service, e.g. "AWS Secrets Manager", "Vault", "Kubernetes".
	Backend string
	// Op is the backend operation, in the backend's words: "GetSecretValue", "GET", "get".
	Op string
	// Code is the backend's error code ("AccessDeniedException", "Forbidden"), else the
	// kind of failure Vigil saw ("timeout", "network").
	Code string
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// Key is the remote key as the ExternalSecret names it; empty for calls about no key.
	Key string
	// Resource is what the call addressed: an ARN, a Vault path, namespace/name.
	Resource string
	// Identity is who the call ran as: a role ARN, "Vault role r (auth mount kubernetes)",
	// "ServiceAccount ns/name".
	Identity string
	// Permission is what the identity needs for the call: an IAM action, a Vault
	// capability on a path, an RBAC verb on a resource.
	Permission string
	// Hint is the likely fix, in Vigil's words (filled by the provider or the controller,
	// e.g. from the IAM evaluator or a listing of names).
	Hint string
	// Denied marks a refusal for lack of permission (AccessDenied, 403); NotFound a key
	// that does not exist. Both are set by the provider, which knows its codes.
	Denied   bool
	NotFound bool
	// Cause is a refusal of Vigil's own on the way to the backend (a limit, a redirect
	// refused): its text is Vigil's and names the fix.
	Cause *OwnError
}

// OwnError is an error Vigil itself raised inside a backend call (a transport's limit or
// refusal), distinguishable from the backend's and its SDK's errors, whose text is never
// shown. Kind is the sentinel it wraps (ErrLimit, ErrRefused).
type OwnError struct {
	Msg  string
	Kind error
}

func (e *OwnError) Error() string { return fmt.Sprintf("%s (%v)", e.Msg, e.Kind) }
func (e *OwnError) Unwrap() error { return e.Kind }

// ErrRefused is wrapped by requests Vigil refuses to send (e.g. a redirect to another host).
var ErrRefused = errors.New("request refused")

// Refusef returns an OwnError wrapping ErrRefused.
func Refusef(format string, args ...any) error {
	return &OwnError{Msg: fmt.Sprintf(format, args...), Kind: ErrRefused}
}

// NewBackendError starts a BackendError for a failed call: the failure's kind (or Vigil's
// own refusal) until the provider fills in the backend's code.
func NewBackendError(backend, op, key string, err error) *BackendError {
	be := &BackendError{Backend: backend, Op: op, Key: key, Code: FailureCode(err)}
	var own *OwnError
	if errors.As(err, &own) {
		be.Cause = own
	}
	return be
}

// maxField bounds each fact in a message: keys, ARNs and names are tenant or backend input.
const maxField = 256

func (e *BackendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Backend, e.Op)
	if e.Key != "" {
		fmt.Fprintf(&b, " of key %q", Truncate(e.Key, maxField))
	}
	switch {
	case e.Cause != nil:
		fmt.Fprintf(&b, " failed: %v", e.Cause)
	case e.Code != "" && e.Status != 0:
		fmt.Fprintf(&b, " failed: %s (HTTP %d)", Truncate(e.Code, 64), e.Status)
	case e.Code != "":
		fmt.Fprintf(&b, " failed: %s", Truncate(e.Code, 64))
	case e.Status != 0:
		fmt.Fprintf(&b, " failed: HTTP %d", e.Status)
	default:
		b.WriteString(" failed")
	}
	if e.Identity != "" {
		fmt.Fprintf(&b, "; identity %s", Truncate(e.Identity, maxField))
	}
	if e.Denied && e.Permission != "" {
		fmt.Fprintf(&b, "; needs %s", Truncate(e.Permission, maxField))
		if e.Resource != "" {
			fmt.Fprintf(&b, " on %s", Truncate(e.Resource, maxField))
		}
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrNotFound) hold for a missing key, and errors.Is(err,
// ErrLimit) for a limit Vigil enforced.
func (e *BackendError) Unwrap() []error {
	var out []error
	if e.NotFound {
		out = append(out, ErrNotFound)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

// FailureCode names a failure that has no backend error code by its kind, never by its
// text: "timeout", "connection refused", "host not found", "TLS certificate not trusted",
// "network error", else "request error".
func FailureCode(err error) string {
	var ne net.Error
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dns):
		return "host not found"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return "TLS certificate not trusted"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "network error"
	}
	return "request error"
}

// AsBackendError returns the BackendError in err's chain, or nil.
func AsBackendError(err error) *BackendError {
	var be *BackendError
	if errors.As(err, &be) {
		return be
	}
	return nil
}
