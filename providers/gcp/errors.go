package gcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"cloud.google.com/go/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-dev/vigil/providers"
)

const backend = "GCP Secret Manager"

// permissions are the IAM permissions of the calls, for the message of a refusal.
var permissions = map[string]string{
	"AccessSecretVersion": "secretmanager.versions.access",
	"ListSecretVersions":  "secretmanager.versions.list",
	"GetSecret":           "secretmanager.secrets.get",
	"ListSecrets":         "secretmanager.secrets.list",
	"CreateSecret":        "secretmanager.secrets.create",
	"AddSecretVersion":    "secretmanager.versions.add",
	"DeleteSecret":        "secretmanager.secrets.delete",
	"UpdateSecret":        "secretmanager.secrets.update",
}

// apiError describes a failed call by its gRPC status code, the resource and the
// permission it needed, never by the status message (the server's text).
func (c *storeClient) apiError(op, key, resource string, err error) error {
	if err == nil {
		return nil
	}
	if be := providers.AsBackendError(err); be != nil {
		return err // a token failure, described already
	}
	be := providers.NewBackendError(backend, op, key, err)
	be.Identity, be.Resource, be.Permission = c.identity, resource, permissions[op]
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		be.Code = st.Code().String()
		switch st.Code() {
		case codes.PermissionDenied:
			be.Denied = true
		case codes.Unauthenticated:
			be.Denied, be.Permission = true, "" // the identity is not known: no permission to name
			be.Hint = "Google refused the access token; check the credentials of " + c.authField
		case codes.NotFound:
			be.NotFound = true
		case codes.FailedPrecondition:
			be.Hint = "the version is disabled or destroyed: enable it, name another remoteRef.version, or set " +
				"spec.provider.gcpsm.secretVersionSelectionPolicy: LatestOrFetch"
		case codes.DeadlineExceeded:
			be.Code = "timeout"
		}
	}
	return be
}

// isCode reports whether err is a call's failure with the gRPC code.
func isCode(err error, code codes.Code) bool {
	be := providers.AsBackendError(err)
	return be != nil && be.Backend == backend && be.Code == code.String()
}

// oauthCode is the shape of an OAuth 2.0 error code ("invalid_grant").
var oauthCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// tokenError describes a token exchange that failed: Google's OAuth error code (from the
// answer's "error" field, when it has the shape of one) and the HTTP status, and which
// field to fix. The answers' texts are Google's and are not repeated.
func (c *storeClient) tokenError(err error) error {
	var mint *mintError
	if errors.As(err, &mint) {
		// The TokenRequest failed (no such ServiceAccount, no RBAC): the API server's
		// message names the ServiceAccount, never a token.
		return fmt.Errorf("%s: %w", c.authField, mint.err)
	}
	be := providers.NewBackendError("Google OAuth", "token", "", err)
	be.Identity = c.identity
	var ae *auth.Error
	if errors.As(err, &ae) {
		if ae.Response != nil {
			be.Status = ae.Response.StatusCode
		}
		be.Code = oauthError(ae.Body)
		be.Denied = true
		be.Hint = "Google refused the credentials: put a current key of the service account (a deleted, " +
			"disabled or foreign key is refused) in " + c.authField
		return be
	}
	// The external-account exchanges (workload identity) report "status code N: <body>".
	m := exchangeFailure.FindStringSubmatch(err.Error())
	if m == nil {
		return be
	}
	be.Status, _ = strconv.Atoi(m[1])
	be.Denied = true
	var iam struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(m[2]), &iam) == nil && grpcStatus.MatchString(iam.Error.Status) {
		be.Op, be.Code = "generateAccessToken", iam.Error.Status
		be.Hint = "IAM Credentials refused to issue the Google service account's token: grant the federated " +
			"principal roles/iam.workloadIdentityUser on the service account (" + c.authField + ")"
		return be
	}
	be.Op, be.Code = "STS token exchange", oauthError([]byte(m[2]))
	be.Hint = "Google's Security Token Service refused the ServiceAccount's token: check that the workload " +
		"identity pool trusts this cluster's ServiceAccount tokens and their audience (" + c.authField + ")"
	return be
}

var (
	// exchangeFailure is the auth library's error for a refused STS or IAM Credentials call.
	exchangeFailure = regexp.MustCompile(`(?s)status code (\d{3}): (\{.*\})`)
	// grpcStatus is the shape of a Google API error's status ("PERMISSION_DENIED").
	grpcStatus = regexp.MustCompile(`^[A-Z_]{1,64}$`)
)

// oauthError returns an OAuth 2.0 answer's error code, when it has the shape of one.
func oauthError(body []byte) string {
	var b struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && oauthCode.MatchString(b.Error) {
		return b.Error
	}
	return "token request refused"
}

// mintError is a failed TokenRequest for a subject token.
type mintError struct{ err error }

func (e *mintError) Error() string { return e.err.Error() }
func (e *mintError) Unwrap() error { return e.err }
