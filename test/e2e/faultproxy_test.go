package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/test/harness"
)

// faultyBackend runs a controller of its own class for one namespace, whose AWS requests go
// through a fault proxy (toxiproxy + a throttling/counting HTTP layer) to moto, each bounded
// by a one-second request timeout. It returns the proxy and the options the controller uses.
func faultyBackend(t *testing.T, ns string) (*harness.FaultProxy, manager.Options) {
	t.Helper()
	proxy, err := harness.StartFaultProxy(moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	o := harness.TestOptions()
	o.Namespace, o.ControllerClass = ns, "faulty"
	rec := harness.Metrics()
	stop, err := harness.StartController(cp.Config, harness.RegistryWithEndpointTimeout(rec, proxy.URL, time.Second), rec, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return proxy, o
}

func faultyStore(ns string) *esv1.SecretStore {
	s := awsStore(ns, "store")
	s.Spec.Controller = "faulty"
	return s
}

// A backend that hangs or drops connections: each attempt ends at the request timeout, the
// sync fails with a message that says so, the Secret keeps its data, and the next sync after
// the fault heals succeeds.
func TestFaultProxy_SlowAndResettingBackend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, toxic, stream string
		attrs               map[string]any
		message             []string // any of these
	}{
		{"slow backend", "latency", "downstream", map[string]any{"latency": 5000}, []string{"Client.Timeout", "deadline exceeded", "timeout"}},
		{"connection reset", "reset_peer", "upstream", map[string]any{"timeout": 0}, []string{"connection reset", "EOF", "broken pipe", "request send failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := env.T(t)
			ns := h.NewNamespace()
			proxy, _ := faultyBackend(t, ns)
			remote := ns + "/db"
			h.PutRemote(remote, `{"password":"proxied-value-42"}`)
			h.Create(faultyStore(ns), externalSecret(ns, "db", "store", remote, map[string]string{"password": "password"}))
			key := types.NamespacedName{Namespace: ns, Name: "db"}
			h.WaitReason(key, esv1.ReasonSecretSynced)
			before := h.WaitSecretValue(ns, "db", "password", "proxied-value-42")

			if err := proxy.AddToxic("fault", tc.toxic, tc.stream, tc.attrs); err != nil {
				t.Fatal(err)
			}
			h.ForceSync(key)
			msg := readyMessage(h.WaitReason(key, esv1.ReasonSecretSyncedError))
			if !containsAny(msg, tc.message) {
				t.Errorf("condition message %q names none of %q", msg, tc.message)
			}
			if !strings.Contains(msg, remote) {
				t.Errorf("condition message %q does not name the key %s", msg, remote)
			}
			assertUntouched(t, before)

			if err := proxy.RemoveToxic("fault"); err != nil {
				t.Fatal(err)
			}
			h.WaitReason(key, esv1.ReasonSecretSynced)
			assertUntouched(t, before)
		})
	}
}

// A throttling backend: every request answers ThrottlingException for a while. The
// controller backs off per ExternalSecret (exponential, from RetryBaseDelay to
// RetryMaxDelay) and the SDK's retryer spends a retry quota, so the calls stay far below what
// retrying at once would make; Secrets keep their data, and all recover afterwards.
func TestFaultProxy_ThrottlingMakesNoRetryStorm(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	proxy, o := faultyBackend(t, ns)
	const n = 10
	h.Create(faultyStore(ns))
	for i := range n {
		remote := fmt.Sprintf("%s/app-%d", ns, i)
		h.PutRemote(remote, `{"token":"throttled-value-`+fmt.Sprint(i)+`x"}`)
		h.Create(externalSecret(ns, fmt.Sprintf("app-%d", i), "store", remote, map[string]string{"token": "token"}))
	}
	for i := range n {
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("app-%d", i)}, esv1.ReasonSecretSynced)
	}

	proxy.Throttle(true)
	start := proxy.Requests()
	for i := range n {
		h.ForceSync(types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("app-%d", i)})
	}
	for i := range n {
		es := h.WaitReason(types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("app-%d", i)}, esv1.ReasonSecretSyncedError)
		if msg := readyMessage(es); !strings.Contains(msg, "ThrottlingException") {
			t.Errorf("condition message %q does not say the backend throttled", msg)
		}
	}
	// Count the retries over a window (the bound is a count, not a speed): at most every
	// ExternalSecret reconciled on its backoff schedule, each pass making the SDK's three
	// attempts. Without backoff it would be one pass per RetryBaseDelay. A storm fails as
	// soon as it passes the bound.
	const window = 8 * time.Second
	bound := int64(n * passesWithin(window, o.RetryBaseDelay, o.RetryMaxDelay) * 3)
	storm := int64(n * int(window/o.RetryBaseDelay) * 3)
	h.Consistently(fmt.Sprintf("requests to a throttling backend stay within the backoff bound %d (without backoff %d)", bound, storm),
		window, func(context.Context) (bool, error) { return proxy.Requests()-start <= bound, nil })
	t.Logf("%d requests to a throttling backend from %d ExternalSecrets in %s (bound %d; without backoff %d)", proxy.Requests()-start, n, window, bound, storm)
	proxy.Throttle(false)
	for i := range n {
		name := fmt.Sprintf("app-%d", i)
		h.WaitSecretValue(ns, name, "token", "throttled-value-"+fmt.Sprint(i)+"x")
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: name}, esv1.ReasonSecretSynced)
	}
}

// passesWithin counts the reconciles of one failing object within window, plus the first,
// under per-item exponential backoff from base doubling up to max.
func passesWithin(window, base, maxDelay time.Duration) int {
	passes, elapsed, delay := 1, time.Duration(0), base
	for elapsed+delay <= window {
		elapsed += delay
		passes++
		delay = min(2*delay, maxDelay)
	}
	return passes + 1 // one more in flight at the window's edge
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
