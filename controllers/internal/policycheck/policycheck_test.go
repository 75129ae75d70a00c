package policycheck

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/policy"
)

// The push controller's check before any write: a PushSecret that writes outside its
// namespace's prefixes is a Waiting PolicyViolation naming the rule (rechecked, not retried
// with backoff); one inside them passes; a nil gate checks nothing.
func TestPushSecret_BlocksAWriteOutsideThePrefix(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, esv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments",
		Annotations: map[string]string{policy.SecretPrefixAnnotation: "prod/payments/"}}}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "sm"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"},
			}}}}}}
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holder.Set(holder.Get())
	gate := &policy.Gate{Policies: holder,
		Builder: &policy.Builder{Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(ns, store).Build()}}
	ps := func(key string) *esv1alpha1.PushSecret {
		return &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "push"},
			Spec: esv1alpha1.PushSecretSpec{
				SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "sm", Kind: esv1.SecretStoreKind}},
				Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{
					SecretKey: "password", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: key}}}},
			}}
	}

	err = PushSecret(ctx, gate, ps("prod/billing/db"), []esv1.GenericStore{store})
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Kind != outcome.KindWaiting || oe.Reason != esv1.ReasonPolicyViolation || oe.After != Recheck {
		t.Fatalf("a write outside the prefix: %#v, want a Waiting PolicyViolation error", err)
	}
	for _, want := range []string{"pushsecret-key-outside-prefix", `"prod/billing/db"`, "fix: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if err := PushSecret(ctx, gate, ps("prod/payments/db"), []esv1.GenericStore{store}); err != nil {
		t.Errorf("a write inside the prefix was blocked: %v", err)
	}
	if err := PushSecret(ctx, nil, ps("prod/billing/db"), nil); err != nil {
		t.Errorf("a nil gate checked something: %v", err)
	}
}

// Deleting what a PushSecret pushed is checked through the store as it is now: a key that
// the store names outside the namespace's prefixes is a Waiting PolicyViolation that names
// the store and the way out (deletionPolicy None); one inside passes.
func TestPushSecretDeletes_BlocksADeleteOutsideThePrefix(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, esv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments",
		Annotations: map[string]string{policy.SecretPrefixAnnotation: "prod/payments/"}}}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "sm"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Prefix: "prod/billing/",
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "creds", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "creds", Key: "secret"},
			}}}}}}
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holder.Set(holder.Get())
	gate := &policy.Gate{Policies: holder,
		Builder: &policy.Builder{Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(ns, store).Build()}}
	ps := &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "push"}}
	keys := []policy.PushedKey{{Path: `status.syncedPushSecrets["SecretStore/sm"]["db"]`, Store: store, RemoteKey: "db"}}

	err = PushSecretDeletes(ctx, gate, ps, store, keys)
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Kind != outcome.KindWaiting || oe.Reason != esv1.ReasonPolicyViolation {
		t.Fatalf("deleting prod/billing/db: %#v, want a Waiting PolicyViolation error", err)
	}
	for _, want := range []string{"SecretStore/sm", "deletionPolicy None", `"prod/billing/db"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	store.Spec.Provider.AWS.Prefix = "prod/payments/"
	if err := PushSecretDeletes(ctx, gate, ps, store, keys); err != nil {
		t.Errorf("deleting prod/payments/db was blocked: %v", err)
	}
}
