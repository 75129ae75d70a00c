package aws

import (
	"context"
	"testing"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vigil-dev/vigil/providers"
)

// userAgentOf runs nameRequesterMiddleware on a request whose User-Agent is ua and returns
// the User-Agent the next handler sees.
func userAgentOf(t *testing.T, ctx context.Context, ua string) string {
	t.Helper()
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	var got string
	next := middleware.BuildHandlerFunc(func(_ context.Context, in middleware.BuildInput) (
		middleware.BuildOutput, middleware.Metadata, error) {
		got = in.Request.(*smithyhttp.Request).Header.Get("User-Agent")
		return middleware.BuildOutput{}, middleware.Metadata{}, nil
	})
	if _, _, err := nameRequesterMiddleware(ctx, middleware.BuildInput{Request: req}, next); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestNameRequester_SanitisesTheExternalSecretName(t *testing.T) {
	for name, want := range map[string]string{
		"db":                                "vigil-external-secret/db",
		"db\r\nX-Injected: 1":               "vigil-external-secret/db--X-Injected--1",
		"a b/c vigil-namespace/kube-system": "vigil-external-secret/a-b-c-vigil-namespace-kube-system",
	} {
		ctx := providers.WithRequester(context.Background(), "team-a", name)
		if got := userAgentOf(t, ctx, ""); got != want {
			t.Errorf("name %q: user agent %q, want %q", name, got, want)
		}
	}
	ctx := providers.WithRequester(context.Background(), "team-a", "db")
	if got := userAgentOf(t, ctx, "app/1"); got != "app/1 vigil-external-secret/db" {
		t.Errorf("user agent %q, want the name appended to app/1", got)
	}
}

func TestNameRequester_CallsForNoExternalSecretNameNone(t *testing.T) {
	if got := userAgentOf(t, context.Background(), ""); got != "" {
		t.Errorf("user agent %q, want none", got)
	}
}
