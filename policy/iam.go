package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"k8s.io/utils/clock"
)

// IAMPolicy is one policy attached to a role: inline or managed.
type IAMPolicy struct {
	Name     string         `json:"name"`
	Document map[string]any `json:"document"`
	// Boundary: the role's permissions boundary (it grants nothing; it caps what the
	// other policies grant).
	Boundary bool `json:"boundary,omitempty"`
}

// IAMReader reads the policies of IAM roles through the AWS SDK, cached per role for a TTL:
// admission and reconcile read the same roles over and over. A role of the controller's own
// account is read with the controller's credentials; a role of another account is read in
// that account, through the read-only audit role AuditRoleName assumed there (without it,
// such a role is unknown, with a reason that says so).
type IAMReader struct {
	// AuditRoleName is the name of the role (the same in every account) that the reader
	// assumes to read roles of other accounts; empty reads no other account.
	AuditRoleName string

	cfg   aws.Config
	ttl   time.Duration
	clock clock.PassiveClock

	mu      sync.Mutex
	cache   map[string]iamEntry
	self    string                 // the controller's account, once known
	clients map[string]*iam.Client // by account
}

// maxCachedRoles bounds the roles (and accounts) the reader remembers.
const maxCachedRoles = 4096

type iamEntry struct {
	policies []IAMPolicy
	err      error
	expires  time.Time
}

// ErrNoSuchRole: IAM says the role does not exist. Such a role grants nothing (nobody can
// assume it), so it is known, not unknown.
var ErrNoSuchRole = errors.New("the role does not exist")

// IAMUnknownError says why a role's policies could not be read, in words of our own (never
// the remote error's text).
type IAMUnknownError struct{ Reason string }

func (e *IAMUnknownError) Error() string { return e.Reason }

// NewIAMReader returns a reader over an AWS configuration (the controller's own
// credentials; endpoints from the SDK's standard settings).
func NewIAMReader(cfg aws.Config, ttl time.Duration) *IAMReader {
	return &IAMReader{
		cfg: cfg, ttl: ttl, clock: clock.RealClock{}, cache: map[string]iamEntry{}, clients: map[string]*iam.Client{},
	}
}

// RolePolicies returns the inline and attached policies of a role, and its permissions
// boundary (Boundary set) when it has one.
func (r *IAMReader) RolePolicies(ctx context.Context, roleARN string) ([]IAMPolicy, error) {
	r.mu.Lock()
	e, ok := r.cache[roleARN]
	r.mu.Unlock()
	if ok && r.clock.Now().Before(e.expires) {
		return e.policies, e.err
	}
	policies, err := r.read(ctx, roleARN)
	r.mu.Lock()
	if len(r.cache) >= maxCachedRoles { // tenants name roles: the cache stays bounded
		clear(r.cache)
	}
	r.cache[roleARN] = iamEntry{policies: policies, err: err, expires: r.clock.Now().Add(r.ttl)}
	r.mu.Unlock()
	return policies, err
}

func (r *IAMReader) read(ctx context.Context, roleARN string) ([]IAMPolicy, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return nil, &IAMUnknownError{Reason: fmt.Sprintf("%q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
			roleARN)}
	}
	name := a.Resource[strings.LastIndex(a.Resource, "/")+1:] // role paths: role/path/name
	client, err := r.client(ctx, a)
	if err != nil {
		return nil, err
	}
	rr := roleReader{client: client, name: name}
	policies, err := rr.read(ctx)
	return policies, classify(err)
}

// client returns the IAM client that reads roles of the ARN's account.
func (r *IAMReader) client(ctx context.Context, role arn.ARN) (*iam.Client, error) {
	self, err := r.account(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[role.AccountID]; ok {
		return c, nil
	}
	if len(r.clients) >= maxCachedRoles {
		clear(r.clients)
	}
	if role.AccountID == self {
		r.clients[self] = iam.NewFromConfig(r.cfg)
		return r.clients[self], nil
	}
	if r.AuditRoleName == "" {
		return nil, &IAMUnknownError{
			Reason: fmt.Sprintf(
				"the role is in account %s, not the controller's account %s, and no audit role is configured to read "+
					"it there (--iam-audit-role-name)", role.AccountID, self)}
	}
	audit := fmt.Sprintf("arn:%s:iam::%s:role/%s", role.Partition, role.AccountID, r.AuditRoleName)
	cfg := r.cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(r.cfg), audit,
		func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "vigil-iam-audit"
		}))
	r.clients[role.AccountID] = iam.NewFromConfig(cfg)
	return r.clients[role.AccountID], nil
}

