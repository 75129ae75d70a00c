package externalsecret

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// The writer refuses ServiceAccount token Secrets on its own, whatever the policies say
// (the e2e suite shows the built-in policy stopping them earlier), and refuses to take over
// a Secret no ExternalSecret wrote. Neither reaches the API server.
func TestOwnSecret_Refusals(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", UID: "es-uid"}}
	es.Spec.Target.CreationPolicy = esv1.CreatePolicyOwner
	out := &rendered{data: map[string][]byte{"k": []byte("v")}}

	tokenES := es.DeepCopy()
	tokenES.Spec.Target.Template = &esv1.ExternalSecretTemplate{Type: corev1.SecretTypeServiceAccountToken}
	handMade := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db"}}
	migrated := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", Labels: map[string]string{esv1.LabelManaged: esv1.LabelManagedValue}}}

	for _, tc := range []struct {
		name     string
		es       *esv1.ExternalSecret
		existing *corev1.Secret
		want     string
	}{
		{"service account token type", tokenES, nil, "never writes ServiceAccount token Secrets"},
		{"hand-made Secret", es, handMade, "was not written by an ExternalSecret"},
	} {
		r := &Reconciler{} // a nil client: reaching the API server would panic
		err := r.ownSecret(context.Background(), tc.es, tc.existing, out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := (&Reconciler{}).checkOwnership(es, migrated); err != nil {
		t.Errorf("a Secret with the managed label (written by ESO or an Orphan ExternalSecret) is refused: %v", err)
	}
}
