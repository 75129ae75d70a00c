package externalsecret

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
)

// The writer refuses ServiceAccount token Secrets on its own, whatever the policies say
// (the e2e suite shows the built-in policy stopping them earlier). Neither reaches the API
// server.
func TestOwnSecret_RefusesServiceAccountTokens(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", UID: "es-uid"}}
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Type: corev1.SecretTypeServiceAccountToken}
	r := &Reconciler{} // a nil client: reaching the API server would panic
	err := r.ownSecret(context.Background(), es, nil, &rendered{data: map[string][]byte{"k": []byte("v")}})
	if err == nil || !strings.Contains(err.Error(), "never writes ServiceAccount token Secrets") {
		t.Errorf("error %v", err)
	}
}

// Owner and Orphan write only into a Secret that carries this ExternalSecret's marks.
func TestCheckOwnership(t *testing.T) {
	secret := func(labels, annotations map[string]string, owner *metav1.OwnerReference) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", Labels: labels, Annotations: annotations}}
		if owner != nil {
			s.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		return s
	}
	managed := map[string]string{esv1.LabelManaged: esv1.LabelManagedValue}
	ours := &metav1.OwnerReference{Kind: "ExternalSecret", Name: "db", UID: "es-uid", Controller: ptr.To(true)}
	other := &metav1.OwnerReference{Kind: "ExternalSecret", Name: "other", UID: "other-uid", Controller: ptr.To(true)}
	for _, tc := range []struct {
		name     string
		existing *corev1.Secret
		refusal  string
	}{
		{"hand-made", secret(nil, nil, nil), "add that label and annotation"},
		{"Helm release", secret(map[string]string{"owner": "helm"}, nil, nil), "use creationPolicy Merge"},
		{"managed label only", secret(managed, nil, nil), "does not carry both the label"},
		{"another ExternalSecret's Orphan Secret", secret(managed, map[string]string{annotationOwner: "other"}, nil), "does not carry both the label"},
		{"another ExternalSecret's Owner Secret", secret(managed, map[string]string{annotationOwner: "other"}, other), `controlled by ExternalSecret "other"`},
		{"this ExternalSecret's Owner Secret (ESO's marks)", secret(managed, nil, ours), ""},
		{"this ExternalSecret's Orphan Secret", secret(managed, map[string]string{annotationOwner: "db"}, nil), ""},
	} {
		for _, policy := range []esv1.ExternalSecretCreationPolicy{esv1.CreatePolicyOwner, esv1.CreatePolicyOrphan} {
			es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", UID: "es-uid"}}
			es.Spec.Target.CreationPolicy = policy
			err := (&Reconciler{}).checkOwnership(es, tc.existing)
			switch {
			case tc.refusal == "" && err != nil:
				t.Errorf("%s, %s: refused: %v", tc.name, policy, err)
			case tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal) || !strings.Contains(err.Error(), string(policy))):
				t.Errorf("%s, %s: error %v, want one saying %q", tc.name, policy, err, tc.refusal)
			}
		}
	}
}

// An API server rejection is described by its reason and fields, never by its message,
// which quotes the rejected value.
func TestAPIError_DoesNotQuoteTheServer(t *testing.T) {
	value := "s3cr3t-label-value!"
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "db", field.ErrorList{
		field.Invalid(field.NewPath("metadata", "labels"), value, "a valid label must be an empty string or consist of alphanumeric characters"),
	})
	err := apiError("creating", "db", invalid)
	msg := err.Error()
	if strings.Contains(msg, value) || !strings.Contains(msg, "creating Secret db: the API server answered 422 Invalid: it rejected metadata.labels (FieldValueInvalid)") {
		t.Errorf("message %q", msg)
	}
	if !apierrors.IsInvalid(err) {
		t.Error("the API server's error is no longer wrapped")
	}
}

