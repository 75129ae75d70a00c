package audit

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
)

// The audit judges a PushSecret's remote keys through the store it names, as the push
// controller does: "db" through a store whose prefix is the namespace's is inside it, the same
// key through a store without one is outside it; a namespace that has only PushSecrets gets a
// report too, and the report names a PushSecret by its one API version.
func TestEvaluate_JudgesPushSecretsThroughTheirStores(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, esv1.AddToScheme, esv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments",
		Annotations: map[string]string{policy.SecretPrefixAnnotation: "prod/payments/"}}}
	store := func(name, prefix string) esv1.SecretStore {
		return esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
				Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Prefix: prefix,
				Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}},
			}}}}
	}
	prefixed, bare := store("prefixed", "prod/payments/"), store("bare", "")
	ps := func(ns, name, storeName string) esv1alpha1.PushSecret {
		return esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
			Spec: esv1alpha1.PushSecretSpec{
				SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: storeName, Kind: esv1.SecretStoreKind}},
				Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
				Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{
					SecretKey: "password", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "db"}}}},
			}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ns, &prefixed, &bare).Build()
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holder.Set(holder.Get())
	a := NewAuditor(c, &policy.Gate{Builder: &policy.Builder{Client: c}, Policies: holder, Op: policy.OpAudit}, nil, 0)
	inv := &inventory{}
	inv.stores.Items = []esv1.SecretStore{prefixed, bare}
	inv.pss.Items = []esv1alpha1.PushSecret{
		ps("payments", "through-prefixed", "prefixed"), ps("payments", "through-bare", "bare"), ps("pushonly", "p", "x"),
	}

	results, audited, err := a.evaluate(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		if r.kind == policy.PushSecretKind {
			got = append(got, r.v.Rule+" "+r.namespace+"/"+r.name+" "+r.uid)
		}
	}
	want := []string{"pushsecret-key-outside-prefix payments/through-bare uid-through-bare"}
	if !slices.Equal(got, want) {
		t.Errorf("PushSecret violations %q, want %q", got, want)
	}
	if audited["payments"] != 4 || audited["pushonly"] != 1 {
		t.Errorf("audited %v, want 4 objects in payments (2 stores, 2 PushSecrets) and 1 in pushonly", audited)
	}
	if nss := namespacesOf(audited); !slices.Equal(nss, []string{"payments", "pushonly"}) {
		t.Errorf("namespaces with a report %q, want payments and pushonly", nss)
	}
	if v := apiVersionOf(policy.PushSecretKind); v != "external-secrets.io/v1alpha1" {
		t.Errorf("a PushSecret is named by %s, want external-secrets.io/v1alpha1", v)
	}
	if v := apiVersionOf(esv1.ExternalSecretKind); v != "external-secrets.io/v1" {
		t.Errorf("an ExternalSecret is named by %s, want external-secrets.io/v1", v)
	}
}

// pagedReader serves ExternalSecret pages by continue token; expired tokens answer as the API
// server does when a list outlives etcd's history: 410 Expired with a token to go on with.
type pagedReader struct {
	client.Reader
	pages   map[string]esv1.ExternalSecretList
	expired map[string]string
	asked   []string
}

func (p *pagedReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := (&client.ListOptions{}).ApplyOptions(opts)
	p.asked = append(p.asked, o.Continue)
	if next, ok := p.expired[o.Continue]; ok {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 410,
			Reason: metav1.StatusReasonExpired, ListMeta: metav1.ListMeta{Continue: next}}}
	}
	*list.(*esv1.ExternalSecretList) = p.pages[o.Continue]
	return nil
}

// An audit that outlives the revision it started at goes on with the token the API server
// offers, instead of failing (and failing again on every audit of a large cluster).
func TestEachExternalSecret_GoesOnAfterAnExpiredContinue(t *testing.T) {
	page := func(cont string, names ...string) esv1.ExternalSecretList {
		l := esv1.ExternalSecretList{ListMeta: metav1.ListMeta{Continue: cont}}
		for _, n := range names {
			l.Items = append(l.Items, esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n}})
		}
		return l
	}
	r := &pagedReader{
		pages:   map[string]esv1.ExternalSecretList{"": page("c1", "a", "b"), "c2": page("", "c")},
		expired: map[string]string{"c1": "c2"},
	}
	a := &Auditor{ExternalSecrets: r, pageSize: 2}
	var seen []string
	err := a.eachExternalSecret(context.Background(), func(es *esv1.ExternalSecret) error {
		seen = append(seen, es.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"a", "b", "c"}) || !slices.Equal(r.asked, []string{"", "c1", "c2"}) {
		t.Errorf("judged %q after asking for pages %q; want a, b, c after \"\", c1 (expired), c2", seen, r.asked)
	}
}
