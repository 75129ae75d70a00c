package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// Isolation: what one namespace's objects may not reach or take. Each row is refused in
// status with a message that says what to change; nothing foreign is read or written.
func TestIsolation_RefusedWithClearMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		reason  string // default SecretSyncedError
		setup   func(t *testing.T, ctx context.Context, ns string, es *esv1.ExternalSecret, store *esv1.SecretStore)
		message string
		check   func(t *testing.T, ctx context.Context, ns string)
	}{
		{
			name: "SecretStore credentials from another namespace",
			setup: func(t *testing.T, ctx context.Context, ns string, _ *esv1.ExternalSecret, store *esv1.SecretStore) {
				other := "kube-system"
				store.Spec.Provider.AWS.Auth.SecretRef = &esv1.AWSAuthSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "aws", Key: "id", Namespace: &other},
					SecretAccessKey: esv1.SecretKeySelector{Name: "aws", Key: "secret", Namespace: &other},
				}
			},
			message: `names namespace "kube-system", but a SecretStore may only use Secrets and ServiceAccounts of its own namespace`,
		},
		{
			name: "SecretStore IRSA with another namespace's ServiceAccount",
			setup: func(t *testing.T, ctx context.Context, ns string, _ *esv1.ExternalSecret, store *esv1.SecretStore) {
				other := "kube-system"
				store.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "admin", Namespace: &other}}
			},
			message: `names namespace "kube-system", but a SecretStore may only use`,
		},
		{
			name: "creationPolicy Owner over a hand-made Secret",
			setup: func(t *testing.T, ctx context.Context, ns string, _ *esv1.ExternalSecret, _ *esv1.SecretStore) {
				env.T(t).Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, StringData: map[string]string{"mine": "hand-made"}})
			},
			message: "already exists and was not written by this ExternalSecret",
			check: func(t *testing.T, ctx context.Context, ns string) {
				if s := env.T(t).Secret(ns, "db"); string(s.Data["mine"]) != "hand-made" || len(s.Data) != 1 || len(s.OwnerReferences) != 0 {
					t.Errorf("the hand-made Secret was changed: keys %d, owners %v", len(s.Data), s.OwnerReferences)
				}
			},
		},
		{
			name: "template producing a ServiceAccount token Secret",
			setup: func(t *testing.T, ctx context.Context, ns string, es *esv1.ExternalSecret, _ *esv1.SecretStore) {
				es.Spec.Target.Template = &esv1.ExternalSecretTemplate{
					Type:     corev1.SecretTypeServiceAccountToken,
					Metadata: esv1.ExternalSecretTemplateMetadata{Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
				}
			},
			// The built-in policy secret-type-privileged stops it before any fetch; were it
			// switched off, the writer refuses the type itself.
			reason:  esv1.ReasonPolicyViolation,
			message: "makes a ServiceAccount token Secret",
			check: func(t *testing.T, ctx context.Context, ns string) {
				if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &corev1.Secret{}); err == nil {
					t.Error("a Secret was written")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := env.T(t)
			ctx := context.Background()
			ns := h.NewNamespace()
			h.PutRemote(ns+"/db", `{"password":"isolated-value-9"}`)
			es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"})
			store := awsStore(ns, "store")
			tc.setup(t, ctx, ns, es, store)
			h.Create(store, es)
			reason := tc.reason
			if reason == "" {
				reason = esv1.ReasonSecretSyncedError
			}
			// The first pass may run before the store reaches the cache ("store not found");
			// wait for the refusal itself.
			key := types.NamespacedName{Namespace: ns, Name: "db"}
			var msg string
			err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
				var es esv1.ExternalSecret
				if err := cp.Client.Get(ctx, key, &es); err != nil {
					return false, err
				}
				msg = readyMessage(&es)
				for _, c := range es.Status.Conditions {
					if c.Type == esv1.ConditionReady && c.Reason == reason && strings.Contains(msg, tc.message) {
						return true, nil
					}
				}
				return false, nil
			})
			if err != nil {
				t.Fatalf("ExternalSecret never reported %s saying %q; last message %q", reason, tc.message, msg)
			}
			if tc.check != nil {
				tc.check(t, ctx, ns)
			}
		})
	}
}
