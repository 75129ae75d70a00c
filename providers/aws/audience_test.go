package aws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/test/harness"
)

// The ServiceAccount token exchanged with STS (IRSA) is minted by the real API server with
// the audience sts.amazonaws.com (plus serviceAccountRef.audiences), never the API server's
// own: decoded from the AssumeRoleWithWebIdentity request STS receives.
func TestIRSATokenAudience(t *testing.T) {
	ctx := context.Background()
	cp, err := harness.StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	for _, o := range []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "irsa"}}} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "irsa", Name: "app",
		Annotations: map[string]string{aws.RoleARNAnnotation: "arn:aws:iam::123456789012:role/app"}}}
	if err := cp.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var token string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		if tok := r.PostForm.Get("WebIdentityToken"); tok != "" {
			token = tok
		}
		mu.Unlock()
		http.Error(w, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>stop</Message></Error></ErrorResponse>", http.StatusForbidden)
	}))
	defer sts.Close()
	for _, tc := range []struct {
		extra, want []string
	}{{nil, []string{aws.STSAudience}}, {[]string{"extra"}, []string{aws.STSAudience, "extra"}}} {
		s := store(esv1.AWSServiceSecretsManager)
		s.Namespace = "irsa"
		s.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app", Audiences: tc.extra}}
		p := aws.New(aws.Options{LoadOptions: []func(*config.LoadOptions) error{config.WithBaseEndpoint(sts.URL)}})
		c, err := p.NewClient(ctx, s, cp.Client, "irsa")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.GetSecret(ctx, providers.Ref{Key: "any"})
		mu.Lock()
		got, err := harness.TokenAudiences(token)
		mu.Unlock()
		if err != nil {
			t.Fatalf("STS received no ServiceAccount token: %v", err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("STS received a token for %v, want %v", got, tc.want)
		}
	}
}
