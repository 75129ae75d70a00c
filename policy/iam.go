package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// IAMPolicy is one policy attached to a role: inline or managed.
type IAMPolicy struct {
	Name     string         `json:"name"`
	Document map[string]any `json:"document"`
}

// IAMReader reads the policies of IAM roles through the AWS SDK, cached per role for a TTL:
// admission and reconcile read the same roles over and over.
type IAMReader struct {
	client *iam.Client
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]iamEntry
}

type iamEntry struct {
	policies []IAMPolicy
	err      error
	expires  time.Time
}

// NewIAMReader returns a reader over an AWS configuration (the controller's own
// credentials; endpoints from the SDK's standard settings).
func NewIAMReader(cfg aws.Config, ttl time.Duration) *IAMReader {
	return &IAMReader{client: iam.NewFromConfig(cfg), ttl: ttl, now: time.Now, cache: map[string]iamEntry{}}
}

// RolePolicies returns the inline and attached policies of a role.
func (r *IAMReader) RolePolicies(ctx context.Context, roleARN string) ([]IAMPolicy, error) {
	r.mu.Lock()
	e, ok := r.cache[roleARN]
	r.mu.Unlock()
	if ok && r.now().Before(e.expires) {
		return e.policies, e.err
	}
	policies, err := r.read(ctx, roleARN)
	r.mu.Lock()
	r.cache[roleARN] = iamEntry{policies: policies, err: err, expires: r.now().Add(r.ttl)}
	r.mu.Unlock()
	return policies, err
}

func (r *IAMReader) read(ctx context.Context, roleARN string) ([]IAMPolicy, error) {
	_, name, ok := strings.Cut(roleARN, ":role/")
	if !ok {
		return nil, fmt.Errorf("%q is not a role ARN", roleARN)
	}
	name = name[strings.LastIndex(name, "/")+1:] // role paths: role/path/name
	var out []IAMPolicy
	inline := iam.NewListRolePoliciesPaginator(r.client, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, pn := range page.PolicyNames {
			got, err := r.client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if err != nil {
				return nil, err
			}
			doc, err := decodeDocument(aws.ToString(got.PolicyDocument))
			if err != nil {
				return nil, fmt.Errorf("inline policy %s: %w", pn, err)
			}
			out = append(out, IAMPolicy{Name: "inline/" + pn, Document: doc})
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(r.client, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ap := range page.AttachedPolicies {
			pol, err := r.client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
			if err != nil {
				return nil, err
			}
			ver, err := r.client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
			if err != nil {
				return nil, err
			}
			doc, err := decodeDocument(aws.ToString(ver.PolicyVersion.Document))
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", aws.ToString(ap.PolicyName), err)
			}
			out = append(out, IAMPolicy{Name: "managed/" + aws.ToString(ap.PolicyName), Document: doc})
		}
	}
	return out, nil
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
