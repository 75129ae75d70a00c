package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Error codes by meaning. AWS services spell a refusal differently (Secrets Manager
// AccessDeniedException, SSM and STS AccessDenied); a missing name too.
const codeAccessDenied = "AccessDenied"

var (
	deniedCodes = map[string]bool{
		"AccessDeniedException": true, codeAccessDenied: true, "UnauthorizedOperation": true,
		"UnrecognizedClientException": true, "InvalidClientTokenId": true,
	}
	notFoundCodes = map[string]bool{
		"ResourceNotFoundException": true, "ParameterNotFound": true, "ParameterVersionNotFound": true,
		"InvalidResourceId": true,
	}
)

// apiError describes a failed SDK call by typed facts (operation, error code, HTTP status,
// key, identity, the action and resource the call needed), never by the SDK's text. A
// failure to obtain credentials (STS AssumeRole, AssumeRoleWithWebIdentity) is described as
// the STS call it is: its fix is the role's trust policy, not its permissions.
func (c *storeClient) apiError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	be := describe(c.backend(), c.iamService(), op, key, c.identity, err)
	if key != "" && !strings.HasPrefix(be.Permission, "sts:") { // an STS failure names the role instead
		be.Resource = c.resourceARN(key)
	}
	return be
}

// ServiceError describes a failed call of another AWS service (ECR for a generator) by the
// same typed facts as a store's calls: service names the IAM prefix ("ecr").
func ServiceError(backend, service, op string, err error) error {
	if err == nil {
		return nil
	}
	return describe(backend, service, op, "", "", err)
}

// describe builds the BackendError of a failed SDK call; the caller adds the resource.
func describe(backend, service, op, key, identity string, err error) *providers.BackendError {
	be := providers.NewBackendError(backend, op, key, err)
	be.Identity = identity
	if sts := stsFailure(err); sts != nil {
		be.Backend, be.Op, service, be.Key = "AWS STS", sts.Operation(), "sts", ""
	} else if oe := (*smithy.OperationError)(nil); errors.As(err, &oe) {
		be.Op = oe.Operation()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		be.Code = errorCode(apiErr.ErrorCode())
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		be.Status = re.HTTPStatusCode()
	}
	if be.Status == http.StatusForbidden && apiErr == nil {
		be.Code = codeAccessDenied // a 403 whose body the SDK could not read is a refusal too
	}
	be.Denied = deniedCodes[be.Code]
	be.NotFound = notFoundCodes[be.Code]
	be.Permission = service + ":" + be.Op
	if service == "sts" {
		be.Resource = identity
		be.Hint = "the role's trust policy must let this identity assume it"
	}
	return be
}

// awsErrorCode is the shape of AWS error codes ("AccessDeniedException", "InvalidParameter.Value").
var awsErrorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.]{0,63}$`)

// errorCode is code when it has the shape of an AWS error code, else "an AWS error": the
// code is read from the response, which an endpoint (a store's own) may fill with any text.
func errorCode(code string) string {
	if awsErrorCode.MatchString(code) {
		return code
	}
	return "an AWS error"
}

// stsFailure returns the STS call inside err when the credentials could not be obtained.
func stsFailure(err error) *smithy.OperationError {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if oe, ok := e.(*smithy.OperationError); ok && oe.Service() == "STS" {
			return oe
		}
	}
	return nil
}

// backend names the service in messages.
func (c *storeClient) backend() string {
	if c.sm != nil {
		return "AWS Secrets Manager"
	}
	return "AWS Parameter Store"
}

// iamService is the service prefix of the client's IAM actions.
func (c *storeClient) iamService() string {
	if c.sm != nil {
		return "secretsmanager"
	}
	return "ssm"
}

// resourceARN is the ARN a policy grants a key by: the key itself when it is an ARN, else
// built from the region and the account of the identity's role ("*" when unknown). A
// secret's ARN ends in a random six-character suffix, which a policy matches with "-??????".
func (c *storeClient) resourceARN(key string) string {
	name := c.prefix + key
	if awsarn.IsARN(name) {
		return name
	}
	account := "*"
	if a, err := awsarn.Parse(c.identity); err == nil && a.AccountID != "" {
		account = a.AccountID
	}
	partition := "aws"
	if a, err := awsarn.Parse(c.identity); err == nil && a.Partition != "" {
		partition = a.Partition
	}
	if c.sm != nil {
		return fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-??????", partition, c.cfg.Region, account, name)
	}
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", partition, c.cfg.Region, account, strings.TrimPrefix(name, "/"))
}

// entryError describes one entry a batch call refused, by its error code.
func (c *storeClient) entryError(op, key, code string) error {
	code = errorCode(code)
	be := &providers.BackendError{Backend: c.backend(), Op: op, Key: key, Identity: c.identity, Code: code,
		Denied: deniedCodes[code], NotFound: notFoundCodes[code], Permission: c.iamService() + ":" + op,
		Resource: c.resourceARN(key)}
	if be.Denied && c.sm != nil {
		// BatchGetSecretValue checks GetSecretValue on each secret it returns.
		be.Permission = "secretsmanager:GetSecretValue"
	}
	return be
}

// identityOf names who a store's calls run as, for failure messages: the role it assumes
// (spec.role, else the role of the auth.jwt ServiceAccount), else where its credentials
// come from. Never a credential.
func identityOf(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string) string {
	spec := store.GetSpec().Provider.AWS
	switch {
	case spec.Role != "":
		return spec.Role
	case spec.Auth.SecretRef != nil:
		return "the access key of spec.provider.aws.auth.secretRef"
	case spec.Auth.JWTAuth != nil && spec.Auth.JWTAuth.ServiceAccountRef != nil:
		ref := spec.Auth.JWTAuth.ServiceAccountRef
		ns, err := providers.StoreNamespace(store, ref.Namespace, namespace)
		var sa corev1.ServiceAccount
		if err == nil && kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &sa) == nil {
			if role := sa.Annotations[RoleARNAnnotation]; role != "" {
				return role
			}
		}
		return "the role of ServiceAccount " + ref.Name
	}
	return "the controller's own AWS credentials"
}
