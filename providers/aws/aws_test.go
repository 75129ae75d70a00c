package aws_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/providers/conformance"
	"github.com/vigil-dev/vigil/test/harness"
)

var moto *harness.Moto

func TestMain(m *testing.M) {
	var err error
	if moto, err = harness.StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "aws:", err)
		os.Exit(1)
	}
	code := m.Run()
	moto.Close()
	os.Exit(code)
}

func store(service esv1.AWSServiceType) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "aws"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: service, Region: "us-east-1",
		}}},
	}
}

// Both services pass the provider suite against moto, with the default credential chain.
func TestConformance(t *testing.T) {
	ctx := context.Background()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SecretsManager", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
			for k, v := range values {
				if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: awssdk.String(k), SecretString: awssdk.String(v)}); err != nil {
					t.Fatal(err)
				}
			}
			return newClient(t, store(esv1.AWSServiceSecretsManager))
		})
	})
	t.Run("ParameterStore", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
			for k, v := range values {
				if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: awssdk.String("/" + k), Value: awssdk.String(v), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
					t.Fatal(err)
				}
			}
			s := store(esv1.AWSServiceParameterStore)
			s.Spec.Provider.AWS.Prefix = "/" // exercises spec.provider.aws.prefix
			return newClient(t, s)
		})
	})
}

func newClient(t *testing.T, s *esv1.SecretStore) providers.Client {
	t.Helper()
	p := aws.New(aws.Options{})
	if err := p.ValidateStore(s); err != nil {
		t.Fatal(err)
	}
	c, err := p.NewClient(context.Background(), s, nil, "ns")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidateStore_ExplainsBadConfig(t *testing.T) {
	noRegion := store(esv1.AWSServiceSecretsManager)
	noRegion.Spec.Provider.AWS.Region = ""
	jwtWithoutSA := store(esv1.AWSServiceSecretsManager)
	jwtWithoutSA.Spec.Provider.AWS.Auth.JWTAuth = &esv1.AWSJWTAuth{}
	for name, s := range map[string]*esv1.SecretStore{"no region": noRegion, "jwt without serviceAccountRef": jwtWithoutSA} {
		if err := aws.New(aws.Options{}).ValidateStore(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The shared read path (batching, de-duplication) returns what the client returns.
func TestConformance_Batched(t *testing.T) {
	ctx := context.Background()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []esv1.AWSServiceType{esv1.AWSServiceSecretsManager, esv1.AWSServiceParameterStore} {
		t.Run(string(service), func(t *testing.T) {
			conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
				createValues(t, cfg, service, "batched-", values)
				s := store(service)
				s.Spec.Provider.AWS.Prefix = "batched-"
				return providers.NewReader(newClient(t, s), providers.DefaultReaderOptions())
			})
		})
	}
}

func createValues(t *testing.T, cfg awssdk.Config, service esv1.AWSServiceType, prefix string, values map[string]string) {
	t.Helper()
	ctx := context.Background()
	for k, v := range values {
		var err error
		if service == esv1.AWSServiceSecretsManager {
			_, err = secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: awssdk.String(prefix + k), SecretString: awssdk.String(v)})
		} else {
			_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: awssdk.String(prefix + k), Value: awssdk.String(v), Type: ssmtypes.ParameterTypeSecureString})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// callCount counts backend calls by name.
type callCount struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCount) observe(_, call string, _ error, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[call]++
}

func (c *callCount) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// Reads of one store are gathered into batch calls: twenty concurrent reads of distinct
// secrets make one BatchGetSecretValue call (ten parameters one GetParameters call); a
// refresh cycle of 45 secrets read one after the other makes three calls (five), the
// values due soon being read ahead.
func TestReader_BatchesAndReadsAhead(t *testing.T) {
	ctx := context.Background()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service esv1.AWSServiceType
		call    string
		limit   int
	}{
		{esv1.AWSServiceSecretsManager, "BatchGetSecretValue", 20},
		{esv1.AWSServiceParameterStore, "GetParameters", 10},
	} {
		t.Run(string(tc.service), func(t *testing.T) {
			prefix := "/reader/" + string(tc.service) + "/"
			values := map[string]string{}
			var keys []string
			for i := range 45 {
				k := fmt.Sprintf("k%02d", i)
				keys = append(keys, k)
				values[k] = fmt.Sprintf(`{"n":%d}`, i)
			}
			createValues(t, cfg, tc.service, prefix, values)
			count := &callCount{calls: map[string]int{}}
			s := store(tc.service)
			s.Spec.Provider.AWS.Prefix = prefix
			cl, err := aws.New(aws.Options{Observe: count.observe}).NewClient(ctx, s, nil, "ns")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var clock sync.Mutex
			o := providers.DefaultReaderOptions()
			o.BatchWindow = time.Hour // a batch leaves only when full: no timing in this test
			o.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
			r := providers.NewReader(cl, o)
			policy := providers.ReadPolicy{Interval: time.Hour, Window: 3 * time.Minute}

			// tc.limit concurrent reads: one batch call.
			var wg sync.WaitGroup
			for _, k := range keys[:tc.limit] {
				wg.Go(func() {
					v, err := r.GetSecret(providers.WithReadPolicy(ctx, policy), providers.Ref{Key: k})
					if err != nil || string(v) != values[k] {
						t.Errorf("%s: got %q, %v", k, v, err)
					}
				})
			}
			wg.Wait()
			if got := count.take(); got[tc.call] != 1 || len(got) != 1 {
				t.Fatalf("%d concurrent reads made calls %v, want one %s", tc.limit, got, tc.call)
			}

			// The rest, read fresh with a short window, so that each batch holds one key.
			o2 := o
			o2.BatchWindow = time.Millisecond
			r = providers.NewReader(cl, o2)
			for _, k := range keys {
				if _, err := r.GetSecret(providers.WithReadPolicy(ctx, policy), providers.Ref{Key: k}); err != nil {
					t.Fatal(err)
				}
			}
			count.take()
			// An hour later every value is due: the first refresh reads the key and the
			// next due ones, the refreshes that follow find their values read.
			clock.Lock()
			now = now.Add(time.Hour)
			clock.Unlock()
			recent := policy
			recent.Since = now.Add(-policy.Window)
			for _, k := range keys {
				v, err := r.GetSecret(providers.WithReadPolicy(ctx, recent), providers.Ref{Key: k})
				if err != nil || string(v) != values[k] {
					t.Fatalf("%s: got %q, %v", k, v, err)
				}
			}
			want := (len(keys) + tc.limit - 1) / tc.limit
			if got := count.take(); got[tc.call] != want || len(got) != 1 {
				t.Errorf("a refresh cycle of %d keys made calls %v, want %d %s", len(keys), got, want, tc.call)
			}

			// A missing key is reported as not found, in a batch too.
			if _, err := r.GetSecret(ctx, providers.Ref{Key: "missing"}); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("missing key: %v, want ErrNotFound", err)
			}
		})
	}
}
