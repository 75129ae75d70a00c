package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/kubernetes"
	"github.com/vigil-dev/vigil/test/harness"
)

func withURL(s *esv1.SecretStore, url string) *esv1.SecretStore {
	s.Spec.Provider.Kubernetes.Server.URL = url
	return s
}

// recorder is a TLS server that plays a remote API server: it records the bearer tokens it
// is sent and answers with status and body.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.tokens = append(r.tokens, strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		r.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tokens)
}

// A token minted for auth.serviceAccount and sent to another host carries the audience the
// store names, never this cluster's API server's: the remote host cannot replay it here.
// Without named audiences such a store is refused before any token is minted.
func TestMintedTokenForAnotherHostCarriesTheStoresAudience(t *testing.T) {
	ctx := context.Background()
	remote := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "{}", http.StatusNotFound) })
	s := withURL(store(&esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader", Audiences: []string{"cluster-b"}}}), remote.srv.URL)
	s.Spec.Provider.Kubernetes.Server.CABundle = remote.caPEM()
	c := newClient(t, s)
	_, _ = c.GetSecret(ctx, providers.Ref{Key: "any"})
	got := remote.seen()
	if len(got) == 0 || got[0] == "" {
		t.Fatal("the remote server received no token")
	}
	if aud, err := harness.TokenAudiences(got[0]); err != nil || !slices.Equal(aud, []string{"cluster-b"}) {
		t.Errorf("token audiences %v (%v), want [cluster-b]", aud, err)
	}
	// The remote host cannot replay the token here: this cluster's API server refuses it.
	cfg := rest.CopyConfig(cp.Config)
	cfg.CertData, cfg.KeyData, cfg.BearerToken = nil, nil, got[0]
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(remoteNS).List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("the API server answered the replayed token with %v, want 401 Unauthorized", err)
	}
	if err := kubernetes.New(kubernetes.Options{}).ValidateStore(withURL(store(saAuth), remote.srv.URL)); err == nil || !strings.Contains(err.Error(), "audiences is empty") {
		t.Errorf("a remote host without audiences: %v, want a refusal", err)
	}
	// To this cluster's own API server, a token with its audience works (the suite's
	// other tests read with it); decode one to be sure it is not another audience.
	local, err := harness.TokenAudiences(mint(t, ctx, nil))
	if err != nil || slices.Contains(local, "cluster-b") || len(local) == 0 {
		t.Errorf("local token audiences %v (%v)", local, err)
	}
}

// mint gets a token for app/reader through the API server, as the provider does.
func mint(t *testing.T, ctx context.Context, aud []string) string {
	t.Helper()
	m, err := providers.NewServiceAccountToken(ctx, cp.Client, store(saAuth), esv1.ServiceAccountSelector{Name: "reader"}, storeNS, aud, 600e9)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Mint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A server that redirects elsewhere (here to a plain-http host) does not get the token
// carried there: the request is refused before it leaves.
func TestRedirectDoesNotCarryTheToken(t *testing.T) {
	ctx := context.Background()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the redirect target received a token")
		}
		http.Error(w, "{}", http.StatusNotFound)
	}))
	defer elsewhere.Close()
	remote := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	})
	s := withURL(store(tokenAuth), remote.srv.URL)
	s.Spec.Provider.Kubernetes.Server.CABundle = remote.caPEM()
	_, err := newClient(t, s).GetSecret(ctx, providers.Ref{Key: "x"})
	if err == nil || !strings.Contains(err.Error(), "refusing a request") {
		t.Errorf("read through a redirect: %v, want a refusal", err)
	}
	// The redirect's target is the remote server's text: the message leaves it out.
	if target := strings.TrimPrefix(elsewhere.URL, "http://"); err != nil && strings.Contains(err.Error(), target) {
		t.Errorf("refusal %q names the redirect's target %s", err, target)
	}
}

// Plain http is refused for every host the controller does not allow, at validation and
// at client creation; an allowed development host passes.
func TestPlainHTTPOnlyToAllowedHosts(t *testing.T) {
	p := kubernetes.New(kubernetes.Options{AllowHTTPHosts: []string{"127.0.0.1"}})
	if err := p.ValidateStore(withURL(store(tokenAuth), "http://127.0.0.1:6443")); err != nil {
		t.Errorf("an allowed host: %v", err)
	}
	bad := withURL(store(tokenAuth), "http://127.0.0.2:6443")
	if err := p.ValidateStore(bad); err == nil || !strings.Contains(err.Error(), "--allow-insecure-store-hosts") {
		t.Errorf("ValidateStore of an unlisted http host: %v", err)
	}
	if _, err := p.NewClient(context.Background(), bad, cp.Client, storeNS); err == nil || !strings.Contains(err.Error(), "only sent over https") {
		t.Errorf("NewClient of an unlisted http host: %v", err)
	}
}

// A remote server's error body (which could echo anything) does not reach the error whole.
func TestRemoteErrorBodyIsCut(t *testing.T) {
	body := strings.Repeat("echoed-value ", 1000)
	remote := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(body))
	})
	s := withURL(store(tokenAuth), remote.srv.URL)
	s.Spec.Provider.Kubernetes.Server.CABundle = remote.caPEM()
	_, err := newClient(t, s).GetSecret(context.Background(), providers.Ref{Key: "x"})
	if err == nil || len(err.Error()) > 400 || strings.Count(err.Error(), "echoed-value") > 1 {
		t.Errorf("error of %d bytes: %.300v", len(err.Error()), err)
	}
}

// Binary values (every byte, invalid UTF-8 included) arrive byte for byte through
// property, extract and find, from the real API server.
func TestBinaryValuesByteForByte(t *testing.T) {
	ctx := context.Background()
	blob := make([]byte, 512)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	blob = append(blob, 0xff, 0xfe, 0xc3, 0x28, 0, '"', '\\')
	data := map[string][]byte{"key.bin": blob, "text": []byte("plain")}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "binary", Labels: map[string]string{"kind": "binary"}}, Data: data}
	if err := cp.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, store(saAuth))
	ref := providers.Ref{Key: "binary"}
	v, err := c.GetSecret(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := providers.SelectProperty(v, ref, "key.bin")
	if err != nil || !bytes.Equal(got, blob) {
		t.Errorf("property key.bin: %d bytes, %v; want the %d bytes stored", len(got), err, len(blob))
	}
	check := func(what string, v []byte) {
		m, err := providers.ExtractMap(v, ref, "")
		if err != nil || !bytes.Equal(m["key.bin"], blob) || string(m["text"]) != "plain" {
			t.Errorf("%s: %d keys, %v; key.bin differs from what is stored", what, len(m), err)
		}
	}
	check("extract", v)
	found, err := c.(providers.Finder).Find(ctx, providers.FindRef{Tags: map[string]string{"kind": "binary"}})
	if err != nil || len(found) != 1 {
		t.Fatalf("find: %d, %v", len(found), err)
	}
	check("find", found["binary"])
}
