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
// Keys are unique per call, so setups may share a backend. Every value is a compact JSON
// object of strings with sorted keys: backends that keep strings store it as it is, backends
// that keep key/value maps (Vault, Kubernetes Secrets) store the object, and both must read
// back the same bytes.
type Setup func(t *testing.T, values map[string]string) providers.Client

// Run runs the suite.
func Run(t *testing.T, setup Setup) {
	ctx := context.Background()
	t.Run("returns the stored value byte for byte", func(t *testing.T) {
		key := unique(t, "value")
		want := `{"password":"p@ss w0rd \"quoted\" ünïcode <&>","user":"app"}`
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
		c := setup(t, map[string]string{unique(t, "present"): `{"v":"x"}`})
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
			values[unique(t, fmt.Sprint("c", i))] = fmt.Sprintf(`{"n":"value-%d"}`, i)
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
		c := setup(t, map[string]string{unique(t, "v"): `{"v":"x"}`})
		if err := c.Validate(ctx); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
}

var (
	mu  sync.Mutex
	seq int
)

// unique returns a key no other case uses that every backend accepts as a name: lower-case
// letters, digits and dashes (a Kubernetes Secret name, a Vault path, an AWS name).
func unique(t *testing.T, name string) string {
	mu.Lock()
	defer mu.Unlock()
	seq++
	key := strings.ToLower(fmt.Sprintf("conformance-%s-%s-%d", t.Name(), name, seq))
	key = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, key)
	if len(key) > 200 {
		key = key[len(key)-200:]
	}
	return key
}
