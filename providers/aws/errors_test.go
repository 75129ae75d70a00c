package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// sdkError builds the error the SDK returns for a refused call: an OperationError around a
// ResponseError around the service's API error, whose message is the backend's own text.
func sdkError(service, op, code string, status int, message string) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status}}
	return &smithy.OperationError{ServiceID: service, OperationName: op,
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: resp,
			Err: &smithy.GenericAPIError{Code: code, Message: message}}}}
}

// A failed call is described by typed facts: operation, code, status, key, identity, and
// for a refusal the action and resource to grant. The SDK's text never shows.
func TestAPIError_TypedFactsOnly(t *testing.T) {
	const leak = "s3cr3t-value-echoed"
	role := "arn:aws:iam::123456789012:role/app"
	sm := &storeClient{cfg: aws.Config{Region: "eu-west-1"}, service: esv1.AWSServiceSecretsManager, identity: role}
	sm.sm = newClient(aws.Config{Region: "eu-west-1"}, &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager},
		func(string, string, error, time.Duration) {}).sm
	ssmc := &storeClient{cfg: aws.Config{Region: "eu-west-1"}, service: esv1.AWSServiceParameterStore, identity: role}
	stsErr := &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue",
		Err: fmt.Errorf("failed to refresh cached credentials, %w",
			sdkError("STS", "AssumeRoleWithWebIdentity", "AccessDenied", 403, leak))}
	for name, tc := range map[string]struct {
		c          *storeClient
		op, key    string
		err        error
		want       []string
		denied, nf bool
	}{
		"access denied": {sm, "GetSecretValue", "app/db",
			sdkError("Secrets Manager", "GetSecretValue", "AccessDeniedException", 400, leak),
			[]string{`AWS Secrets Manager GetSecretValue of key "app/db" failed: AccessDeniedException (HTTP 400)`,
				"identity " + role, "needs secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-??????"},
			true, false},
		"throttled batch": {sm, "BatchGetSecretValue", "",
			sdkError("Secrets Manager", "BatchGetSecretValue", "ThrottlingException", 400, "Rate exceeded "+leak),
			[]string{"AWS Secrets Manager BatchGetSecretValue failed: ThrottlingException (HTTP 400)"}, false, false},
		"missing parameter": {ssmc, "GetParameter", "/app/db",
			sdkError("SSM", "GetParameter", "ParameterNotFound", 400, leak),
			[]string{`AWS Parameter Store GetParameter of key "/app/db" failed: ParameterNotFound (HTTP 400)`}, false, true},
		"parameter denied": {ssmc, "GetParameter", "/app/db",
			sdkError("SSM", "GetParameter", "AccessDeniedException", 400, leak),
			[]string{"needs ssm:GetParameter on arn:aws:ssm:eu-west-1:123456789012:parameter/app/db"}, true, false},
		"key given as an ARN": {sm, "GetSecretValue", "arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf",
			sdkError("Secrets Manager", "GetSecretValue", "AccessDeniedException", 400, leak),
			[]string{"on arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf"}, true, false},
		"role not assumable": {sm, "GetSecretValue", "app/db", stsErr,
			[]string{"AWS STS AssumeRoleWithWebIdentity failed: AccessDenied (HTTP 403)",
				"needs sts:AssumeRoleWithWebIdentity on " + role, "trust policy"}, true, false},
		"timeout": {sm, "GetSecretValue", "app/db", fmt.Errorf("%w: %s", context.DeadlineExceeded, leak),
			[]string{`GetSecretValue of key "app/db" failed: timeout`}, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.c.apiError(tc.op, tc.key, tc.err)
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\nwants %q", msg, w)
				}
			}
			if strings.Contains(msg, leak) || strings.Contains(msg, "Rate exceeded") {
				t.Errorf("message %q carries the backend's text", msg)
			}
			be := providers.AsBackendError(err)
			if be.Denied != tc.denied || errors.Is(err, providers.ErrNotFound) != tc.nf {
				t.Errorf("denied=%v notFound=%v, want %v %v", be.Denied, errors.Is(err, providers.ErrNotFound), tc.denied, tc.nf)
			}
		})
	}
}

// An error code that does not look like one (an endpoint may answer with any text) is
// described as "an AWS error"; ECR failures are described by the same typed facts.
func TestServiceError_CodeShapeAndECR(t *testing.T) {
	const leak = "s3cr3t-value-echoed"
	for code, want := range map[string]string{
		"AccessDeniedException":    "AccessDeniedException",
		"InvalidParameter.Value":   "InvalidParameter.Value",
		"token " + leak:            "an AWS error",
		strings.Repeat("A", 65):    "an AWS error",
		"9Starts-with-digit":       "an AWS error",
		"Code\nwith line break":    "an AWS error",
		"Code-" + leak + "-dashed": "an AWS error",
	} {
		if got := errorCode(code); got != want {
			t.Errorf("errorCode(%q) = %q, want %q", code, got, want)
		}
	}
	err := ServiceError("AWS ECR", "ecr", "GetAuthorizationToken",
		sdkError("ECR", "GetAuthorizationToken", "AccessDeniedException", 400, leak))
	msg := err.Error()
	for _, w := range []string{"AWS ECR GetAuthorizationToken failed: AccessDeniedException (HTTP 400)",
		"needs ecr:GetAuthorizationToken"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q\nwants %q", msg, w)
		}
	}
	odd := ServiceError("AWS ECR", "ecr", "GetAuthorizationToken",
		sdkError("ECR", "GetAuthorizationToken", leak+" in a code", 500, leak)).Error()
	if !strings.Contains(odd, "failed: an AWS error (HTTP 500)") {
		t.Errorf("message %q, want the code replaced by \"an AWS error\"", odd)
	}
	if strings.Contains(msg+odd, leak) {
		t.Errorf("messages %q, %q show the backend's text", msg, odd)
	}
	sm := &storeClient{cfg: aws.Config{Region: "eu-west-1"}, service: esv1.AWSServiceParameterStore}
	if e := sm.entryError("GetParameters", "/app/db", leak+" code").Error(); strings.Contains(e, leak) {
		t.Errorf("batch entry error %q shows the entry's code", e)
	}
}
