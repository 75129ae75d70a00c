package vault_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// iam: Vault's aws auth method sends the signed GetCallerIdentity request to moto's STS and
// resolves the bound role through moto's IAM. The store's static keys assume the bound role
// (role, externalID) and sign with the server ID header Vault requires; without the header,
// or signed as the user instead of the role, the login is refused.
func TestIAMLogin(t *testing.T) {
	ctx := context.Background()
	m, err := harness.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg, err := m.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("vault-reader"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	roleARN := aws.ToString(out.Role.Arn)
	put(t, "secret", true, "auth-methods", `{"k":"v"}`)
	enableAuth(t, vlt.Admin, "aws", "aws", nil)
	write(t, vlt.Admin, "auth/aws/config/client", map[string]any{
		"access_key": "testing", "secret_key": "testing", "sts_endpoint": m.URL, "sts_region": "us-east-1",
		"iam_endpoint": m.URL, "iam_server_id_header_value": "vault.vigil.test",
	})
	write(t, vlt.Admin, "auth/aws/role/app", map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": []string{roleARN}, "token_policies": "reader", "token_ttl": "1h",
	})
	const secretKey = "iam-secret-Key-77"
	createSecret(t, "aws-keys", map[string]string{"id": "AKIAVIGILTEST", "secret": secretKey})
	iamAuth := func(role, serverID string) *esv1.SecretStore {
		return store(func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Iam: &esv1.VaultIamAuth{Role: "app", AWSIAMRole: role, ExternalID: "ext-1",
				Region: "us-east-1", VaultAWSIAMServerID: serverID,
				SecretRef: &esv1.VaultAwsAuthSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "aws-keys", Key: "id"},
					SecretAccessKey: esv1.SecretKeySelector{Name: "aws-keys", Key: "secret"}}}}
		})
	}
	readsWith(t, iamAuth(roleARN, "vault.vigil.test"))
	reqs, err := m.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var assumed, identified bool
	for _, r := range reqs {
		body := r.Text()
		assumed = assumed || strings.Contains(body, "Action=AssumeRole&") && strings.Contains(body, "ExternalId=ext-1")
		// Vault forwards the request Vigil signed: the server ID header is among the signed ones.
		identified = identified || strings.Contains(body, "Action=GetCallerIdentity") &&
			strings.Contains(strings.ToLower(r.Headers["Authorization"]), "x-vault-aws-iam-server-id")
	}
	if !assumed || !identified {
		t.Errorf("moto saw AssumeRole with the external ID: %v, the signed GetCallerIdentity from Vault: %v", assumed, identified)
	}

	for name, s := range map[string]*esv1.SecretStore{
		"without the server ID header": iamAuth(roleARN, ""),
		"as the user, not the role":    iamAuth("", "vault.vigil.test"),
	} {
		err := loginFails(t, s, secretKey)
		if !strings.Contains(err.Error(), "auth/aws/login") {
			t.Errorf("%s: %v, want Vault's refusal at auth/aws/login", name, err)
		}
	}
}
