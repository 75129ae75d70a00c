package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/test/harness"
)

const roleARN = "arn:aws:iam::123456789012:role/payments-eso"

// policyFixture is the seed's store with its ServiceAccount, and the scoped IAM policy.
func policyFixture(b *testing.B) (*policy.Builder, *esv1.SecretStore, *esv1.ExternalSecret) {
	scheme, err := manager.NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments"}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "payments-eso", Annotations: map[string]string{awsprovider.RoleARNAnnotation: roleARN}}}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "aws-secrets"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
		Service: esv1.AWSServiceSecretsManager, Region: "us-east-1",
		Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "payments-eso"}}},
	}}}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef:  esv1.SecretStoreRef{Name: "aws-secrets", Kind: esv1.SecretStoreKind},
		RefreshInterval: &metav1.Duration{Duration: time.Hour},
		Data:            []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/payments/db", Property: "password"}}},
	}}
	doc, err := os.ReadFile(filepath.Join(harness.SeedDir(), "iam-policy-scoped.json"))
	if err != nil {
		b.Fatal(err)
	}
	var d map[string]any
	_ = json.Unmarshal(doc, &d)
	// The benchmark measures evaluation; an in-memory client stands in for the cache.
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ns, sa, store).Build()
	return &policy.Builder{Client: c, IAM: policy.StaticIAM{roleARN: {{Name: "scoped", Document: d}}}}, store, es
}

// BenchmarkPolicy_Evaluations reports evaluations per second per object for each engine
// (Rego: the built-in library; CEL: the conformance rules) against a baseline of encoding
// the same input as JSON, the least any engine must do to read it.
func BenchmarkPolicy_Evaluations(b *testing.B) {
	ctx := context.Background()
	builder, store, es := policyFixture(b)
	set, err := policy.NewSet(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	storeIn, _ := builder.ForStore(ctx, store, policy.OpAudit)
	esIn, _ := builder.ForExternalSecret(ctx, es, policy.OpAudit)
	cel, err := policy.NewCELEngine([]policy.CELValidation{
		{Rule: "clustersecretstore-unscoped", Expression: `input.kind != "ClusterSecretStore" || (has(input.object.spec.conditions) && size(input.object.spec.conditions) > 0)`, Message: "m"},
		{Rule: "store-static-credentials", Expression: `!has(input.object.spec.provider) || !has(input.object.spec.provider.aws) || !has(input.object.spec.provider.aws.auth) || !has(input.object.spec.provider.aws.auth.secretRef)`, Message: "m"},
		{Rule: "externalsecret-find-without-path", Expression: `input.kind != "ExternalSecret" || !has(input.object.spec.dataFrom) || input.object.spec.dataFrom.all(f, !has(f.find) || has(f.find.path))`, Message: "m"},
	})
	if err != nil {
		b.Fatal(err)
	}
	measure := func(n int, f func()) time.Duration {
		start := time.Now()
		for range n {
			f()
		}
		return time.Since(start) / time.Duration(n)
	}
	const n = 2000
	baseline := measure(n, func() { _, _ = json.Marshal(map[string]any(storeIn)) })
	regoStore := measure(n, func() { _, _ = set.Evaluate(ctx, storeIn) })
	regoES := measure(n, func() { _, _ = set.Evaluate(ctx, esIn) })
	celStore := measure(n, func() { _, _ = cel.Evaluate(ctx, storeIn) })
	for name, d := range map[string]time.Duration{"rego-store": regoStore, "rego-externalsecret": regoES, "cel-store": celStore} {
		b.ReportMetric(float64(time.Second)/float64(d), name+"-evals/s")
		b.ReportMetric(float64(d)/float64(baseline), name+"/baseline")
	}
	fmt.Printf("policy: evaluations per second per object: Rego built-in library %0.f (store with IAM) and %0.f (ExternalSecret); CEL %0.f (store); baseline JSON encoding of the input %s (Rego store = %.0fx baseline)\n",
		float64(time.Second)/float64(regoStore), float64(time.Second)/float64(regoES), float64(time.Second)/float64(celStore), baseline, float64(regoStore)/float64(baseline))
}

// BenchmarkPolicy_AdmissionLatency sends AdmissionReviews for the seed store from 50
// concurrent clients to the webhook handler over HTTPS and reports p50 and p99, against the
// same server with a handler that admits without looking (the HTTP and TLS floor).
func BenchmarkPolicy_AdmissionLatency(b *testing.B) {
	ctx := context.Background()
	builder, store, _ := policyFixture(b)
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		b.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = admissionv1.AddToScheme(scheme)
	serve := func(h admission.Handler) *httptest.Server {
		wh := &webhook.Admission{Handler: h}
		srv := httptest.NewTLSServer(wh)
		// Keep a connection per client, as the API server does: the benchmark measures
		// reviews, not TLS handshakes.
		srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 100
		return srv
	}
	vigil := serve(&policy.Validator{Builder: builder, Policies: holder})
	defer vigil.Close()
	floor := serve(admission.HandlerFunc(func(context.Context, admission.Request) admission.Response { return admission.Allowed("") }))
	defer floor.Close()

	raw, _ := json.Marshal(store)
	review := func(uid int) []byte {
		r := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: &admissionv1.AdmissionRequest{
			UID: types.UID(fmt.Sprint("u", uid)), Kind: metav1.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: "SecretStore"},
			Operation: admissionv1.Create, Namespace: "payments", Name: "aws-secrets",
			Object: runtime.RawExtension{Raw: append([]byte(`{"apiVersion":"external-secrets.io/v1","kind":"SecretStore",`), raw[1:]...)},
		}}
		out, _ := json.Marshal(r)
		return out
	}
	run := func(srv *httptest.Server) (time.Duration, time.Duration) {
		const clients, each = 50, 40
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := srv.Client()
				for i := range each {
					body := review(c*each + i)
					start := time.Now()
					resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					var out admissionv1.AdmissionReview
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					d := time.Since(start)
					if out.Response == nil || !out.Response.Allowed {
						b.Errorf("the seed store was not admitted: %+v", out.Response)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		return lat[len(lat)/2], lat[len(lat)*99/100]
	}
	run(vigil) // warm up: connections, caches
	fp50, fp99 := run(floor)
	p50, p99 := run(vigil)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(p99)/float64(fp99), "p99/floor")
	fmt.Printf("admission: 50 concurrent clients, 2000 reviews of the seed store: p50 %s, p99 %s; floor (same server, handler that admits without looking) p50 %s, p99 %s\n",
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), fp50.Round(10*time.Microsecond), fp99.Round(10*time.Microsecond))
}
