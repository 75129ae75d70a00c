package webhookcert

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"
)

// Collection reads of the named resources get a field selector naming the one object;
// named reads, writes and other resources pass unchanged.
func TestNameScoped(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("fieldSelector")
	}))
	defer srv.Close()
	cfg := nameScoped(&rest.Config{Host: srv.URL}, map[string]string{"validatingwebhookconfigurations": "vigil", "secrets": "vigil-webhook-cert"})
	rt, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?watch=true", "metadata.name=vigil"},
		{"GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?fieldSelector=metadata.name%3Dother", "metadata.name=vigil"},
		{"GET", "/api/v1/namespaces/vigil-system/secrets", "metadata.name=vigil-webhook-cert"},
		{"GET", "/api/v1/secrets", "metadata.name=vigil-webhook-cert"},
		{"GET", "/api/v1/namespaces/vigil-system/secrets/other", ""},
		{"PUT", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/vigil", ""},
		{"GET", "/api/v1/namespaces/vigil-system/configmaps", ""},
		{"GET", "/api/v1/namespaces", ""},
		{"GET", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", ""},
	} {
		got = "unset"
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := rt.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got != tc.want {
			t.Errorf("%s %s: fieldSelector %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
