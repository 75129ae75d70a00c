package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// maxMessage bounds the Ready condition's message and the event of a failed sync: one line
// a person reads, however long the keys and names it quotes.
const maxMessage = 1024

// oneLine is a failure message as the condition and the event show it: control characters
// (newlines included) replaced, cut at maxMessage bytes.
func oneLine(msg string) string {
	return providers.Truncate(msg, maxMessage)
}

// explainMissing adds to a missing key's error the closest names next to it, from one
// listing the store's identity may make (names only, never a value); a refused listing
// adds nothing.
func explainMissing(ctx context.Context, r *providers.Reader, ref providers.Ref, err error) error {
	if !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	if hint := r.Suggest(ctx, ref.Key); hint != "" {
		return fmt.Errorf("%w; %s", err, hint)
	}
	return err
}

// rolePolicies is the IAM reader of the guardrails, to explain AccessDenied; nil without.
func (r *Reconciler) rolePolicies() policy.RolePolicies {
	if r.Gate == nil || r.Gate.Builder == nil {
		return nil
	}
	return r.Gate.Builder.IAM
}

// explainDenied gives an AWS refusal its cause when the role's policies can be read (the
// IAM reader of the guardrails): no Allow, an explicit Deny (which policy), the permissions
// boundary, or none of these (a resource policy, an SCP). Without them the message keeps
// the action and resource to grant. It fills be.Hint before the error is wrapped (wrapping
// formats the message).
func explainDenied(ctx context.Context, iam policy.RolePolicies, err error) {
	be := providers.AsBackendError(err)
	if iam == nil || be == nil || !be.Denied || be.Hint != "" || be.Resource == "" || !awsAction(be.Permission) {
		return
	}
	role, perr := awsarn.Parse(be.Identity)
	if perr != nil || role.Service != "iam" || !strings.HasPrefix(role.Resource, "role/") {
		return
	}
	policies, rerr := iam.RolePolicies(ctx, be.Identity)
	if rerr != nil {
		return
	}
	// A secret's ARN ends in a random suffix the message writes as a pattern ("-??????").
	resource := strings.ReplaceAll(be.Resource, "??????", "xxxxxx")
	d, derr := policy.ExplainDenial(policies, be.Permission, resource)
	if derr != nil {
		return
	}
	be.Hint = d.Hint()
}

// awsAction reports whether a permission is an action of the services the IAM evaluator
// answers for.
func awsAction(permission string) bool {
	return strings.HasPrefix(permission, "secretsmanager:") || strings.HasPrefix(permission, "ssm:")
}