// Labels a template rendered are checked before the write; the refusal names the label.
func TestCheckMetadata(t *testing.T) {
	// "bad key" is a remote name (fetched), "token" a label the spec names: both are quoted.
	es := &esv1.ExternalSecret{}
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Metadata: esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"token": "{{ .x }}"}}}
	out := &rendered{labels: map[string]string{"team": "payments", "token": "not a label value!"}, annotations: map[string]string{"ok": "x"}, data: map[string][]byte{"bad key": nil}, fetched: map[string][]byte{"bad key": nil}}
	err := checkMetadata(es, out)
	if err == nil || !strings.Contains(err.Error(), `Secret key "bad key" is not a valid key`) {
		t.Errorf("data key: %v", err)
	}
	out.data = map[string][]byte{"k": nil}
	err = checkMetadata(es, out)
	if err == nil || !strings.Contains(err.Error(), `the value of label "token" is not a valid label value`) || strings.Contains(err.Error(), "not a label value!") {
		t.Errorf("label value: %v", err)
	}
	// A name templateFrom rendered may be a value in any encoding ({{ .password | upper }}):
	// it is described by its length, never quoted.
	value := "S3CR3T VALUE!"
	for _, out := range []*rendered{
		{data: map[string][]byte{value: nil}},
		{labels: map[string]string{value: "x"}},
		{annotations: map[string]string{value: "x"}},
	} {
		err := checkMetadata(es, out)
		if err == nil || strings.Contains(err.Error(), value) || !strings.Contains(err.Error(), "a name templateFrom rendered, 13 bytes, not shown") {
			t.Errorf("rendered name: %v", err)
		}
	}
}

// Two Merge ExternalSecrets writing into one Secret each record their own keys: one with
// deletionPolicy Merge removes only its own key whose remote data is gone, never the other's
// key or a key added by hand, even when both wrote the same key.
func TestMerged_RecordsKeysPerExternalSecret(t *testing.T) {
	es := func(name string, deletion esv1.ExternalSecretDeletionPolicy) *esv1.ExternalSecret {
		e := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: name}}
		e.Spec.Target.CreationPolicy = esv1.CreatePolicyMerge
		e.Spec.Target.DeletionPolicy = deletion
		return e
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "app"}, Data: map[string][]byte{"hand": []byte("h")}}
	s = merged(es("a", esv1.DeletionPolicyMerge), s, map[string][]byte{"password": []byte("p"), "shared": []byte("1")})
	s = merged(es("b", esv1.DeletionPolicyMerge), s, map[string][]byte{"token": []byte("t"), "shared": []byte("2")})
	if got := s.Annotations[annotationManagedKeys]; got != "a=password,shared;b=shared,token" {
		t.Fatalf("record %q", got)
	}
	// b's token and shared are gone remotely: b removes token, keeps shared (a's too).
	s = merged(es("b", esv1.DeletionPolicyMerge), s, map[string][]byte{})
	if got := strings.Join(sortedKeys(s.Data), ","); got != "hand,password,shared" {
		t.Errorf("keys after b's data is gone: %s", got)
	}
	if got := s.Annotations[annotationManagedKeys]; got != "a=password,shared;b=shared" {
		t.Errorf("record %q", got)
	}
	// A record from before names were recorded is dropped, and its keys are left alone.
	legacy := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{annotationManagedKeys: "password,token"}}, Data: map[string][]byte{"password": nil, "token": nil}}
	legacy = merged(es("a", esv1.DeletionPolicyMerge), legacy, map[string][]byte{"password": []byte("p")})
	if got := strings.Join(sortedKeys(legacy.Data), ","); got != "password,token" || legacy.Annotations[annotationManagedKeys] != "a=password" {
		t.Errorf("legacy record: keys %s, record %q", got, legacy.Annotations[annotationManagedKeys])
	}
}

func sortedKeys(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// A Secret from the cache carries its values' hash only: the writer decides from it that
// nothing changed, and writes when the data or the metadata did.
func TestUnchanged_ComparesACachedSecretByHash(t *testing.T) {
	written := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", Labels: map[string]string{esv1.LabelManaged: esv1.LabelManagedValue},
			Annotations: map[string]string{esv1.AnnotationDataHash: dataHash(corev1.SecretTypeOpaque, map[string][]byte{"k": []byte("v1")})}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v1")},
	}
	obj, err := secrethash.StripValues(written.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	cached := obj.(*corev1.Secret)
	desired := func(value string, edit func(*corev1.Secret)) *corev1.Secret {
		d := cached.DeepCopy()
		secrethash.Writable(d)
		d.Data = map[string][]byte{"k": []byte(value)}
		d.Annotations[esv1.AnnotationDataHash] = dataHash(d.Type, d.Data)
		if edit != nil {
			edit(d)
		}
		return d
	}
	if !unchanged(cached, desired("v1", nil)) {
		t.Error("same data and metadata: a write would be made")
	}
	if unchanged(cached, desired("v2", nil)) {
		t.Error("new data: no write")
	}
	if unchanged(cached, desired("v1", func(s *corev1.Secret) { s.Labels["team"] = "a" })) {
		t.Error("new label: no write")
	}
	if unchanged(cached, desired("v1", func(s *corev1.Secret) { s.Data["k2"] = []byte("v1") })) {
		t.Error("new key: no write")
	}
}
