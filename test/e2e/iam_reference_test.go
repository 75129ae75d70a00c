package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// moto has no policy simulator (iam:SimulatePrincipalPolicy and SimulateCustomPolicy are
// not implemented in moto 5.2.5), but it enforces IAM policies when
// INITIAL_NO_AUTH_ACTION_COUNT is set. Its engine checks Secrets Manager actions against
// the resource "*" only, ignores NotResource, Conditions and boundaries, reads "?" as a
// regular expression and action names case-sensitively, so it is a reference for the
// action side of IAM's semantics only: Allow/Deny precedence, Action/NotAction, string or
// list, Statement as object or list, several statements. This test asks moto and
// policy.Decide the same question — may the user call secretsmanager:GetSecretValue
// (on "*") — for documents within that subset.
func TestIAM_DecisionsAgreeWithMotoEnforcement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ref, err := harness.NewStoppedMoto()
	if err != nil {
		t.Fatal(err)
	}
	// The first three requests (the admin user, its policy and key) are not checked; every
	// later one is.
	os.Setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3")
	err = ref.Start()
	os.Unsetenv("INITIAL_NO_AUTH_ACTION_COUNT")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	anon := iamAt(t, ctx, ref.URL, "testing", "testing")
	admin := createUser(t, ctx, anon, "admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)

	allow := func(action any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": action, "Resource": "*"}
	}
	deny := func(action any) map[string]any {
		return map[string]any{"Effect": "Deny", "Action": action, "Resource": "*"}
	}
	notAction := func(effect string, action any) map[string]any {
		return map[string]any{"Effect": effect, "NotAction": action, "Resource": "*"}
	}
	cases := map[string]any{
		"allow the action":           []any{allow("secretsmanager:GetSecretValue")},
		"allow the service":          []any{allow("secretsmanager:*")},
		"allow everything":           []any{allow("*")},
		"statement as an object":     allow("secretsmanager:GetSecretValue"),
		"action list":                []any{allow([]any{"s3:GetObject", "secretsmanager:GetSecretValue"})},
		"another service":            []any{allow("s3:*")},
		"scoped resource":            []any{map[string]any{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*"}},
		"deny beats allow":           []any{allow("*"), deny("secretsmanager:GetSecretValue")},
		"deny by wildcard":           []any{allow("secretsmanager:Get*"), deny("secretsmanager:GetSecret*")},
		"deny of another action":     []any{allow("secretsmanager:*"), deny("secretsmanager:DeleteSecret")},
		"deny by NotAction":          []any{allow("*"), notAction("Deny", "s3:*")},
		"deny by NotAction, exempt":  []any{allow("*"), notAction("Deny", "secretsmanager:*")},
		"allow by NotAction":         []any{notAction("Allow", "iam:*")},
		"allow by NotAction, exempt": []any{notAction("Allow", []any{"secretsmanager:*", "ssm:*"})},
	}
	for i, name := range slices.Sorted(maps.Keys(cases)) {
		statements := cases[name]
		t.Run(name, func(t *testing.T) {
			doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
			user := createUser(t, ctx, iamAt(t, ctx, ref.URL, admin[0], admin[1]), fmt.Sprintf("user%d", i), string(doc))
			motoAllows := motoAllowsGetSecretValue(t, ctx, ref.URL, user)
			var parsed map[string]any
			_ = json.Unmarshal(doc, &parsed)
			ours, err := policy.Decide([]policy.IAMPolicy{{Name: "p", Document: parsed}}, "secretsmanager:GetSecretValue", "*")
			if err != nil {
				t.Fatal(err)
			}
			if ours != motoAllows {
				t.Errorf("%s: policy.Decide says allowed=%v, moto's enforcement %v", doc, ours, motoAllows)
			}
		})
	}
}

func iamAt(t *testing.T, ctx context.Context, url, key, secret string) *iam.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")))
	if err != nil {
		t.Fatal(err)
	}
	return iam.NewFromConfig(cfg)
}

// createUser creates a user with an inline policy and returns its access key.
func createUser(t *testing.T, ctx context.Context, c *iam.Client, name, doc string) [2]string {
	t.Helper()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
}

// motoAllowsGetSecretValue: a secret that does not exist answers ResourceNotFound when the
// call is allowed, AccessDenied when it is not.
func motoAllowsGetSecretValue(t *testing.T, ctx context.Context, url string, key [2]string) bool {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key[0], key[1], "")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("absent")})
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 403 {
		return false // moto's AccessDenied
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
		return true
	}
	t.Fatalf("GetSecretValue: %v, want ResourceNotFoundException or AccessDenied (403)", err)
	return false
}
