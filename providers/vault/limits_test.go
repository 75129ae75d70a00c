package vault_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
)

// A server that answers a read with an endless body is cut off at MaxResponseBytes: the
// client stops reading there and says which limit was hit.
func TestResponsesAreCappedAtRead(t *testing.T) {
	var written atomic.Int64
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		if _, err := w.Write([]byte(`{"data":{"data":{"v":"`)); err != nil {
			return
		}
		for written.Load() < 8*providers.MaxResponseBytes {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			written.Add(int64(len(chunk)))
		}
	}))
	defer hostile.Close()
	c := newClient(t, store(func(p *esv1.VaultProvider) { p.Server = hostile.URL }), vault.Options{})
	_, err := c.GetSecret(context.Background(), providers.Ref{Key: "secret/any"})
	if !errors.Is(err, providers.ErrLimit) && (err == nil || !strings.Contains(err.Error(), "the most Vigil reads of one response")) {
		t.Fatalf("GetSecret from an endless body = %v, want the response limit", err)
	}
	if w := written.Load(); w > providers.MaxResponseBytes+8<<20 {
		t.Errorf("the server wrote %d MiB before the client hung up; the limit is %d MiB", w>>20, providers.MaxResponseBytes>>20)
	}
}
