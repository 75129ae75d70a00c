package admission

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// Where Vigil is stricter than ESO, a manifest ESO accepts still applies: the webhook admits
// it with a warning that says what Vigil does with it.
func TestCompatWarnings_ESOManifestsApplyWithAWarning(t *testing.T) {
	ns := env.T(t).NewNamespace()
	ctx := context.Background()
	cases := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"duplicate secretKey", duplicateKeyES(ns), `spec.data[0] and spec.data[1] both write secretKey "a"`},
		{"aws secretRef and jwt", bothAuthStore(ns), "sets both secretRef and jwt: secretRef is used"},
		{"PushSecret with dataTo", pushSecretDataTo(ns), "spec.dataTo is not supported by this version of Vigil"},
	}
	for _, tc := range cases {
		warnings.take()
		if err := c.Create(ctx, tc.obj); err != nil {
			t.Errorf("%s: an object ESO accepts was refused: %v", tc.name, err)
			continue
		}
		if got := strings.Join(warnings.take(), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: no admission warning says %q; warnings: %q", tc.name, tc.want, got)
		}
	}
}

func duplicateKeyES(ns string) *esv1.ExternalSecret {
	ref := esv1.ExternalSecretDataRemoteRef{Key: "k"}
	return &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dup"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "a", RemoteRef: ref}, {SecretKey: "a", RemoteRef: ref}},
		},
	}
}

func bothAuthStore(ns string) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "both"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{
				SecretRef: &esv1.AWSAuthSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id"},
					SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"},
				},
				JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}},
			},
		}},
	}}
}

func pushSecret(ns string) *esv1alpha1.PushSecret {
	return &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "push"},
		Spec: esv1alpha1.PushSecretSpec{
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "store", Kind: "SecretStore"}},
			Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{
				SecretKey: "k", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "remote"},
			}}},
		},
	}
}

// pushSecretDataTo is a PushSecret with ESO's dataTo, which Vigil does not push.
func pushSecretDataTo(ns string) *esv1alpha1.PushSecret {
	ps := pushSecret(ns)
	ps.Name = "push-data-to"
	ps.Spec.Data = nil
	ps.Spec.DataTo = []esv1alpha1.PushSecretDataTo{{StoreRef: &esv1alpha1.PushSecretStoreRef{Name: "store"}}}
	return ps
}
