package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/test/harness"
)

// seedValue is the remote value of prod/payments/db from the seed fixtures.
func seedValue(t *testing.T) (string, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(harness.SeedDir(), "remote-secret-prod-payments-db.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	return string(raw), fields
}

// applySeed applies every seed manifest verbatim, in file order.
func applySeed(t *testing.T, ctx context.Context) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(harness.SeedDir(), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed manifests in %s: %v", harness.SeedDir(), err)
	}
	slices.Sort(files)
	for _, f := range files {
		objs, err := env.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if strings.HasPrefix(o.GetAPIVersion(), "external-secrets.io/") && o.GetAPIVersion() != "external-secrets.io/v1beta1" {
				t.Errorf("%s: seed object %s is %s, expected v1beta1", f, o.GetName(), o.GetAPIVersion())
			}
		}
	}
}

func TestSeed_SyncsThroughIRSA(t *testing.T) {
	// Not parallel: it resets moto's recording and uses the seed's fixed namespace.
	h := env.T(t)
	ctx := context.Background()
	value, fields := seedValue(t)
	if err := moto.Reset(); err != nil { // a fresh recording for this test
		t.Fatal(err)
	}
	h.PutRemote("prod/payments/db", value)
	applySeed(t, ctx)

	db := h.WaitReason(types.NamespacedName{Namespace: "payments", Name: "db-credentials"}, esv1.ReasonSecretSynced)
	secret := h.Secret("payments", "db-credentials")
	if got := keys(secret.Data); !slices.Equal(got, []string{"password", "username"}) {
		t.Errorf("db-credentials keys = %v, want [password username]", got)
	}
	for _, k := range []string{"username", "password"} {
		if string(secret.Data[k]) != fields[k] {
			t.Errorf("db-credentials key %s does not hold the remote property %s", k, k)
		}
	}
	owner := metav1.GetControllerOf(secret)
	if owner == nil || owner.UID != db.UID || owner.Kind != "ExternalSecret" {
		t.Errorf("db-credentials controller owner = %+v, want ExternalSecret db-credentials (creationPolicy Owner)", owner)
	}
	if secret.Labels[esv1.LabelManaged] != "true" || secret.Annotations[esv1.AnnotationDataHash] == "" {
		t.Errorf("db-credentials lacks the managed label or data-hash annotation: labels %v", secret.Labels)
	}

	h.WaitReason(types.NamespacedName{Namespace: "payments", Name: "app-config"}, esv1.ReasonSecretSynced)
	app := h.Secret("payments", "app-config")
	want := keysOf(fields)
	if got := keys(app.Data); !slices.Equal(got, want) {
		t.Errorf("app-config keys = %v, want every JSON key %v (dataFrom.extract)", got, want)
	}
	for k, v := range fields {
		if string(app.Data[k]) != v {
			t.Errorf("app-config key %s does not hold the remote field", k)
		}
	}

	assertWebIdentityCall(t, "payments", "payments-eso", "arn:aws:iam::123456789012:role/payments-eso")
}

// assertWebIdentityCall checks that moto served AssumeRoleWithWebIdentity for the role with
// a token the API server minted for the ServiceAccount, for the STS audience.
func assertWebIdentityCall(t *testing.T, ns, sa, role string) {
	t.Helper()
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		form := formOf(r)
		if form.Get("Action") != "AssumeRoleWithWebIdentity" {
			continue
		}
		if form.Get("RoleArn") != role {
			t.Errorf("AssumeRoleWithWebIdentity for role %q, want %q", form.Get("RoleArn"), role)
		}
		claims, err := harness.DecodeToken(form.Get("WebIdentityToken"))
		if err != nil {
			t.Fatalf("web identity token: %v", err)
		}
		if want := "system:serviceaccount:" + ns + ":" + sa; claims.Sub != want {
			t.Errorf("web identity token subject %q, want %q", claims.Sub, want)
		}
		if !slices.Contains(claims.Aud, aws.STSAudience) {
			t.Errorf("web identity token audiences %v lack %s", claims.Aud, aws.STSAudience)
		}
		return
	}
	t.Fatalf("moto served no AssumeRoleWithWebIdentity call among %d requests", len(reqs))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keysOf(m map[string]string) []string { return keys(m) }
