package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// webIdentityTrust lets a Kubernetes ServiceAccount token (IRSA) assume a role.
const webIdentityTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/cluster"},` +
	`"Action":"sts:AssumeRoleWithWebIdentity"}]}`

func (e *Env) moto() (*Moto, error) {
	if e.Moto == nil {
		return nil, errors.New("this suite runs no moto (Env.Moto is nil)")
	}
	return e.Moto, nil
}

// PutRemote creates or rotates a Secrets Manager secret in moto. Env.RememberValue, when
// set, is told the value first (the e2e suite checks after its run that no value leaked).
func (e *Env) PutRemote(ctx context.Context, name, value string) error {
	if e.RememberValue != nil {
		e.RememberValue(value)
	}
	m, err := e.moto()
	if err != nil {
		return err
	}
	cfg, err := m.AWSConfig(ctx)
	if err != nil {
		return err
	}
	return PutSecretValue(ctx, cfg, name, value)
}

// PutSecretValue creates or rotates a Secrets Manager secret through cfg.
func PutSecretValue(ctx context.Context, cfg aws.Config, name, value string) error {
	c := secretsmanager.NewFromConfig(cfg)
	_, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(value)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(value)})
	}
	if err != nil {
		return fmt.Errorf("storing %s in Secrets Manager: %w", name, err)
	}
	return nil
}

// DeleteRemote deletes a Secrets Manager secret in moto at once (no recovery window).
func (e *Env) DeleteRemote(ctx context.Context, name string) error {
	m, err := e.moto()
	if err != nil {
		return err
	}
	cfg, err := m.AWSConfig(ctx)
	if err != nil {
		return err
	}
	_, err = secretsmanager.NewFromConfig(cfg).DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("deleting %s in Secrets Manager: %w", name, err)
	}
	return nil
}

// CreateMotoRole creates an IAM role in moto that a ServiceAccount token may assume (IRSA)
// with the IAM policy document in policyFile inline (a path relative to the seed manifests,
// SeedDir, unless absolute), and returns its ARN. Role names are account-wide: tests that
// run in parallel give each role its own name.
func (e *Env) CreateMotoRole(ctx context.Context, name, policyFile string) (string, error) {
	m, err := e.moto()
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(policyFile) {
		policyFile = filepath.Join(SeedDir(), policyFile)
	}
	doc, err := os.ReadFile(policyFile)
	if err != nil {
		return "", err
	}
	cfg, err := m.AWSConfig(ctx)
	if err != nil {
		return "", err
	}
	c := iam.NewFromConfig(cfg)
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(webIdentityTrust)})
	if err != nil {
		return "", fmt.Errorf("creating role %s: %w", name, err)
	}
	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(name), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(string(doc))})
	if err != nil {
		return "", fmt.Errorf("attaching %s to role %s: %w", filepath.Base(policyFile), name, err)
	}
	return aws.ToString(out.Role.Arn), nil
}

// PutRemote creates or rotates a Secrets Manager secret in moto.
func (t *T) PutRemote(name, value string) {
	t.Helper()
	if err := t.Env.PutRemote(t.Ctx, name, value); err != nil {
		t.Fatal(err)
	}
}

// DeleteRemote deletes a Secrets Manager secret in moto at once.
func (t *T) DeleteRemote(name string) {
	t.Helper()
	if err := t.Env.DeleteRemote(t.Ctx, name); err != nil {
		t.Fatal(err)
	}
}

// CreateMotoRole creates an IAM role in moto with a seed IAM policy inline and returns its
// ARN (see Env.CreateMotoRole).
func (t *T) CreateMotoRole(name, policyFile string) string {
	t.Helper()
	arn, err := t.Env.CreateMotoRole(t.Ctx, name, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}
