package aws

import (
	"context"
	"slices"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/vigil-dev/vigil/providers"
)

// observeCalls returns an SDK client option that tells observe about every operation the
// client makes, under ESO's provider name (metricProviderSM, "AWS/ECR", …) and the
// operation's name ("GetSecretValue"). Written once here rather than around each call.
//
// It sits first in the initialize step, so it times the whole operation as the caller sees
// it (validation, every retry, the final error), as the metric always measured. The name
// is the stack's id: the SDK names each operation's stack after the operation, and the
// operation's own metadata middlewares have not run yet at this point.
func observeCalls(provider string, observe providers.CallObserver) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		call := stack.ID()
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("vigil/observeCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				observe(provider, call, err, time.Since(start))
				return out, md, err
			}), middleware.Before)
	}
}

// withObserver appends observeCalls to a client's APIOptions. The slice is clipped first:
// it starts as aws.Config's, which clients built from the same Config share.
func withObserver(apiOptions []func(*middleware.Stack) error, provider string,
	observe providers.CallObserver) []func(*middleware.Stack) error {
	return append(slices.Clip(apiOptions), observeCalls(provider, observe))
}

// ObserveCalls returns the SDK client option that records the client's calls with the
// provider's call observer (metrics), for generators that build their own AWS clients:
// ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.APIOptions = p.ObserveCalls(o.APIOptions, "AWS/ECR") }).
func (p *Provider) ObserveCalls(apiOptions []func(*middleware.Stack) error,
	provider string) []func(*middleware.Stack) error {
	return withObserver(apiOptions, provider, p.opts.Observe)
}
