package e2e

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

const otherAccount = "111111111111"

// iamIn returns an IAM client of a moto account: the default one (""), or another through
// AssumeRole of a role there (moto serves requests with the assumed credentials in the
// role's account).
func iamIn(t *testing.T, ctx context.Context, account string) *iam.Client {
	t.Helper()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if account != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::"+account+":role/e2e-setup"))
	}
	return iam.NewFromConfig(cfg)
}

// putRole creates a role with one inline policy and returns its ARN.
func putRole(t *testing.T, ctx context.Context, c *iam.Client, name, inline string) string {
	t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func putManaged(t *testing.T, ctx context.Context, c *iam.Client, name, doc string) string {
	t.Helper()
	out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Policy.Arn)
}

const (
	wildcardRead = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	scopedRead   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*"}]}`
)

func everySecret(fs []policy.IAMFinding) bool {
	return slices.ContainsFunc(fs, func(f policy.IAMFinding) bool { return f.Question == policy.QuestionEverySecret && f.Certain })
}

// The reader reads inline, managed and boundary policies from IAM; a role whose inline
// policy reads "*" but whose permissions boundary allows only the store's prefix is not a
// wildcard grant, so its store syncs.
func TestIAM_BoundaryCapsAWildcardRole(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	c := iamIn(t, ctx, "")
	role := putRole(t, ctx, c, "iam-e2e-bounded", wildcardRead)
	managed := putManaged(t, ctx, c, "iam-e2e-managed", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:us-east-1:123456789012:parameter/payments/*"}]}`)
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("iam-e2e-bounded"), PolicyArn: aws.String(managed)}); err != nil {
		t.Fatal(err)
	}
	boundary := putManaged(t, ctx, c, "iam-e2e-boundary", scopedRead)
	if _, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("iam-e2e-bounded"), PermissionsBoundary: aws.String(boundary)}); err != nil {
		t.Fatal(err)
	}

	cfg, _ := moto.AWSConfig(ctx)
	policies, err := policy.NewIAMReader(cfg, time.Minute).RolePolicies(ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range policies {
		names = append(names, p.Name+map[bool]string{true: " (boundary)"}[p.Boundary])
	}
	if want := []string{"inline/secrets", "managed/iam-e2e-managed", "boundary/iam-e2e-boundary (boundary)"}; !slices.Equal(names, want) {
		t.Fatalf("policies read: %v, want %v", names, want)
	}
	findings, err := policy.EvaluateIAM(policies, policy.IAMSubject{RoleARN: role, Region: "us-east-1"})
	if err != nil || everySecret(findings) {
		t.Fatalf("the boundary does not cap the grant: %+v, %v", findings, err)
	}

	// Through the controller: the store and its ExternalSecret sync.
	ns := irsaSetup(t, role)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "aws-secrets"}, esv1.ReasonStoreValid)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonSecretSynced)
}

// A role of another account is read there, through the audit role: not as the local role
// of the same name, and not at all without an audit role.
func TestIAM_CrossAccountRoleReadThroughTheAuditRole(t *testing.T) {
	// Not parallel: it resets moto (recording and IAM).
	ctx := context.Background()
	if err := moto.Reset(); err != nil { // a fresh recording (and IAM)
		t.Fatal(err)
	}
	remote := iamIn(t, ctx, otherAccount)
	putRole(t, ctx, remote, "vigil-audit", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`)
	role := putRole(t, ctx, remote, "iam-e2e-app", wildcardRead)
	if !strings.Contains(role, ":"+otherAccount+":") {
		t.Fatalf("moto created %s outside account %s", role, otherAccount)
	}
	putRole(t, ctx, iamIn(t, ctx, ""), "iam-e2e-app", scopedRead) // same name, controller's account

	cfg, _ := moto.AWSConfig(ctx)
	_, err := policy.NewIAMReader(cfg, time.Minute).RolePolicies(ctx, role)
	var unknown *policy.IAMUnknownError
	if !errors.As(err, &unknown) || !strings.Contains(unknown.Reason, "--iam-audit-role-name") || !strings.Contains(unknown.Reason, otherAccount) {
		t.Fatalf("without an audit role: %v, want unknown naming the account and --iam-audit-role-name", err)
	}

	reader := policy.NewIAMReader(cfg, time.Minute)
	reader.AuditRoleName = "vigil-audit"
	policies, err := reader.RolePolicies(ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := policy.EvaluateIAM(policies, policy.IAMSubject{RoleARN: role, Region: "us-east-1"})
	if err != nil || !everySecret(findings) {
		t.Fatalf("the remote role's wildcard policy was not read (the local role of the same name is scoped): %+v, %v", findings, err)
	}
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	assumed := slices.ContainsFunc(reqs, func(r harness.Request) bool {
		f := formOf(r)
		return f.Get("Action") == "AssumeRole" && f.Get("RoleArn") == "arn:aws:iam::"+otherAccount+":role/vigil-audit"
	})
	if !assumed {
		t.Errorf("moto served no AssumeRole of the audit role arn:aws:iam::%s:role/vigil-audit", otherAccount)
	}
}

// Unknown IAM blocks a namespaced SecretStore by default (the e2e controller has no audit
// role, so a role of another account cannot be read), and the reason says how to fix it.
func TestIAM_UnknownRoleBlocksASecretStore(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	store := awsStore(ns, "remote")
	store.Spec.Provider.AWS.Role = "arn:aws:iam::" + otherAccount + ":role/iam-e2e-unread"
	h.Create(store)
	got := h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "remote"}, esv1.ReasonPolicyViolation)
	msg := storeMessage(got)
	for _, want := range []string{"aws-wildcard-secret-resource", "could not be read", "--iam-audit-role-name", "unknownIAM"} {
		if !strings.Contains(msg, want) {
			t.Errorf("store message %q does not mention %q", msg, want)
		}
	}
}
