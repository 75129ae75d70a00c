package providers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Limits on what a backend may hand Vigil. A backend's answers are input too (THREATS.md):
// a find over a large mount or a huge value must fail that one ExternalSecret with a reason
// that names the limit, not grow the controller until it is killed.
const (
	// MaxValueBytes is the largest remote value Vigil holds. A Kubernetes Secret holds at
	// most 1 MiB, but a value may be a JSON object (a Vault secret, a Kubernetes Secret's
	// data) of which a property, extract with rewrites or a template keeps a part.
	MaxValueBytes = 8 << 20
	// MaxFindResults is the most secrets one dataFrom.find may return.
	MaxFindResults = 1000
	// MaxFindBytes is the most bytes of values one dataFrom.find may return, all values
	// together (as for one value, rewrites and templates may keep a part).
	MaxFindBytes = 8 << 20
	// MaxFindScanned is the most names a find may list on the backend before filtering
	// (Vault's tree walk, Kubernetes' list): a walk of a huge mount stops here.
	MaxFindScanned = 10 * MaxFindResults
	// MaxResponseBytes is the largest HTTP response body read from a backend: a batch of
	// values (Secrets Manager returns up to 20 at once) with its encoding fits well.
	MaxResponseBytes = 32 << 20
)

// ErrLimit is wrapped by the errors of every limit above.
var ErrLimit = errors.New("limit exceeded")

// LimitError names the limit a backend's answer broke and how to stay within it; it wraps
// ErrLimit. It is not a ConfigError: the remote data may shrink again, so the sync is
// retried with backoff (each retry bounded by the same limits).
func LimitError(format string, args ...any) error {
	return &OwnError{Msg: fmt.Sprintf(format, args...), Kind: ErrLimit}
}

// CheckValue refuses a remote value larger than MaxValueBytes.
func CheckValue(ref Ref, v []byte) error {
	if len(v) > MaxValueBytes {
		return LimitError(
			"key %s: the value is %d bytes, more than the %s Vigil reads of one remote value; a "+
				"Kubernetes Secret holds at most 1 MiB", ref, len(v), mib(MaxValueBytes))
	}
	return nil
}

// FindResults gathers the values of a find and refuses past MaxFindResults,
// MaxFindBytes and MaxValueBytes as they come in, so that no more than the limits is ever
// held.
type FindResults struct {
	values map[string][]byte
	bytes  int
}

// NewFindResults returns an empty result set.
func NewFindResults() *FindResults { return &FindResults{values: map[string][]byte{}} }

// Room returns an error when no further result may be added: call it before reading a
// value, so that the read is not made.
func (f *FindResults) Room() error {
	if len(f.values) >= MaxFindResults {
		return TooManyFound()
	}
	return nil
}

// TooManyFound is the error of a find that matched more than MaxFindResults secrets.
func TooManyFound() error {
	return LimitError(
		"find matched more than %d secrets, the most one find may return; narrow it with "+
			"find.path, find.name or find.tags", MaxFindResults)
}

// Add records one found value.
func (f *FindResults) Add(name string, v []byte) error {
	if _, ok := f.values[name]; !ok {
		if err := f.Room(); err != nil {
			return err
		}
	}
	if err := CheckValue(Ref{Key: name}, v); err != nil {
		return err
	}
	f.bytes += len(v) - len(f.values[name])
	if f.bytes > MaxFindBytes {
		return LimitError(
			"find returned more than %s of values, the most one find may return; narrow it with "+
				"find.path, find.name or find.tags", mib(MaxFindBytes))
	}
	f.values[name] = v
	return nil
}

// Values returns the gathered values.
func (f *FindResults) Values() map[string][]byte { return f.values }

// CheckFind applies the find limits to a finished result (for providers that build their
// map themselves): the Reader calls it on every Find.
func CheckFind(found map[string][]byte) error {
	f := NewFindResults()
	for name, v := range found {
		if err := f.Add(name, v); err != nil {
			return err
		}
	}
	return nil
}

// LimitResponses wraps an HTTP transport so that no response body longer than max bytes
// is read: reading past it fails with an error that names the limit. Providers that speak
// HTTP themselves (Vault) install it where their client is built.
func LimitResponses(rt http.RoundTripper, max int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return limitedTransport{next: rt, max: max}
}

type limitedTransport struct {
	next http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	return limitResponse(resp, err, t.max)
}

// HTTPDoer is an HTTP client as the AWS SDK takes one (config.WithHTTPClient).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// LimitDoer is LimitResponses for an HTTPDoer.
func LimitDoer(next HTTPDoer, max int64) HTTPDoer { return limitedDoer{next: next, max: max} }

type limitedDoer struct {
	next HTTPDoer
	max  int64
}

func (d limitedDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	return limitResponse(resp, err, d.max)
}

// limitResponse caps the body of a response at max bytes.
func limitResponse(resp *http.Response, err error, max int64) (*http.Response, error) {
	if err != nil || resp.Body == nil {
		return resp, err
	}
	tooLarge := LimitError("the backend's response is larger than %d bytes, the most Vigil reads of one response", max)
	if resp.ContentLength > max {
		resp.Body.Close()
		return nil, tooLarge
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: max, err: tooLarge}
	return resp, nil
}

// limitedBody reads up to left bytes and fails on the first byte beyond.
type limitedBody struct {
	io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	// Read one byte more than allowed to tell "exactly max" from "more than max".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, b.err
	}
	return n, err
}

func mib(n int) string { return fmt.Sprintf("%d bytes (%d MiB)", n, n>>20) }
