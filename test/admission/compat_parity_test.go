package admission

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// ESO's CRDs accept these (Vigil's used to refuse them in the schema); they now apply, and
// the webhook says what Vigil will do with them.
func TestCompatWarnings_WhatESOsSchemaAcceptsAndVigilRefusesAtSync(t *testing.T) {
	ns := env.T(t).NewNamespace()
	ctx := context.Background()
	digits, symbols := 20, 20
	negative := -1
	cases := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"deletionPolicy Delete with creationPolicy Orphan", targetES(ns, "orphan-delete", esv1.ExternalSecretTarget{
			CreationPolicy: esv1.CreatePolicyOrphan, DeletionPolicy: esv1.DeletionPolicyDelete,
		}), "deletionPolicy Delete needs creationPolicy Owner"},
		{"deletionPolicy Merge with creationPolicy None", targetES(ns, "none-merge", esv1.ExternalSecretTarget{
			CreationPolicy: esv1.CreatePolicyNone, DeletionPolicy: esv1.DeletionPolicyMerge,
		}), "deletionPolicy Merge with creationPolicy None"},
		{"digits + symbols over length", &genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "long"},
			Spec: genv1alpha1.PasswordSpec{Length: 24, Digits: &digits, Symbols: &symbols}},
			"spec.digits + spec.symbols (40) exceed spec.length (24)"},
		{"negative digits", &genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "neg"},
			Spec: genv1alpha1.PasswordSpec{Length: 24, Digits: &negative}}, "must not be negative"},
		{"ECR secretRef and jwt", bothAuthECR(ns), "spec.auth sets both secretRef and jwt: secretRef is used"},
		{"store refreshInterval not a duration", refreshStore(ns, intstr.FromString("soon")),
			`spec.refreshInterval "soon" is not a duration`},
	}
	for _, tc := range cases {
		warnings.take()
		if err := c.Create(ctx, tc.obj); err != nil {
			t.Errorf("%s: an object ESO's CRD accepts was refused: %v", tc.name, err)
			continue
		}
		if got := strings.Join(warnings.take(), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: no admission warning says %q; warnings: %q", tc.name, tc.want, got)
		}
	}
	// ESO's forms of refreshInterval, seconds and a duration, apply without a warning.
	for i, v := range []intstr.IntOrString{intstr.FromInt32(3600), intstr.FromString("1h")} {
		warnings.take()
		s := refreshStore(ns, v)
		s.Name += string(rune('a' + i))
		if err := c.Create(ctx, s); err != nil {
			t.Errorf("refreshInterval %s was refused: %v", v.String(), err)
		} else if got := strings.Join(warnings.take(), "\n"); strings.Contains(got, "refreshInterval") {
			t.Errorf("refreshInterval %s drew a warning: %q", v.String(), got)
		}
	}
}

func targetES(ns, name string, target esv1.ExternalSecretTarget) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
			Target:         target,
			Data:           []esv1.ExternalSecretData{{SecretKey: "a", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k"}}},
		},
	}
}

func bothAuthECR(ns string) *genv1alpha1.ECRAuthorizationToken {
	return &genv1alpha1.ECRAuthorizationToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr-both"},
		Spec: genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1", Auth: bothAuthStore(ns).Spec.Provider.AWS.Auth}}
}

func refreshStore(ns string, v intstr.IntOrString) *esv1.SecretStore {
	s := bothAuthStore(ns)
	s.Name = "refresh"
	s.Spec.Provider.AWS.Auth.JWTAuth = nil
	s.Spec.RefreshInterval = &v
	return s
}