// account returns the controller's own account (sts:GetCallerIdentity, once).
func (r *IAMReader) account(ctx context.Context) (string, error) {
	r.mu.Lock()
	self := r.self
	r.mu.Unlock()
	if self != "" {
		return self, nil
	}
	out, err := sts.NewFromConfig(r.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", &IAMUnknownError{
			Reason: "the controller's own AWS account could not be read (sts:GetCallerIdentity failed" + errorCode(err) + ")"}
	}
	r.mu.Lock()
	r.self = aws.ToString(out.Account)
	r.mu.Unlock()
	return aws.ToString(out.Account), nil
}

// classify turns an SDK error into ErrNoSuchRole or a reason of our own.
func classify(err error) error {
	var nse *iamtypes.NoSuchEntityException
	var unknown *IAMUnknownError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nse):
		return ErrNoSuchRole
	case errors.As(err, &unknown):
		return err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		var oe *smithy.OperationError
		op := "IAM"
		if errors.As(err, &oe) {
			op = oe.Service() + ":" + oe.Operation()
		}
		return &IAMUnknownError{Reason: fmt.Sprintf("%s failed%s", op, errorCode(err))}
	}
	return &IAMUnknownError{Reason: "reading the role's policies failed" + errorCode(err)}
}

// errorCode names the remote error code (e.g. AccessDenied), not its message.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return " with " + ae.ErrorCode()
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return " (no answer from " + oe.Service() + ": no credentials, or no network)"
	}
	return ""
}

// roleReader reads one role's policies with one client.
type roleReader struct {
	client *iam.Client
	name   string
}

func (rr roleReader) read(ctx context.Context) ([]IAMPolicy, error) {
	role, err := rr.client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(rr.name)})
	if err != nil {
		return nil, err
	}
	out, err := rr.inline(ctx)
	if err != nil {
		return nil, err
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(rr.client,
		&iam.ListAttachedRolePoliciesInput{RoleName: aws.String(rr.name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ap := range page.AttachedPolicies {
			p, err := rr.managed(ctx, aws.ToString(ap.PolicyArn), "managed/"+aws.ToString(ap.PolicyName))
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	if b := role.Role.PermissionsBoundary; b != nil && b.PermissionsBoundaryArn != nil {
		arnStr := aws.ToString(b.PermissionsBoundaryArn)
		p, err := rr.managed(ctx, arnStr, "boundary/"+arnStr[strings.LastIndex(arnStr, "/")+1:])
		if err != nil {
			return nil, err
		}
		p.Boundary = true
		out = append(out, p)
	}
	return out, nil
}

func (rr roleReader) inline(ctx context.Context) ([]IAMPolicy, error) {
	var out []IAMPolicy
	inline := iam.NewListRolePoliciesPaginator(rr.client, &iam.ListRolePoliciesInput{RoleName: aws.String(rr.name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, pn := range page.PolicyNames {
			got, err := rr.client.GetRolePolicy(ctx,
				&iam.GetRolePolicyInput{RoleName: aws.String(rr.name), PolicyName: aws.String(pn)})
			if err != nil {
				return nil, err
			}
			doc, err := decodeDocument(aws.ToString(got.PolicyDocument))
			if err != nil {
				return nil, &IAMUnknownError{Reason: fmt.Sprintf("inline policy %s: %v", pn, err)}
			}
			out = append(out, IAMPolicy{Name: "inline/" + pn, Document: doc})
		}
	}
	return out, nil
}

// managed reads the default version of a managed policy.
func (rr roleReader) managed(ctx context.Context, policyARN, name string) (IAMPolicy, error) {
	pol, err := rr.client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)})
	if err != nil {
		return IAMPolicy{}, err
	}
	ver, err := rr.client.GetPolicyVersion(ctx,
		&iam.GetPolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: pol.Policy.DefaultVersionId})
	if err != nil {
		return IAMPolicy{}, err
	}
	doc, err := decodeDocument(aws.ToString(ver.PolicyVersion.Document))
	if err != nil {
		return IAMPolicy{}, &IAMUnknownError{Reason: fmt.Sprintf("policy %s: %v", name, err)}
	}
	return IAMPolicy{Name: name, Document: doc}, nil
}

// decodeDocument parses a policy document, which IAM returns URL-encoded.
func decodeDocument(s string) (map[string]any, error) {
	if dec, err := url.QueryUnescape(s); err == nil {
		s = dec
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("the policy document is not JSON: %w", err)
	}
	return doc, nil
}
