package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// dataFrom.find reads every Secrets Manager secret under a path whose name matches and whose
// tags match; rewrite renames the keys.
func TestFind_SecretsManagerByPathNameAndTags(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	for name, tag := range map[string]string{
		ns + "/app/db-password":  "payments",
		ns + "/app/api-key":      "payments",
		ns + "/app/other-team":   "billing",
		ns + "/elsewhere/db-key": "payments",
	} {
		rememberValue("find-" + name)
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("find-" + name),
			Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String(tag)}}}); err != nil {
			t.Fatal(err)
		}
	}
	path := ns + "/app/"
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "found"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{
			Find:    &esv1.ExternalSecretFind{Path: &path, Name: &esv1.FindName{RegExp: "(db|api)-"}, Tags: map[string]string{"team": "payments"}},
			Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^.*_app_", Target: ""}}},
		}},
	}}
	h.Create(awsStore(ns, "store"), es)
	s := h.WaitSecretValue(ns, "found", "db-password", "find-"+ns+"/app/db-password")
	if got := keys(s.Data); !slices.Equal(got, []string{"api-key", "db-password"}) {
		t.Errorf("found keys %v, want [api-key db-password] (path, name and tag filters, then rewrite)", got)
	}
}

// dataFrom.find on Parameter Store reads a path recursively.
func TestFind_ParameterStoreByPath(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(cfg)
	for _, name := range []string{"/" + ns + "/app/url", "/" + ns + "/app/nested/token", "/" + ns + "/other/x"} {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("p-" + name), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}
	store := awsStore(ns, "params")
	store.Spec.Provider.AWS.Service = esv1.AWSServiceParameterStore
	path := "/" + ns + "/app"
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "params"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "params", Kind: esv1.SecretStoreKind},
		DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Path: &path}}},
	}}
	h.Create(store, es)
	prefix := "_" + ns + "_app_"
	s := h.WaitSecretValue(ns, "params", prefix+"url", "p-/"+ns+"/app/url")
	if got := keys(s.Data); !slices.Equal(got, []string{prefix + "nested_token", prefix + "url"}) {
		t.Errorf("keys %v, want the two parameters under %s with converted names", got, path)
	}
}

// metadataPolicy Fetch reads a secret's tags: property selects one, extract yields all.
func TestMetadataPolicyFetch_ReadsTags(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(ns + "/tagged"), SecretString: aws.String("meta-value-1"),
		Tags: []smtypes.Tag{{Key: aws.String("owner"), Value: aws.String("payments")}, {Key: aws.String("tier"), Value: aws.String("gold")}}}); err != nil {
		t.Fatal(err)
	}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tags"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
		Data:           []esv1.ExternalSecretData{{SecretKey: "owner-tag", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/tagged", Property: "owner", MetadataPolicy: esv1.MetadataPolicyFetch}}},
		DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/tagged", MetadataPolicy: esv1.MetadataPolicyFetch}}},
	}}
	h.Create(awsStore(ns, "store"), es)
	s := h.WaitSecretValue(ns, "tags", "owner-tag", "payments")
	if string(s.Data["tier"]) != "gold" || string(s.Data["owner"]) != "payments" {
		t.Errorf("extract with metadataPolicy Fetch: keys %v", keys(s.Data))
	}
	if _, leaked := s.Data["meta-value-1"]; leaked {
		t.Error("the value was read instead of the metadata")
	}
}

// dataFrom.find on Parameter Store with tags: only the tagged parameters under the path.
func TestFind_ParameterStoreByTags(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(cfg)
	for name, team := range map[string]string{"/" + ns + "/app/url": "payments", "/" + ns + "/app/nested/token": "payments", "/" + ns + "/app/other": "billing", "/" + ns + "/elsewhere/x": "payments"} {
		rememberValue("t-" + name)
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("t-" + name), Type: ssmtypes.ParameterTypeSecureString,
			Tags: []ssmtypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}}}); err != nil {
			t.Fatal(err)
		}
	}
	store := awsStore(ns, "params")
	store.Spec.Provider.AWS.Service = esv1.AWSServiceParameterStore
	path := "/" + ns + "/app"
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tagged"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "params", Kind: esv1.SecretStoreKind},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{
			Find:    &esv1.ExternalSecretFind{Path: &path, Tags: map[string]string{"team": "payments"}},
			Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^_" + ns + "_app_", Target: ""}}},
		}},
	}}
	h.Create(store, es)
	s := h.WaitSecretValue(ns, "tagged", "url", "t-/"+ns+"/app/url")
	if got := keys(s.Data); !slices.Equal(got, []string{"nested_token", "url"}) {
		t.Errorf("keys %v, want the two payments parameters under %s", got, path)
	}
}
