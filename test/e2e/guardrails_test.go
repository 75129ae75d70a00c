package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// createRole creates an IAM role in moto with one of the seed IAM policies inline.
func createRole(t *testing.T, ctx context.Context, name, policyFile string) string {
	t.Helper()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(seedDir(), policyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/cluster"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(string(doc))}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

// irsaSetup creates, in a new namespace, a ServiceAccount for role, the seed's store (IRSA)
// and ExternalSecret reading prod/payments/db.
func irsaSetup(t *testing.T, ctx context.Context, role string) string {
	t.Helper()
	ns := newNamespace(t, ctx)
	value, _ := seedValue(t)
	putRemote(t, ctx, "prod/payments/db", value)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payments-eso", Annotations: map[string]string{awsprovider.RoleARNAnnotation: role}}}
	store := awsStore(ns, "aws-secrets")
	store.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "payments-eso"}}
	create(t, ctx, sa, store, externalSecret(ns, "db-credentials", "aws-secrets", "prod/payments/db", map[string]string{"password": "password", "username": "username"}))
	return ns
}

func TestGuardrails_ScopedRoleSyncs(t *testing.T) {
	ctx := context.Background()
	role := createRole(t, ctx, "scoped", "iam-policy-scoped.json")
	ns := irsaSetup(t, ctx, role)
	waitStoreReason(t, ctx, types.NamespacedName{Namespace: ns, Name: "aws-secrets"}, esv1.ReasonStoreValid)
	waitReason(t, ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonSecretSynced)
}

// A store whose role reads secrets on "*" is blocked before any credential is used: the
// store and its ExternalSecret report PolicyViolation naming the rule, and moto serves no
// GetSecretValue for it.
func TestGuardrails_WildcardRoleBlockedAtReconcile(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(); err != nil { // an empty recording
		t.Fatal(err)
	}
	role := createRole(t, ctx, "wildcard", "iam-policy-wildcard.json")
	ns := irsaSetup(t, ctx, role)

	store := waitStoreReason(t, ctx, types.NamespacedName{Namespace: ns, Name: "aws-secrets"}, esv1.ReasonPolicyViolation)
	es := waitReason(t, ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonPolicyViolation)
	for _, msg := range []string{storeMessage(store), readyMessage(es)} {
		for _, want := range []string{"aws-wildcard-secret-resource", role, `"*"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("policy message %q does not mention %q", msg, want)
			}
		}
	}
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		body := r.Body
		if r.Encoded {
			b, _ := base64.StdEncoding.DecodeString(body)
			body = string(b)
		}
		if r.Target() == "secretsmanager.GetSecretValue" && strings.Contains(body, "prod/payments/db") {
			t.Fatalf("moto served GetSecretValue for a store that policy blocks")
		}
		if formOf(r).Get("Action") == "AssumeRoleWithWebIdentity" {
			t.Fatalf("the blocked store's credentials were used (AssumeRoleWithWebIdentity)")
		}
	}
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials"}, &corev1.Secret{}); err == nil {
		t.Errorf("a Secret was written through a store that policy blocks")
	}
}
