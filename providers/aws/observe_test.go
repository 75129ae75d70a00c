package aws_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/aws"
)

// recordedCall is one call the provider told its observer about.
type recordedCall struct {
	provider, call string
	failed         bool
}

type callLog struct {
	mu    sync.Mutex
	calls []recordedCall
}

func (l *callLog) observe(provider, call string, err error, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if took <= 0 {
		provider += " (no duration)"
	}
	l.calls = append(l.calls, recordedCall{provider: provider, call: call, failed: err != nil})
}

func (l *callLog) take() []recordedCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// Every Secrets Manager and Parameter Store call the provider makes reaches the metrics
// observer once, under ESO's provider and call names, failed or not, with its duration
// (what externalsecret_provider_api_calls_count and the latency histogram are built from).
func TestProvider_ObservesEveryAWSCall(t *testing.T) {
	ctx := context.Background()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service  esv1.AWSServiceType
		provider string
		read     string // the call of one read
		tags     string // the call that reads tags
		find     string // the call of a find by path
	}{
		{esv1.AWSServiceSecretsManager, "AWS/SecretsManager", "GetSecretValue", "DescribeSecret", "BatchGetSecretValue"},
		{esv1.AWSServiceParameterStore, "AWS/ParameterStore", "GetParameter", "ListTagsForResource", "GetParametersByPath"},
	} {
		t.Run(string(tc.service), func(t *testing.T) {
			prefix := "/observed/" + string(tc.service) + "/"
			createValues(t, cfg, tc.service, prefix, map[string]string{"present": "v"})
			log := &callLog{}
			s := store(tc.service)
			s.Spec.Provider.AWS.Prefix = prefix
			cl, err := aws.New(aws.Options{Observe: log.observe}).NewClient(ctx, s, nil, "ns")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.GetSecret(ctx, providers.Ref{Key: "present"}); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.GetSecret(ctx, providers.Ref{Key: "missing"}); !errors.Is(err, providers.ErrNotFound) {
				t.Fatalf("missing key: %v, want ErrNotFound", err)
			}
			if _, err := cl.(providers.MetadataGetter).GetMetadata(ctx, providers.Ref{Key: "present"}); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.(providers.Finder).Find(ctx, providers.FindRef{Path: ""}); err != nil {
				t.Fatal(err)
			}
			want := []recordedCall{
				{tc.provider, tc.read, false},
				{tc.provider, tc.read, true},
				{tc.provider, tc.tags, false},
				{tc.provider, tc.find, false},
			}
			if got := log.take(); !slices.Equal(got, want) {
				t.Errorf("observed calls\n %v\nwant\n %v", got, want)
			}
		})
	}
}
