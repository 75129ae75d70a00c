package providers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/providers"
)

func TestAuditName(t *testing.T) {
	for in, want := range map[string]string{
		"payments":               "payments",
		"db.creds-v2":            "db.creds-v2",
		"a/b\r\nX-Evil: 1":       "a-b--X-Evil--1",
		strings.Repeat("x", 300): strings.Repeat("x", 253),
	} {
		if got := providers.AuditName(in); got != want {
			t.Errorf("AuditName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Requests made for an ExternalSecret carry it in a header, sanitised; others carry none,
// and the caller's request is left as it was.
func TestRequesterHeaders(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(providers.ExternalSecretHeader))
	}))
	defer srv.Close()
	c := &http.Client{Transport: providers.RequesterHeaders(http.DefaultTransport)}
	for _, ctx := range []context.Context{
		providers.WithRequester(context.Background(), "team-a", "db\ncreds"),
		context.Background(),
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get(providers.ExternalSecretHeader) != "" {
			t.Error("the caller's request was changed")
		}
	}
	if len(got) != 2 || got[0] != "team-a/db-creds" || got[1] != "" {
		t.Errorf("headers received %q, want [team-a/db-creds, none]", got)
	}
}
