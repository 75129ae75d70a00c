// Package conformance is the suite every provider passes: what the ExternalSecret
// reconciler relies on from a providers.Client, checked against the provider's real
// backend (or its stand-in: moto for AWS).
package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-dev/vigil/providers"
)

// Setup stores values (key -> value) in the backend and returns a client that reads them.
// Keys are unique per call, so setups may share a backend.
type Setup func(t *testing.T, values map[string]string) providers.Client

// Run runs the suite.
func Run(t *testing.T, setup Setup) {
	ctx := context.Background()
	t.Run("returns the stored value byte for byte", func(t *testing.T) {
		key := unique(t, "value")
		want := `{"user":"app","password":"p@ss w0rd \"quoted\" ünïcode"}`
		c := setup(t, map[string]string{key: want})
		got, err := c.GetSecret(ctx, providers.Ref{Key: key})
		if err != nil {
			t.Fatalf("GetSecret: %v", err)
		}
		if string(got) != want {
			t.Errorf("GetSecret returned %d bytes that differ from the %d stored", len(got), len(want))
		}
	})
	t.Run("a missing key wraps ErrNotFound and names the key", func(t *testing.T) {
		c := setup(t, map[string]string{unique(t, "present"): "x"})
		missing := unique(t, "absent")
		_, err := c.GetSecret(ctx, providers.Ref{Key: missing})
		if !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("GetSecret of a missing key: %v, want an error wrapping ErrNotFound", err)
		}
		if !strings.Contains(err.Error(), missing) {
			t.Errorf("error %q does not name the key %q", err, missing)
		}
	})
	t.Run("is safe for concurrent use", func(t *testing.T) {
		values := map[string]string{}
		for i := range 5 {
			values[unique(t, fmt.Sprint("c", i))] = fmt.Sprint("value-", i)
		}
		c := setup(t, values)
		var wg sync.WaitGroup
		errs := make(chan error, 4*len(values))
		for range 4 {
			for k, v := range values {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := c.GetSecret(ctx, providers.Ref{Key: k})
					if err != nil || string(got) != v {
						errs <- fmt.Errorf("key %s: %d bytes, %v", k, len(got), err)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("validates", func(t *testing.T) {
		c := setup(t, map[string]string{unique(t, "v"): "x"})
		if err := c.Validate(ctx); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
}

var (
	mu  sync.Mutex
	seq int
)

// unique returns a key no other case uses, valid for every backend (path-like).
func unique(t *testing.T, name string) string {
	mu.Lock()
	defer mu.Unlock()
	seq++
	return fmt.Sprintf("conformance/%s/%s-%d", strings.NewReplacer(" ", "-", "/", "-").Replace(t.Name()), name, seq)
}
