package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// Each fault fails the sync with a message that names the store and the key, leaves the
// Secret exactly as it was, never shows the value, and heals once the cause is gone.
func TestFaults_KeepSecretAndRecover(t *testing.T) {
	// Not parallel: one case stops moto (the other cases run in parallel with each other).
	const good = `{"password":"good-value-123","host":"db"}`
	for _, tc := range []struct {
		name    string
		break_  func(t *testing.T, ctx context.Context, key string)
		mend    func(t *testing.T, ctx context.Context, key string)
		message []string
	}{
		{
			name:    "missing key",
			break_:  func(t *testing.T, ctx context.Context, key string) { env.T(t).DeleteRemote(key) },
			mend:    func(t *testing.T, ctx context.Context, key string) { env.T(t).PutRemote(key, good) },
			message: []string{`SecretStore "store"`, "ResourceNotFoundException"},
		},
		{
			name:    "missing property",
			break_:  func(t *testing.T, ctx context.Context, key string) { env.T(t).PutRemote(key, `{"host":"db"}`) },
			mend:    func(t *testing.T, ctx context.Context, key string) { env.T(t).PutRemote(key, good) },
			message: []string{`SecretStore "store"`, `property "password" does not exist`},
		},
		{
			name:    "non-JSON value with a property",
			break_:  func(t *testing.T, ctx context.Context, key string) { env.T(t).PutRemote(key, "plain-text-value") },
			mend:    func(t *testing.T, ctx context.Context, key string) { env.T(t).PutRemote(key, good) },
			message: []string{`SecretStore "store"`, "is not JSON"},
		},
		{
			name: "backend stopped",
			break_: func(t *testing.T, ctx context.Context, key string) {
				moto.Stop()
				t.Cleanup(func() { _ = moto.Start() }) // never leave later tests without moto
			},
			mend: func(t *testing.T, ctx context.Context, key string) {
				if err := moto.Start(); err != nil {
					t.Fatal(err)
				}
				env.T(t).PutRemote(key, good) // a restarted moto is empty
			},
			message: []string{`SecretStore "store"`, "connection refused"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "backend stopped" {
				t.Parallel() // they wait until the case that stops moto has run
			}
			h := env.T(t)
			ctx := context.Background()
			ns := h.NewNamespace()
			remote := ns + "/db"
			h.PutRemote(remote, good)
			h.Create(awsStore(ns, "store"), externalSecret(ns, "db", "store", remote, map[string]string{"password": "password"}))
			key := types.NamespacedName{Namespace: ns, Name: "db"}
			h.WaitReason(key, esv1.ReasonSecretSynced)
			before := h.WaitSecretValue(ns, "db", "password", "good-value-123")

			tc.break_(t, ctx, remote)
			h.ForceSync(key)
			es := h.WaitReason(key, esv1.ReasonSecretSyncedError)
			msg := readyMessage(es)
			for _, want := range append(tc.message, remote) {
				if !strings.Contains(msg, want) {
					t.Errorf("condition message %q does not mention %q", msg, want)
				}
			}
			assertNoValue(t, msg, "good-value-123", "plain-text-value")
			assertUntouched(t, before)

			tc.mend(t, ctx, remote)
			h.WaitReason(key, esv1.ReasonSecretSynced)
			assertUntouched(t, before)
		})
	}
}

// An endpoint nobody listens on: the ExternalSecret reports it and no Secret is created;
// once the backend answers there, the Secret appears. A second controller of its own
// class (spec.controller) serves this store with its own endpoint, as a controller
// deployed with AWS_ENDPOINT_URL pointing there would.
func TestUnreachableEndpoint_ReportedThenRecovers(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	backend, err := harness.NewStoppedMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	o := harness.TestOptions()
	o.Namespace, o.ControllerClass = ns, "unreachable"
	rec := harness.Metrics()
	stop, err := harness.StartController(cp.Config, harness.RegistryWithEndpoint(rec, backend.URL), rec, o)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	store := awsStore(ns, "store")
	store.Spec.Controller = "unreachable"
	h.Create(store, externalSecret(ns, "db", "store", "far/db", map[string]string{"password": "password"}))
	key := types.NamespacedName{Namespace: ns, Name: "db"}
	es := h.WaitReason(key, esv1.ReasonSecretSyncedError)
	for _, want := range []string{`SecretStore "store"`, `"far/db"`, "connection refused"} {
		if msg := readyMessage(es); !strings.Contains(msg, want) {
			t.Errorf("condition message %q does not mention %q", msg, want)
		}
	}
	if err := cp.Client.Get(ctx, key, &corev1.Secret{}); err == nil {
		t.Errorf("a Secret was created although the backend was unreachable")
	}

	if err := backend.Start(); err != nil {
		t.Fatal(err)
	}
	seed, err := backend.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	putRemoteWith(t, ctx, seed, "far/db", `{"password":"far-away"}`)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	h.WaitSecretValue(ns, "db", "password", "far-away")
}

func assertNoValue(t *testing.T, text string, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(text, v) {
			t.Errorf("a secret value appears in %q", "condition message")
		}
	}
}

func assertUntouched(t *testing.T, before *corev1.Secret) {
	t.Helper()
	now := env.T(t).Secret(before.Namespace, before.Name)
	if now.ResourceVersion != before.ResourceVersion {
		t.Errorf("Secret %s was written (resourceVersion %s -> %s) although the sync failed", before.Name, before.ResourceVersion, now.ResourceVersion)
	}
}
