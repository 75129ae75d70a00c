package aws_test

import (
	"context"
	"fmt"
	"os"
	"testing"

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
