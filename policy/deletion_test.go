package policy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

func protectingPolicy(name string, optOut policyv1alpha1.DeletionProtectionOptOut,
	match policyv1alpha1.PolicyMatch) policyv1alpha1.ClusterSecretPolicy {
	return policyv1alpha1.ClusterSecretPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1alpha1.ClusterSecretPolicySpec{Match: match,
			DeletionProtection: &policyv1alpha1.DeletionProtection{Enabled: true, AllowOptOut: optOut}},
	}
}

func annotatedMeta(name, value string) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{Name: name, Namespace: "team-a"}
	if value != "" {
		m.Annotations = map[string]string{AnnotationDeletionProtection: value}
	}
	return m
}

func namespace(value string, labels map[string]string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: labels}}
	if value != "" {
		ns.Annotations = map[string]string{AnnotationDeletionProtection: value}
	}
	return ns
}

// Who protects, and who may lift what: a tenant's "false" lifts only a policy default
// whose allowOptOut says ExternalSecret, never the namespace's "true".
func TestDeletionProtection_Decision(t *testing.T) {
	prod := policyv1alpha1.PolicyMatch{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}
	cases := []struct {
		name     string
		policies []policyv1alpha1.ClusterSecretPolicy
		es, ns   string
		nsLabels map[string]string
		want     []string // what protects: es, namespace, policy names
	}{
		{name: "nothing", want: nil},
		{name: "ExternalSecret annotation", es: "true", want: []string{"es"}},
		{name: "ParseBool spelling", es: "True", want: []string{"es"}},
		{name: "not a bool protects nothing", es: "yes", want: nil},
		{name: "namespace annotation", ns: "true", want: []string{"namespace"}},
		{name: "tenant false does not lift the namespace's", es: "false", ns: "true", want: []string{"namespace"}},
		{name: "namespace false does not lift the tenant's", es: "true", ns: "false", want: []string{"es"}},
		{name: "policy default", policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", "", policyv1alpha1.PolicyMatch{})},
			want: []string{"p"}},
		{name: "policy None: tenant false does not lift", es: "false", ns: "false",
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", policyv1alpha1.OptOutNone, policyv1alpha1.PolicyMatch{})},
			want:     []string{"p"}},
		{name: "policy Namespace: namespace false lifts", ns: "false",
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", policyv1alpha1.OptOutNamespace, policyv1alpha1.PolicyMatch{})},
			want:     nil},
		{name: "policy Namespace: tenant false does not lift", es: "false",
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", policyv1alpha1.OptOutNamespace, policyv1alpha1.PolicyMatch{})},
			want:     []string{"p"}},
		{name: "policy ExternalSecret: tenant false lifts", es: "false",
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", policyv1alpha1.OptOutExternalSecret, policyv1alpha1.PolicyMatch{})},
			want:     nil},
		{name: "policy ExternalSecret: namespace false lifts", ns: "false",
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", policyv1alpha1.OptOutExternalSecret, policyv1alpha1.PolicyMatch{})},
			want:     nil},
		{name: "the stricter of two policies holds", es: "false", policies: []policyv1alpha1.ClusterSecretPolicy{
			protectingPolicy("lax", policyv1alpha1.OptOutExternalSecret, policyv1alpha1.PolicyMatch{}),
			protectingPolicy("strict", policyv1alpha1.OptOutNone, policyv1alpha1.PolicyMatch{})},
			want: []string{"strict"}},
		{name: "policy selects by namespace label", nsLabels: map[string]string{"env": "prod"},
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", "", prod)}, want: []string{"p"}},
		{name: "policy does not select other namespaces", nsLabels: map[string]string{"env": "dev"},
			policies: []policyv1alpha1.ClusterSecretPolicy{protectingPolicy("p", "", prod)}, want: nil},
		{name: "excluded namespace", policies: []policyv1alpha1.ClusterSecretPolicy{
			protectingPolicy("p", "", policyv1alpha1.PolicyMatch{ExcludedNamespaces: []string{"team-a"}})}, want: nil},
		{name: "kinds without ExternalSecret", policies: []policyv1alpha1.ClusterSecretPolicy{
			protectingPolicy("p", "", policyv1alpha1.PolicyMatch{Kinds: []string{"SecretStore"}})}, want: nil},
		{name: "disabled policy", policies: []policyv1alpha1.ClusterSecretPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "off"},
			Spec: policyv1alpha1.ClusterSecretPolicySpec{DeletionProtection: &policyv1alpha1.DeletionProtection{}}}}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := NewSet(context.Background(), tc.policies)
			if err != nil {
				t.Fatal(err)
			}
			p := set.DeletionProtection(annotatedMeta("db", tc.es), namespace(tc.ns, tc.nsLabels))
			var got []string
			if p.ExternalSecret {
				got = append(got, "es")
			}
			if p.Namespace {
				got = append(got, "namespace")
			}
			for _, pp := range p.Policies {
				got = append(got, pp.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("protected by %v, want %v", got, tc.want)
			}
			if p.Protected() != (len(tc.want) > 0) {
				t.Errorf("Protected() = %v with %v", p.Protected(), got)
			}
		})
	}
}

