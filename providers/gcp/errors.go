package gcp

import (
	"encoding/json"
	"errors"
	"regexp"

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
			be.Hint = "Google refused the access token; check the credentials of " + c.authField()
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

func (c *storeClient) authField() string {
	if c.identity == "the controller's own Google credentials" {
		return "the controller (Application Default Credentials)"
	}
	return keyField
}

// oauthCode is the shape of an OAuth 2.0 error code ("invalid_grant").
var oauthCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// tokenError describes a token exchange that failed: Google's OAuth error code (from the
// answer's "error" field, when it has the shape of one) and the HTTP status, and which
// field to fix.
func (c *storeClient) tokenError(err error) error {
	be := providers.NewBackendError("Google OAuth", "token", "", err)
	be.Identity = c.identity
	var ae *auth.Error
	if errors.As(err, &ae) {
		if ae.Response != nil {
			be.Status = ae.Response.StatusCode
		}
		var body struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(ae.Body, &body) == nil && oauthCode.MatchString(body.Error) {
			be.Code = body.Error
		} else {
			be.Code = "token request refused"
		}
		be.Denied = true
		be.Hint = "Google refused the credentials: put a current key of the service account (a deleted, " +
			"disabled or foreign key is refused) in " + c.authField()
	}
	return be
}
