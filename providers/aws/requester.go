package aws

import (
	"context"
	"slices"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vigil-dev/vigil/providers"
)

// ExternalSecretUserAgentKey names, in the user agent of a Secrets Manager or SSM call made
// for one ExternalSecret, that ExternalSecret ("vigil-external-secret/<name>"); CloudTrail
// records it as userAgent next to vigil-namespace/<namespace>. Role sessions stay per
// namespace (one STS session per ExternalSecret would multiply STS calls), so the name
// travels per request, from the context (providers.WithRequester).
const ExternalSecretUserAgentKey = "vigil-external-secret"

// nameRequester is an SDK client option adding nameRequesterMiddleware to every call.
func nameRequester(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("vigil/nameRequester", nameRequesterMiddleware),
		middleware.Before)
}

// nameRequesterMiddleware puts the ExternalSecret of the call's context into the User-Agent
// header. It runs first in the build step: the SDK's user agent middleware, later in the
// same step, puts its own user agent (with vigil-namespace/<ns>) in front of what it finds.
// The name is sanitised by providers.AuditName, whose characters ([A-Za-z0-9._-]) are a
// subset of a user agent token's, so a hostile name cannot add a header or a token.
// Calls made for no ExternalSecret (store validation, batches serving several) carry none.
func nameRequesterMiddleware(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (
	middleware.BuildOutput, middleware.Metadata, error,
) {
	r, ok := providers.RequesterFrom(ctx)
	req, isHTTP := in.Request.(*smithyhttp.Request)
	if ok && isHTTP {
		token := ExternalSecretUserAgentKey + "/" + providers.AuditName(r.Name)
		if ua := req.Header.Get("User-Agent"); ua != "" {
			token = ua + " " + token
		}
		req.Header.Set("User-Agent", token)
	}
	return next.HandleBuild(ctx, in)
}

// withRequester appends nameRequester to a client's APIOptions (clipped first: the slice
// starts as aws.Config's, which clients built from the same Config share).
func withRequester(apiOptions []func(*middleware.Stack) error) []func(*middleware.Stack) error {
	return append(slices.Clip(apiOptions), nameRequester)
}