// The refusal names each source and the exact command that lifts it, or who may.
func TestDeletionProtection_RefusalSaysHowToLiftIt(t *testing.T) {
	p := Protection{ExternalSecret: true, Namespace: true, Policies: []PolicyProtection{
		{Name: "strict", OptOut: policyv1alpha1.OptOutNone},
		{Name: "lax", OptOut: policyv1alpha1.OptOutExternalSecret},
		{Name: "ns", OptOut: policyv1alpha1.OptOutNamespace},
	}}
	msg := p.Refusal("db", "team-a")
	for _, want := range []string{
		"ExternalSecret team-a/db is protected from deletion",
		"kubectl annotate externalsecret db -n team-a vigil.dev/deletion-protection-",
		"kubectl annotate namespace team-a vigil.dev/deletion-protection-",
		"ClusterSecretPolicy strict protects this namespace by default (only the policy's owner lifts it",
		"kubectl annotate externalsecret db -n team-a vigil.dev/deletion-protection=false --overwrite",
		"kubectl annotate namespace team-a vigil.dev/deletion-protection=false --overwrite",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q\nlacks %q", msg, want)
		}
	}
}

// The webhook's DELETE path: refused while protected, allowed in a terminating namespace
// and for a ClusterExternalSecret's children; other kinds pass.
func TestDeletionProtection_AdmitDelete(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = policyv1alpha1.AddToScheme(scheme)
	_ = esv1.AddToScheme(scheme)
	live := namespace("", nil)
	gone := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "leaving", Finalizers: []string{"kubernetes"},
		DeletionTimestamp: new(metav1.Now())}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(live, gone,
		&esv1.ClusterExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "all", UID: "u"}}).Build()
	holder, err := NewHolder(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := &Validator{Builder: &Builder{Client: c}, Policies: holder}
	cesOwned := func(name, owner string, uid types.UID) *metav1.ObjectMeta {
		m := annotatedMeta(name, "true")
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1",
			Kind: "ClusterExternalSecret", Name: owner, UID: uid, Controller: new(true)}}
		return m
	}
	const gc = "system:serviceaccount:kube-system:generic-garbage-collector"
	leaving := annotatedMeta("db", "true")
	leaving.Namespace = "leaving"
	cases := []struct {
		name    string
		kind    string
		meta    *metav1.ObjectMeta
		allowed bool
		user    string
	}{
		{"protected", esv1.ExternalSecretKind, annotatedMeta("db", "true"), false, ""},
		{"unprotected", esv1.ExternalSecretKind, annotatedMeta("db", ""), true, ""},
		{"terminating namespace", esv1.ExternalSecretKind, leaving, true, ""},
		{"ClusterExternalSecret child", esv1.ExternalSecretKind, cesOwned("all", "all", "u"), true, ""},
		{"made-up owner uid", esv1.ExternalSecretKind, cesOwned("all", "all", "fake"), false, ""},
		{"real owner, not its child", esv1.ExternalSecretKind, cesOwned("db", "all", "u"), false, ""},
		{"made-up owner name", esv1.ExternalSecretKind, cesOwned("db", "nobody", "u"), false, ""},
		{"garbage collector, owner gone", esv1.ExternalSecretKind, cesOwned("db", "gone", "u"), true, gc},
		{"other kind", esv1.SecretStoreKind, annotatedMeta("db", "true"), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{"metadata": tc.meta})
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				Operation: admissionv1.Delete, Name: tc.meta.Name, Namespace: tc.meta.Namespace,
				Kind:      metav1.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: tc.kind},
				OldObject: runtime.RawExtension{Raw: raw},
				UserInfo:  authenticationv1.UserInfo{Username: tc.user},
			}}
			resp := v.Handle(context.Background(), req)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%v)", resp.Allowed, tc.allowed, resp.Result)
			}
			if !tc.allowed && (resp.Result.Code != http.StatusForbidden ||
				!strings.Contains(resp.Result.Message, "vigil.dev/deletion-protection-")) {
				t.Errorf("refusal %d %q does not say how to lift it", resp.Result.Code, resp.Result.Message)
			}
		})
	}
}
